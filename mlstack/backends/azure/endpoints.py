"""Endpoints as Azure ML managed online endpoints: one OnlineEndpoint, one managed OnlineDeployment per
variant, Azure Monitor autoscale per deployment, rollback alert rules, and the traffic split.

Deployment names carry a hash of what cannot change in place (the instance type; for canary, linear and
blue/green also the model and image), so such a change is a new deployment created next to the serving
one; traffic then moves to it in the strategy's stages and Pulumi deletes the old deployment last
(create before delete). A model change under all_at_once is an in-place update, which Azure rolls
across the deployment's instances while it keeps serving."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_azure_native as azure_native
from pulumi_azure_native import machinelearningservices as ml

from mlstack.backends.azure.context import Azure, after, iso_duration, revision_name, short_hash
from mlstack.backends.azure.environments import Environments
from mlstack.backends.azure.registry import Models
from mlstack.backends.azure.rollout import rollout_of
from mlstack.backends.azure.traffic import EndpointTraffic
from mlstack.backends.components import SpecComponent
from mlstack.errors import MlstackError
from mlstack.resolve import EndpointPlan, Variant
from mlstack.spec.models import Autoscaling, Endpoint, Rollback
from mlstack.targets.azure import LOG_ALERT_FREQUENCY

DEPLOYMENTS_NAMESPACE = "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/deployments"
# Azure Monitor metric behind each autoscaling metric of the spec (deployment-level metrics).
AUTOSCALE_METRICS = {
    "invocations_per_instance": "RequestsPerMinute",
    "cpu_utilization": "CpuUtilizationPercentage",
    "gpu_utilization": "GpuUtilizationPercentage",
}
# Azure autoscale has step rules, not target tracking: scale in below this share of the target so that a
# scale-in cannot immediately trigger a scale-out again.
SCALE_IN_FRACTION = 0.5
SCALE_WINDOW = "PT5M"
# Azure's documented probe defaults, written out so a plan shows them.
PROBE = {
    "initial_delay": "PT10S",
    "period": "PT10S",
    "timeout": "PT2S",
    "failure_threshold": 30,
    "success_threshold": 1,
}
REQUEST_TIMEOUT = "PT5S"
REVISION_STRATEGIES = ("canary", "linear", "blue_green")


@dataclass(frozen=True)
class Deployment:
    variant: Variant
    name: str  # Azure deployment name
    resource: ml.OnlineDeployment


def deployment_name(endpoint: Endpoint, variant: Variant, model_key: str) -> str:
    """`<variant>-<hash>`: a new name, hence a new deployment, when the instance type changes — and under
    canary, linear and blue/green also when the model or image changes, so that traffic can move."""
    assert variant.sku is not None
    revision = [variant.sku.machine_type]
    if endpoint.strategy.type in REVISION_STRATEGIES:
        revision += [model_key, (variant.version.image if variant.version else None) or ""]
    return revision_name(variant.name, *revision, max_length=32)


def _model_key(variant: Variant) -> tuple[str, int]:
    if variant.version is None:
        raise MlstackError(
            f"{variant.model.describe()} names no declared version; Azure deployments serve a registered model version"
        )
    return variant.model.group, variant.version.version


COLLECTIONS = ("model_inputs", "model_outputs")


def capture_assets(ctx: Azure, endpoint: Endpoint, deployment: str) -> dict[str, str]:
    """The data assets the data collector writes each collection to: MDC's own
    `<endpoint>-<deployment>-<collection>` assets, or ours under the spec's destination."""
    capture = endpoint.data_capture
    if capture and capture.destination:
        return {c: f"azureml:{endpoint.name}-{c.replace('_', '-')}:1" for c in COLLECTIONS}
    return {c: f"azureml:{ctx.endpoint_name(endpoint.name)}-{deployment}-{c}:1" for c in COLLECTIONS}


def _data_collector(ctx: Azure, component: SpecComponent, endpoint: Endpoint) -> ml.DataCollectorArgs | None:
    capture = endpoint.data_capture
    if not endpoint.captures or capture is None:
        return None
    collections = {}
    for collection in COLLECTIONS:
        data_id = None
        if capture.destination:
            name = f"{endpoint.name}-{collection.replace('_', '-')}"
            asset = ml.DataVersion(
                name,
                name=name,
                version="1",
                properties=ml.UriFolderDataVersionArgs(
                    data_type="uri_folder", data_uri=f"{capture.destination.rstrip('/')}/{collection}"
                ),
                **ctx.in_workspace(),
                opts=component.child(),
            )
            data_id = after(asset, ctx.asset_id("data", name, "1"))
        collections[collection] = ml.CollectionArgs(
            data_collection_mode="Enabled", sampling_rate=capture.sampling_percent / 100, data_id=data_id
        )
    return ml.DataCollectorArgs(collections=collections, rolling_rate="Hour")


def _deployment(
    ctx: Azure,
    component: SpecComponent,
    plan: EndpointPlan,
    endpoint: ml.OnlineEndpoint,
    variant: Variant,
    models: Models,
    environments: Environments,
    collector: ml.DataCollectorArgs | None,
) -> Deployment:
    spec = plan.endpoint
    if variant.sku is None:
        raise MlstackError(f"endpoint {spec.name}: Azure has no serverless online endpoints; give it compute")
    group, version = _model_key(variant)
    name = deployment_name(spec, variant, f"{group}:{version}")
    image = variant.version.image if variant.version else None
    probe = ml.ProbeSettingsArgs(**PROBE)
    assert ctx.platform is not None
    resource = ml.OnlineDeployment(
        f"{spec.name}-{variant.name}",
        deployment_name=name,
        endpoint_name=after(endpoint, ctx.endpoint_name(spec.name)),
        location=ctx.location,
        kind="Managed",
        sku=ml.SkuArgs(name="Default", capacity=variant.instance_count),
        properties=ml.ManagedOnlineDeploymentArgs(
            endpoint_compute_type="Managed",
            description=f"{variant.role} variant {variant.name}: {variant.model.describe()}",
            instance_type=variant.sku.machine_type,
            model=models.id_of(group, version),
            environment_id=environments.of(image, serving=True) if image else None,
            scale_settings=ml.DefaultScaleSettingsArgs(scale_type="Default"),
            request_settings=ml.OnlineRequestSettingsArgs(request_timeout=REQUEST_TIMEOUT),
            liveness_probe=probe,
            readiness_probe=probe,
            # captured requests feed the monitors, which watch what production serves
            data_collector=collector if variant.role == "production" else None,
            app_insights_enabled=True,
            # the workspaces mlstack makes have a managed network, which decides egress: Azure asks not to set
            # the flag there (concept-secure-online-endpoint), and unset is what azure-native sends as its
            # default, "Enabled"; an existing workspace's network may be a legacy one, where the flag applies
            egress_public_network_access=None
            if ctx.settings.create_workspace
            else ("Disabled" if ctx.platform.private else "Enabled"),
        ),
        tags={**ctx.tags, **spec.tags},
        **ctx.in_workspace(),
        # Azure Monitor autoscale owns the instance count once it is set
        opts=component.child(ignore_changes=["sku.capacity"] if spec.autoscaling else None),
    )
    return Deployment(variant, name, resource)


def _scale_rule(metric: str, resource_uri: pulumi.Input[str], scaling: Autoscaling, out: bool):
    mon = azure_native.monitor
    threshold = scaling.target if out else scaling.target * SCALE_IN_FRACTION
    return mon.ScaleRuleArgs(
        metric_trigger=mon.MetricTriggerArgs(
            metric_name=AUTOSCALE_METRICS[metric],
            metric_namespace=DEPLOYMENTS_NAMESPACE,
            metric_resource_uri=resource_uri,
            operator="GreaterThan" if out else "LessThan",
            statistic="Average",
            time_aggregation="Average",
            time_grain="PT1M",
            time_window=SCALE_WINDOW,
            threshold=threshold,
            # requests per minute are summed over the instances; utilisation is already an average
            divide_per_instance=metric == "invocations_per_instance",
        ),
        scale_action=mon.ScaleActionArgs(
            direction="Increase" if out else "Decrease",
            type="ChangeCount",
            value="1",
            cooldown=iso_duration(scaling.scale_out_cooldown if out else scaling.scale_in_cooldown),
        ),
    )


def _autoscale(ctx: Azure, component: SpecComponent, spec: Endpoint, deployment: Deployment) -> None:
    scaling = spec.autoscaling
    if scaling is None:
        return
    mon = azure_native.monitor
    target = after(deployment.resource, deployment_arm_id(ctx, spec, deployment.name))
    mon.AutoscaleSetting(
        f"{spec.name}-{deployment.variant.name}-autoscale",
        autoscale_setting_name=ctx.name(spec.name, deployment.variant.name, "autoscale", max_length=128),
        **ctx.in_group(),
        enabled=True,
        target_resource_uri=target,
        profiles=[
            mon.AutoscaleProfileArgs(
                name="spec",
                capacity=mon.ScaleCapacityArgs(
                    minimum=str(scaling.min), maximum=str(scaling.max), default=str(deployment.variant.instance_count)
                ),
                rules=[
                    _scale_rule(scaling.metric, target, scaling, out=True),
                    _scale_rule(scaling.metric, target, scaling, out=False),
                ],
            )
        ],
        tags=ctx.tags,
        opts=component.child(),
    )


def error_rate_query(endpoint_name: str, deployment: str) -> str:
    """The share of 5xx answers of one deployment, from the endpoint's traffic log."""
    return (
        "AmlOnlineEndpointTrafficLog\n"
        f'| where EndpointName == "{endpoint_name}" and DeploymentName == "{deployment}"\n'
        "| summarize Total = count(), Errors = countif(toint(ResponseCode) >= 500)\n"
        "| extend ErrorRate = todouble(Errors) / Total"
    )


# The Azure Monitor resource type of each rollback rule: what the pipeline's deployment step retargets.
RULE_TYPES = {"p99-latency": "metricAlerts", "error-rate": "scheduledQueryRules"}


def rollback_rule_ids(ctx: Azure, spec: Endpoint, variant: str) -> list[str]:
    """ARM ids of the rollback rules `_rollback_alerts` declares for a production variant."""
    rollback: Rollback | None = getattr(spec.strategy, "rollback", None)
    if rollback is None:
        return []
    kinds = [
        kind
        for kind, on in (("p99-latency", rollback.max_p99_latency_ms), ("error-rate", rollback.max_error_rate))
        if on is not None
    ]
    group = f"/subscriptions/{ctx.subscription}/resourceGroups/{ctx.resource_group}"
    label = f"{spec.name}-{variant}"
    return [f"{group}/providers/Microsoft.Insights/{RULE_TYPES[k]}/{ctx.name(label, k, max_length=128)}" for k in kinds]


def above(
    name: str, namespace: str, metric: str, threshold: float, aggregation: str
) -> azure_native.monitor.MetricAlertSingleResourceMultipleMetricCriteriaArgs:
    """A metric alert's condition: one resource's `metric`, aggregated over the window, above `threshold`."""
    return azure_native.monitor.MetricAlertSingleResourceMultipleMetricCriteriaArgs(
        odata_type="Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria",
        all_of=[
            azure_native.monitor.MetricCriteriaArgs(
                criterion_type="StaticThresholdCriterion",
                name=name,
                metric_name=metric,
                metric_namespace=namespace,
                operator="GreaterThan",
                threshold=threshold,
                time_aggregation=aggregation,
            )
        ],
    )


def _rollback_alerts(
    ctx: Azure, component: SpecComponent, spec: Endpoint, endpoint: ml.OnlineEndpoint, deployments: list[Deployment]
) -> list[pulumi.Output[str]]:
    """Alert rules on the new production deployments; the traffic rollout watches them (README: rollback)."""
    rollback: Rollback | None = getattr(spec.strategy, "rollback", None)
    if rollback is None:
        return []
    mon = azure_native.monitor
    assert ctx.platform is not None
    window = iso_duration(rollback.window)
    rules: list[pulumi.Output[str]] = []
    if rollback.max_error_rate is not None:
        # the error share needs the request log: the endpoint's traffic log goes to Log Analytics
        mon.DiagnosticSetting(
            f"{spec.name}-traffic-log",
            name=ctx.name(spec.name, "traffic-log", max_length=64),
            resource_uri=after(endpoint, endpoint_arm_id(ctx, spec)),
            workspace_id=ctx.platform.log_analytics_id,
            logs=[mon.DiagnosticsLogSettingsArgs(category="AmlOnlineEndpointTrafficLog", enabled=True)],
            opts=component.child(),
        )
    for deployment in (d for d in deployments if d.variant.role == "production"):
        label = f"{spec.name}-{deployment.variant.name}"
        made: list[pulumi.CustomResource] = []
        if rollback.max_p99_latency_ms is not None:
            alert = mon.MetricAlert(
                f"{label}-p99-latency",
                rule_name=ctx.name(label, "p99-latency", max_length=128),
                **ctx.in_group(),
                description=f"p99 latency of {deployment.name} above {rollback.max_p99_latency_ms} ms",
                severity=1,
                enabled=True,
                scopes=[after(deployment.resource, deployment_arm_id(ctx, spec, deployment.name))],
                evaluation_frequency="PT1M",
                window_size=window,
                auto_mitigate=True,
                criteria=above(
                    "p99-latency", DEPLOYMENTS_NAMESPACE, "RequestLatency_P99", rollback.max_p99_latency_ms, "Average"
                ),
                tags=ctx.tags,
                opts=component.child(),
            )
            rules.append(alert.id)
            made.append(alert)
        if rollback.max_error_rate is not None:
            rule = mon.ScheduledQueryRule(
                f"{label}-error-rate",
                rule_name=ctx.name(label, "error-rate", max_length=128),
                **ctx.in_group(),
                kind="LogAlert",
                description=f"share of 5xx answers of {deployment.name} above {rollback.max_error_rate}",
                severity=1,
                enabled=True,
                scopes=[ctx.platform.log_analytics_id],
                evaluation_frequency=LOG_ALERT_FREQUENCY,
                window_size=window,
                auto_mitigate=True,
                criteria=mon.ScheduledQueryRuleCriteriaArgs(
                    all_of=[
                        mon.ConditionArgs(
                            query=error_rate_query(ctx.endpoint_name(spec.name), deployment.name),
                            time_aggregation="Maximum",
                            metric_measure_column="ErrorRate",
                            operator="GreaterThan",
                            threshold=rollback.max_error_rate,
                            failing_periods=mon.ConditionFailingPeriodsArgs(
                                min_failing_periods_to_alert=1, number_of_evaluation_periods=1
                            ),
                        )
                    ]
                ),
                tags=ctx.tags,
                opts=component.child(),
            )
            rules.append(rule.id)
            made.append(rule)
        # by the ids a pipeline's deployment step is given (the same names, in the same order)
        ids = rollback_rule_ids(ctx, spec, deployment.variant.name)
        ctx.platform.rules.update({i: after(r, i) for i, r in zip(ids, made, strict=True)})
    return rules


def endpoint_arm_id(ctx: Azure, spec: Endpoint) -> str:
    return f"{ctx.workspace_arm_id()}/onlineEndpoints/{ctx.endpoint_name(spec.name)}"


def deployment_arm_id(ctx: Azure, spec: Endpoint, deployment: str) -> str:
    return f"{endpoint_arm_id(ctx, spec)}/deployments/{deployment}"


def endpoint_properties(ctx: Azure, spec: Endpoint) -> ml.OnlineEndpointPropertiesArgs:
    return ml.OnlineEndpointPropertiesArgs(
        auth_mode="Key" if spec.auth == "key" else "AADToken",
        public_network_access="Enabled" if spec.public else "Disabled",
        description=f"{ctx.spec_name} endpoint {spec.name} ({spec.strategy.type})",
    )


def build_endpoint(ctx: Azure, plan: EndpointPlan, models: Models, environments: Environments) -> dict[str, Deployment]:
    spec = plan.endpoint
    component = ctx.component("endpoint", spec.name)
    properties = endpoint_properties(ctx, spec)
    endpoint = ml.OnlineEndpoint(
        spec.name,
        endpoint_name=ctx.endpoint_name(spec.name),
        location=ctx.location,
        kind="Managed",
        identity=ml.ManagedServiceIdentityArgs(type="SystemAssigned"),
        properties=properties,
        tags={**ctx.tags, **spec.tags},
        **ctx.in_workspace(),
        opts=component.child(),
    )
    collector = _data_collector(ctx, component, spec)
    deployments = [
        _deployment(ctx, component, plan, endpoint, v, models, environments, collector) for v in plan.variants
    ]
    for deployment in deployments:
        _autoscale(ctx, component, spec, deployment)
    rules = _rollback_alerts(ctx, component, spec, endpoint, deployments)
    traffic = {d.name: d.variant.weight for d in deployments if d.variant.role == "production"}
    mirror = {d.name: d.variant.weight for d in deployments if d.variant.role == "shadow"}
    EndpointTraffic(
        f"{spec.name}-traffic",
        endpoint_id=after(endpoint, endpoint_arm_id(ctx, spec)),
        traffic=traffic,
        mirror_traffic=mirror,
        rollout=rollout_of(plan.traffic),
        alert_rule_ids=pulumi.Output.all(*rules) if rules else [],
        endpoint_revision=short_hash(
            spec.auth, str(spec.public), *sorted(f"{k}={v}" for k, v in {**ctx.tags, **spec.tags}.items())
        ),
        opts=component.child(depends_on=[d.resource for d in deployments]),
    )
    component.done({"endpoint": ctx.endpoint_name(spec.name), "deployments": [d.name for d in deployments]})
    return {d.variant.name: d for d in deployments}
