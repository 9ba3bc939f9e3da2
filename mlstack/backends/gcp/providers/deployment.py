"""Dynamic provider: the models an endpoint serves and its traffic split, rolled out by strategy.

Vertex can deploy a model to an endpoint and set `traffic_split`, nothing more; the strategies are
driven from here (rollout.py says how):
- all_at_once / ab: deploy the new versions at 0%, then one traffic_split update;
- blue_green: deploy, switch all traffic, keep the old deployment for `termination_wait` while the
  rollback alarms are watched, then undeploy it;
- canary / linear: staged traffic_split updates (percent, bake_time; step_percent, interval), alarms
  watched at every stage.
On an alarm the split goes back to what served before, the new deployments are undeployed and the
update fails, so Pulumi keeps the old state. Once the old deployments are undeployed nothing can be
rolled back: a later alarm needs a new update (or a monitor's rollback action while two are deployed).

A deployed model is never changed in place: any change but the weight is a new deployment that takes
over traffic, so serving never stops. Each deployment's display name carries a hash of what it
deploys, which is how a create or update after a partial failure finds what it already deployed."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pulumi.dynamic import CreateResult, DiffResult, ResourceProvider, UpdateResult

from mlstack.backends.gcp.providers import clients
from mlstack.backends.gcp.providers.clients import aiplatform, changed, ignore_missing, types, wait
from mlstack.backends.gcp.providers.health import Health
from mlstack.backends.gcp.providers.rollout import Move, Stage, split_at, stages

REPLACE_ON = ("project", "region", "endpoint")
ALARM_POLL_SECONDS = 60


class RolloutFailed(Exception):
    pass


def variant_key(variant: dict[str, Any]) -> str:
    what = {k: v for k, v in sorted(variant.items()) if k not in ("name", "weight")}
    return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()[:10]


def display_name(variant: dict[str, Any]) -> str:
    return f"{variant['name']}-{variant_key(variant)}"


def deployed_model(variant: dict[str, Any]) -> Any:
    v1 = types()
    machine = v1.MachineSpec(machine_type=variant["machine_type"])
    if variant.get("accelerator_type"):
        machine.accelerator_type = v1.AcceleratorType[variant["accelerator_type"]]
        machine.accelerator_count = int(variant["accelerator_count"])
    resources = v1.DedicatedResources(
        machine_spec=machine,
        min_replica_count=int(variant["min_replicas"]),
        max_replica_count=int(variant["max_replicas"]),
        autoscaling_metric_specs=[
            v1.AutoscalingMetricSpec(metric_name=spec["metric_name"], target=int(spec["target"]))
            for spec in variant.get("autoscaling", [])
        ],
    )
    return v1.DeployedModel(
        model=variant["model"],
        display_name=display_name(variant),
        dedicated_resources=resources,
        service_account=variant.get("service_account", ""),
    )


class Endpoint:
    """The calls a rollout makes on one endpoint."""

    def __init__(self, props: dict[str, Any]) -> None:
        self.name = props["endpoint"]
        self.service = aiplatform("EndpointServiceClient", props["region"])

    def get(self) -> Any:
        return self.service.get_endpoint(request=types().GetEndpointRequest(name=self.name))

    def split(self) -> dict[str, int]:
        return {k: int(v) for k, v in self.get().traffic_split.items() if int(v) > 0}

    def deployed(self) -> dict[str, str]:
        """display name -> deployed-model id."""
        return {m.display_name: m.id for m in self.get().deployed_models}

    def deploy(self, variant: dict[str, Any]) -> str:
        """Deploy at 0% traffic (the first model of an empty endpoint takes 100%: a split must sum to 100)."""
        current = self.split()
        split = {**current, "0": 0} if current else {"0": 100}
        request = types().DeployModelRequest(
            endpoint=self.name, deployed_model=deployed_model(variant), traffic_split=split
        )
        return wait(self.service.deploy_model(request=request)).deployed_model.id

    def set_split(self, split: dict[str, int]) -> None:
        from google.protobuf import field_mask_pb2

        v1 = types()
        if sum(split.values()) != 100:
            raise ValueError(f"traffic split {split} does not sum to 100")
        request = v1.UpdateEndpointRequest(
            endpoint=v1.Endpoint(name=self.name, traffic_split=split),
            update_mask=field_mask_pb2.FieldMask(paths=["traffic_split"]),
        )
        self.service.update_endpoint(request=request)

    def undeploy(self, deployed_model_id: str) -> None:
        """Undeploy one model; its traffic, if any, goes to the busiest remaining deployment first."""
        v1 = types()
        endpoint = ignore_missing(self.get)
        if endpoint is None or deployed_model_id not in {m.id for m in endpoint.deployed_models}:
            return
        split = {k: int(v) for k, v in endpoint.traffic_split.items() if k != deployed_model_id}
        share = int(endpoint.traffic_split.get(deployed_model_id, 0))
        if share and split:
            busiest = max(sorted(split), key=lambda k: split[k])
            split[busiest] += share
        request = v1.UndeployModelRequest(
            endpoint=self.name,
            deployed_model_id=deployed_model_id,
            traffic_split={k: v for k, v in split.items() if v} if share and split else {},
        )
        ignore_missing(lambda: wait(self.service.undeploy_model(request=request)))


def _watch(endpoint: Endpoint, health: Health, seconds: int, new_ids: list[str], before: dict[str, int]) -> None:
    """Wait `seconds`, checking the new deployments' alarms; on a breach, put traffic back and fail."""
    waited = 0
    while waited < seconds:
        step = min(ALARM_POLL_SECONDS, seconds - waited)
        clients.pause(step)
        waited += step
        breaches = [f"{i}: {b}" for i in new_ids for b in health.breaches(i)]
        if breaches:
            endpoint.set_split(before)
            for deployed_id in new_ids:
                endpoint.undeploy(deployed_id)
            raise RolloutFailed(
                f"rollout on {endpoint.name} rolled back after {waited}s ({'; '.join(breaches)}); "
                f"traffic is back on {sorted(before)}"
            )


def _outs(props: dict[str, Any], ids: dict[str, str], split: dict[str, int]) -> dict[str, Any]:
    deployed = {v["name"]: {"id": ids[v["name"]], "key": variant_key(v)} for v in props["variants"]}
    return {**props, "deployed": deployed, "traffic_split": split}


class DeploymentProvider(ResourceProvider):
    def create(self, props: dict[str, Any]) -> CreateResult:
        endpoint = Endpoint(props)
        existing = endpoint.deployed()
        ids = {v["name"]: existing.get(display_name(v)) or endpoint.deploy(v) for v in props["variants"]}
        split = {ids[v["name"]]: int(v["weight"]) for v in props["variants"]}
        endpoint.set_split(split)
        return CreateResult(f"{props['endpoint']}/deployments", _outs(props, ids, split))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replaces = changed(olds, news, REPLACE_ON)
        updates = changed(olds, news, ("variants", "strategy"))
        return DiffResult(changes=bool(replaces or updates), replaces=replaces, delete_before_replace=True)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        endpoint = Endpoint(news)
        before = endpoint.split()
        live = set(endpoint.deployed().values())
        existing = endpoint.deployed()
        old = {name: d for name, d in olds.get("deployed", {}).items() if d["id"] in live}
        kept: dict[str, str] = {}
        moves: dict[str, Move] = {}
        for variant in news["variants"]:
            name = variant["name"]
            previous = old.get(name)
            if previous and previous["key"] == variant_key(variant):
                kept[name] = previous["id"]
            else:
                new_id = existing.get(display_name(variant)) or endpoint.deploy(variant)
                moves[name] = Move(previous["id"] if previous else None, new_id)
        weights = {v["name"]: int(v["weight"]) for v in news["variants"]}
        health = Health(news["project"], news["endpoint_id"], news["strategy"].get("rollback"))
        plan = stages(news["strategy"]) if moves else [Stage(100, 0)]
        new_ids = [m.new for m in moves.values()]
        split = before
        for stage in plan:
            split = split_at(weights, moves, kept, stage.percent)
            endpoint.set_split(split)
            _watch(endpoint, health, stage.watch, new_ids, before)
        retired = [m.old for m in moves.values() if m.old] + [d["id"] for name, d in old.items() if name not in weights]
        for deployed_id in retired:
            endpoint.undeploy(deployed_id)
        ids = {**kept, **{name: m.new for name, m in moves.items()}}
        return UpdateResult(_outs(news, ids, split))

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        endpoint = Endpoint(props)
        for deployment in props.get("deployed", {}).values():
            endpoint.undeploy(deployment["id"])
