"""endpoints → an AiEndpoint (private through Private Service Connect unless `public`, request-response
logging to BigQuery as its data capture, CMEK) plus a Deployment (providers/deployment.py) that
deploys the model versions with the catalog SKU's machine and accelerators and rolls traffic out by
strategy.

Shadow has no Vertex counterpart (no request mirroring): the challenger is served by a private
companion endpoint `<endpoint>-shadow`, and a scheduled replay pipeline sends it the shadow share of
the requests the main endpoint logged; the companion's own request-response log holds its answers."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from mlstack.backends.components import SpecComponent
from mlstack.backends.gcp.checks import AUTOSCALING_METRICS, autoscaling_problem, psc_network
from mlstack.backends.gcp.context import Gcp, gcp_labels, numeric_id
from mlstack.backends.gcp.providers import Deployment, ModelVersion
from mlstack.errors import MlstackError
from mlstack.resolve import EndpointPlan, Variant
from mlstack.spec.models import Autoscaling, Endpoint

LOG_TABLE = "{endpoint}_requests"


@dataclass(frozen=True)
class Served:
    """What monitors and the shadow replay need to know about a built endpoint."""

    plan: EndpointPlan
    component: SpecComponent
    resource_name: str
    endpoint: gcp.vertex.AiEndpoint
    deployment: Deployment
    log_table: str | None  # project.dataset.table of the request-response log
    sample_rate: float  # share of requests logged


def _autoscaling(endpoint: Endpoint, scaling: Autoscaling | None) -> list[dict[str, object]]:
    if scaling is None:
        return []
    if problem := autoscaling_problem(endpoint.name, scaling):
        raise MlstackError(problem)
    return [{"metric_name": AUTOSCALING_METRICS[scaling.metric][0], "target": round(scaling.target)}]


def variant_props(
    ctx: Gcp, plan: EndpointPlan, variant: Variant, versions: dict[tuple[str, int], ModelVersion]
) -> dict[str, object]:
    endpoint = plan.endpoint
    if variant.version is None or variant.sku is None:
        raise MlstackError(f"endpoint '{endpoint.name}': variant '{variant.name}' has no declared model version")
    scaling = endpoint.autoscaling if variant.role == "production" else None
    props: dict[str, object] = {
        "name": variant.name,
        "weight": variant.weight if variant.role == "production" else 100,
        "model": versions[(variant.model.group, variant.version.version)].version_name,
        "machine_type": variant.sku.machine_type,
        "min_replicas": scaling.min if scaling else variant.instance_count,
        "max_replicas": scaling.max if scaling else variant.instance_count,
        "autoscaling": _autoscaling(endpoint, scaling),
        "service_account": ctx.platform.accounts.email("serving") if ctx.platform else "",
    }
    if variant.sku.accelerator_type:
        props["accelerator_type"] = variant.sku.accelerator_type
        props["accelerator_count"] = variant.sku.accelerator_count
    return props


def _endpoint(
    ctx: Gcp,
    component: SpecComponent,
    spec: Endpoint,
    name: str,
    log_rate: float,
    log_table: str | None,
    private: bool,
) -> tuple[gcp.vertex.AiEndpoint, str]:
    owner = (ctx.resolved.prefix,) if ctx.resolved.prefix else ()  # ids outside development mode stay
    endpoint_id = numeric_id(ctx.project, *owner, ctx.spec_name, ctx.stack, name)
    logging = (
        {
            "enabled": True,
            "sampling_rate": log_rate,
            "bigquery_destination": {"output_uri": f"bq://{log_table}"},
        }
        if log_table
        else None
    )
    psc = None
    if private:
        # Vertex creates the forwarding rule in the spec's network (checks._unreachable makes sure there is one)
        network = psc_network(ctx.resolved.spec)
        if network is None:
            raise MlstackError(f"endpoint {name} is private and no target.gcp.network is named to reach it from")
        psc = {
            "enable_private_service_connect": True,
            "project_allowlists": [ctx.project],
            "psc_automation_configs": [{"project_id": ctx.project, "network": network}],
        }
    resource = gcp.vertex.AiEndpoint(
        name,
        name=endpoint_id,
        display_name=ctx.name(name, max_length=128),
        description=f"mlstack endpoint {name} of {ctx.spec_name}",
        location=ctx.region,
        region=ctx.region,
        project=ctx.project,
        labels={**ctx.labels, **gcp_labels(spec.tags)},
        encryption_spec=ctx.encryption(),
        private_service_connect_config=psc,
        predict_request_response_logging_config=logging,
        # The Deployment owns the traffic split; the endpoint resource must not reset it.
        opts=ctx.opts(component, ignore_changes=["trafficSplit"]),
    )
    return resource, f"projects/{ctx.project}/locations/{ctx.region}/endpoints/{endpoint_id}"


def _log_table(ctx: Gcp, spec: Endpoint) -> str | None:
    if not spec.captures and spec.strategy.type != "shadow":
        return None
    destination = spec.data_capture.destination if spec.data_capture else None
    if destination:
        return destination.removeprefix("bq://")
    assert ctx.platform is not None
    return ctx.platform.bigquery(LOG_TABLE.format(endpoint=spec.name.replace("-", "_")))


def _deployment(
    ctx: Gcp,
    component: SpecComponent,
    name: str,
    resource_name: str,
    variants: list[dict[str, object]],
    strategy: dict[str, object],
    after: list[pulumi.Resource],
) -> Deployment:
    props = {
        "project": ctx.project,
        "region": ctx.region,
        "endpoint": resource_name,
        "endpoint_id": resource_name.rsplit("/", 1)[-1],
        "variants": variants,
        "strategy": strategy,
    }
    return Deployment(f"{name}-deployment", props, ctx.opts(component, depends_on=after))


def build_endpoint(ctx: Gcp, plan: EndpointPlan, versions: dict[tuple[str, int], ModelVersion]) -> Served:
    spec = plan.endpoint
    component = SpecComponent("endpoint", spec.name)
    capture = spec.data_capture.sampling_percent if spec.captures and spec.data_capture else 0
    shadow = plan.shadow
    # The replay can only send requests that were logged: log at least the shadow share.
    log_percent = max(capture, shadow.weight if shadow else 0)
    table = _log_table(ctx, spec)
    endpoint, resource_name = _endpoint(ctx, component, spec, spec.name, log_percent / 100, table, not spec.public)
    variants = [variant_props(ctx, plan, v, versions) for v in plan.production]
    strategy = spec.strategy.model_dump(exclude={"challenger", "variants", "compute", "instance_count"})
    deployment = _deployment(ctx, component, spec.name, resource_name, variants, strategy, [endpoint])
    if shadow is not None:
        companion = f"{spec.name}-shadow"
        assert ctx.platform is not None
        shadow_table = ctx.platform.bigquery(LOG_TABLE.format(endpoint=companion.replace("-", "_")))
        # Only the replay task calls the companion, through the regional API (IAM-authenticated): a PSC
        # endpoint is not served there, so the companion is not one (audit G4).
        shadow_endpoint, shadow_name = _endpoint(ctx, component, spec, companion, 1.0, shadow_table, False)
        _deployment(
            ctx,
            component,
            companion,
            shadow_name,
            [variant_props(ctx, plan, shadow, versions)],
            {"type": "all_at_once"},
            [shadow_endpoint],
        )
        from mlstack.backends.gcp.pipelines import replay_schedule

        replay_schedule(ctx, component, spec.name, table, shadow_name, shadow.weight / max(log_percent, 1))
    component.done({"endpoint": endpoint.id})
    return Served(plan, component, resource_name, endpoint, deployment, table, capture / 100)
