"""An online endpoint's traffic and mirrored traffic, set after its deployments exist.

Azure refuses traffic to a deployment that does not exist yet, and a deployment needs its endpoint, so
the split cannot be an input of the OnlineEndpoint resource itself (README: traffic). This Pulumi
dynamic resource applies it through the Azure Resource Manager REST API once the deployments are up,
moving from the live split to the desired one in the stages of the spec's strategy (mlstack.backends.
azure.rollout), watching the rollback alert rules during each wait and restoring the live split when
one fires."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import pulumi
import requests
from pulumi.dynamic import CreateResult, DiffResult, ResourceProvider, UpdateResult

from mlstack.backends.azure.rollout import Rollout, Traffic, stages
from mlstack.errors import MlstackError

ARM = "https://management.azure.com"
ML_API = "2025-12-01"
ALERTS_API = "2019-05-05-preview"
POLL_SECONDS = 10
TIMEOUT_SECONDS = 30 * 60
_READ_ONLY = ("provisioningState", "scoringUri", "swaggerUri")
_DONE = ("Succeeded", "Failed", "Canceled")


class RolloutFailed(MlstackError):
    """A rollback alarm fired during a rollout; the live split was restored."""


class Credential(Protocol):
    def get_token(self, *scopes: str) -> Any: ...


@dataclass
class Arm:
    """The few ARM calls a rollout needs, with a bearer token from an Azure credential."""

    credential: Credential
    base_url: str = ARM
    poll_seconds: float = POLL_SECONDS
    timeout_seconds: float = TIMEOUT_SECONDS
    sleep: Callable[[float], None] = time.sleep
    session: requests.Session = field(default_factory=requests.Session)

    def _call(self, method: str, path: str, api: str, body: dict | None = None, **params: str) -> dict:
        token = self.credential.get_token(f"{ARM}/.default").token
        response = self.session.request(
            method,
            f"{self.base_url}{path}",
            params={"api-version": api, **params},
            json=body,
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        )
        if response.status_code >= 400:
            raise MlstackError(f"{method} {path} failed ({response.status_code}): {response.text[:500]}")
        return response.json() if response.content else {}

    def get(self, path: str, api: str = ML_API, **params: str) -> dict:
        return self._call("GET", path, api, **params)

    def put(self, path: str, body: dict, api: str = ML_API) -> dict:
        return self._call("PUT", path, api, body)

    def delete(self, path: str, api: str = ML_API) -> None:
        self._call("DELETE", path, api)

    def post(self, path: str, body: dict, api: str = ML_API) -> dict:
        return self._call("POST", path, api, body)

    def endpoint(self, endpoint_id: str) -> dict:
        return self._call("GET", endpoint_id, ML_API)

    def put_split(self, endpoint_id: str, traffic: Traffic, mirror: Traffic) -> None:
        """GET, change the two maps, PUT the rest back unchanged, and wait for Azure to apply it."""
        current = self.endpoint(endpoint_id)
        body = writable(current)
        body["properties"] = {**body["properties"], "traffic": traffic, "mirrorTraffic": mirror}
        self._call("PUT", endpoint_id, ML_API, body)
        self.wait(endpoint_id, "traffic update")

    def wait(self, path: str, what: str) -> None:
        """Until the resource's provisioning ends; anything but success is an error."""
        waited = 0.0
        while (state := self.get(path)["properties"].get("provisioningState")) not in _DONE:
            if waited >= self.timeout_seconds:
                raise MlstackError(f"{path}: {what} still {state} after {waited:.0f}s")
            self.sleep(self.poll_seconds)
            waited += self.poll_seconds
        if state != "Succeeded":
            raise MlstackError(f"{path}: {what} {state}")

    def fired(self, subscription: str, rule_ids: list[str]) -> list[str]:
        """The alert rules with an alert currently fired."""
        hits = []
        for rule in rule_ids:
            alerts = self._call(
                "GET",
                f"/subscriptions/{subscription}/providers/Microsoft.AlertsManagement/alerts",
                ALERTS_API,
                alertRule=rule,
                monitorCondition="Fired",
                timeRange="1h",
            )
            if alerts.get("value"):
                hits.append(rule)
        return hits


def writable(resource: dict) -> dict:
    """A resource as ARM returned it, less what a PUT may not send back."""
    body = {k: v for k, v in resource.items() if k not in ("id", "name", "type", "systemData")}
    body["properties"] = {k: v for k, v in resource.get("properties", {}).items() if k not in _READ_ONLY}
    return body


def _live(endpoint: dict) -> tuple[Traffic, Traffic]:
    props = endpoint.get("properties", {})
    return dict(props.get("traffic") or {}), dict(props.get("mirrorTraffic") or {})


def _subscription(endpoint_id: str) -> str:
    return endpoint_id.split("/")[2]


def apply_split(arm: Arm, props: Mapping[str, Any]) -> list[Traffic]:
    """Move the endpoint to the desired split in the rollout's stages; returns the splits applied."""
    endpoint_id = props["endpoint_id"]
    desired, mirror = dict(props["traffic"]), dict(props["mirror_traffic"])
    rollout = Rollout.from_dict(props["rollout"])
    rules = list(props.get("alert_rule_ids") or [])
    live, live_mirror = _live(arm.endpoint(endpoint_id))
    applied = []
    for stage in stages(live, desired, rollout):
        arm.put_split(endpoint_id, stage.traffic, mirror)
        applied.append(stage.traffic)
        watched = 0.0
        while watched < stage.wait_seconds:
            step = min(arm.poll_seconds, stage.wait_seconds - watched)
            arm.sleep(step)
            watched += step
            if rules and (fired := arm.fired(_subscription(endpoint_id), rules)):
                arm.put_split(endpoint_id, live, live_mirror)
                applied.append(live)
                raise RolloutFailed(
                    f"rollback: {', '.join(fired)} fired at {stage.traffic}; restored {live} on {endpoint_id}"
                )
    return applied


def _arm() -> Arm:
    from azure.identity import DefaultAzureCredential

    return Arm(DefaultAzureCredential())


class TrafficProvider(ResourceProvider):
    """create/update apply the split; diff compares the inputs; delete leaves the endpoint as it is (the
    endpoint and its deployments are deleted by their own resources)."""

    def create(self, props: dict[str, Any]) -> CreateResult:
        apply_split(_arm(), props)
        return CreateResult(id_=f"{props['endpoint_id']}/traffic", outs=props)

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        apply_split(_arm(), news)
        return UpdateResult(outs=news)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        keys = ("endpoint_id", "traffic", "mirror_traffic", "rollout", "alert_rule_ids", "endpoint_revision")
        changed = any(olds.get(k) != news.get(k) for k in keys)
        return DiffResult(
            changes=changed, replaces=["endpoint_id"] if olds.get("endpoint_id") != news.get("endpoint_id") else []
        )

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        return None


class EndpointTraffic(pulumi.dynamic.Resource):
    def __init__(
        self,
        name: str,
        *,
        endpoint_id: pulumi.Input[str],
        traffic: pulumi.Input[Mapping[str, int]],
        mirror_traffic: pulumi.Input[Mapping[str, int]],
        rollout: Rollout,
        alert_rule_ids: pulumi.Input[list[str]],
        endpoint_revision: str,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = {
            "endpoint_id": endpoint_id,
            "traffic": traffic,
            "mirror_traffic": mirror_traffic,
            "rollout": rollout.as_dict(),
            "alert_rule_ids": alert_rule_ids,
            # any change to the endpoint's own settings re-applies the split right after it (README: traffic)
            "endpoint_revision": endpoint_revision,
        }
        super().__init__(TrafficProvider(), name, props, opts)
