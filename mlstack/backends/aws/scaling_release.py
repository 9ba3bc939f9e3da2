"""Letting SageMaker move an autoscaled variant to another instance type (audit A8).

SageMaker refuses an UpdateEndpoint that changes the instance type of, or removes, a production variant
registered as an Application Auto Scaling target: the variant has to be deregistered first and registered
again after the update (https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-scaling-update.html).
Naming variants after their instance type is no way out: removing a registered variant is refused
too, and blue/green and rolling updates need the new configuration's variant names to be the old ones.
Nor is replacing the scalable target: Pulumi registers it only once the endpoint's name is known, after
the endpoint's update has finished, so its deletion would come too late.

A `ScalingRelease` is ordered before the endpoint (the endpoint depends on it). When the instance types it
is given differ from those it last saw, it compares them with the endpoint's live configuration and
deregisters the target of every variant whose instance type changes or which goes away; deregistering
deletes the target's scaling policies with it. It counts those deregistrations per variant (`released`),
and that count is each scalable target's replacement trigger: after the endpoint update Pulumi replaces
the target, delete before replace (the delete finds nothing, which the AWS provider accepts), and its
policies with it (`deleted_with`), which registers the variant again. The count survives a failed
rollout: the next `pulumi up` still replaces the target, whatever the spec then says.

Credentials are the ones `pulumi up` runs with (boto3's default chain), in the stack's region."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ResourceProvider, UpdateResult

from mlstack.errors import MlstackError
from mlstack.jobs.deploy import not_found

NAMESPACE = "sagemaker"
SCALABLE_DIMENSION = "sagemaker:variant:DesiredInstanceCount"
SERVERLESS = "serverless"  # a variant without instances, as the instance type to compare
_KEYS = ("endpoint", "region", "variants")


def resource_id(endpoint: str, variant: str) -> str:
    return f"endpoint/{endpoint}/variant/{variant}"


def live_instance_types(sagemaker: Any, endpoint: str) -> dict[str, str]:
    """variant -> instance type of the endpoint's current configuration; empty before it exists."""
    try:
        live = sagemaker.describe_endpoint(EndpointName=endpoint)
    except Exception as exc:
        if not_found(exc):
            return {}
        raise
    config = sagemaker.describe_endpoint_config(EndpointConfigName=live["EndpointConfigName"])
    return {v["VariantName"]: v.get("InstanceType", SERVERLESS) for v in config["ProductionVariants"]}


def _registered(autoscaling: Any, ids: Iterable[str]) -> set[str]:
    found = autoscaling.describe_scalable_targets(
        ServiceNamespace=NAMESPACE, ResourceIds=sorted(ids), ScalableDimension=SCALABLE_DIMENSION
    )
    return {t["ResourceId"] for t in found.get("ScalableTargets", [])}


def _deregister(autoscaling: Any, target: str) -> None:
    try:
        autoscaling.deregister_scalable_target(
            ServiceNamespace=NAMESPACE, ResourceId=target, ScalableDimension=SCALABLE_DIMENSION
        )
    except Exception as exc:
        code = getattr(exc, "response", {}).get("Error", {}).get("Code")
        if code != "ObjectNotFoundException":  # gone since it was listed
            raise


def release(
    sagemaker: Any, autoscaling: Any, props: Mapping[str, Any], released: Mapping[str, int], first: bool = False
) -> dict[str, int]:
    """Deregister the targets SageMaker would refuse the update for; the deregistrations counted per variant.

    `first`: this stack has not held a release before, so its scalable targets carry no replacement trigger
    yet and would not be registered again: refuse, before anything changes, rather than leave a variant
    without autoscaling."""
    endpoint, desired = props["endpoint"], dict(props["variants"])
    live = live_instance_types(sagemaker, endpoint)
    moving = {v: resource_id(endpoint, v) for v, kind in sorted(live.items()) if desired.get(v) != kind}
    counts = dict(released)
    if not moving:
        return counts
    held = _registered(autoscaling, moving.values())
    if first and held:
        changes = ", ".join(f"{v} {live[v]} -> {desired.get(v, 'removed')}" for v, t in moving.items() if t in held)
        raise MlstackError(
            f"endpoint {endpoint}: SageMaker refuses to change an autoscaled variant's instance type or remove it "
            f"({changes}) while it is a scalable target, and this stack's targets predate mlstack's release of "
            "them: run `pulumi up` once with the variants' current instance types, then change them"
        )
    for variant, target in moving.items():
        if target in held:
            _deregister(autoscaling, target)
            counts[variant] = counts.get(variant, 0) + 1
    return counts


def _clients(region: str) -> tuple[Any, Any]:
    import boto3

    session = boto3.session.Session(region_name=region)
    return session.client("sagemaker"), session.client("application-autoscaling")


class ScalingReleaseProvider(ResourceProvider):
    """create/update release what the endpoint update needs released; diff compares the inputs only (no
    AWS call in a preview); delete leaves the targets to their own resources."""

    def create(self, props: dict[str, Any]) -> CreateResult:
        released = release(*_clients(props["region"]), props, {}, first=True)
        return CreateResult(id_=f"{props['endpoint']}-scaling-release", outs={**props, "released": released})

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        released = release(*_clients(news["region"]), news, olds.get("released") or {})
        return UpdateResult(outs={**news, "released": released})

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        return DiffResult(changes=any(olds.get(k) != news.get(k) for k in _KEYS), replaces=[])

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        return None


class ScalingRelease(pulumi.dynamic.Resource, module="sagemaker", name="ScalingRelease"):
    """The release of one endpoint's scalable targets (output: released, variant -> deregistrations)."""

    released: pulumi.Output[dict]

    def __init__(
        self,
        name: str,
        *,
        endpoint: str,
        region: str,
        variants: Mapping[str, str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = {"endpoint": endpoint, "region": region, "variants": dict(variants), "released": None}
        super().__init__(ScalingReleaseProvider(), name, props, opts)

    def trigger(self, variant: str) -> pulumi.Output[int]:
        """The variant's scalable target's replacement trigger."""
        return self.released.apply(lambda released: (released or {}).get(variant, 0))
