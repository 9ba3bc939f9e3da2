"""endpoints -> SageMaker Model per variant, EndpointConfiguration, Endpoint, rollback alarms, autoscaling.

- Variants: one production variant (`primary`) for all_at_once, blue_green, canary and linear; the ab
  variants with their weights; shadow adds the challenger as a shadow production variant whose weight,
  relative to the production variant's 100, is the share of requests mirrored to it.
- Strategies are the endpoint's `deployment_config`, applied by SageMaker whenever the endpoint moves to a
  new configuration, from the resolved traffic stages: blue/green with ALL_AT_ONCE (all_at_once,
  blue_green), CANARY (canary_size in whole instances nearest the stage's traffic share, the bake time as
  wait interval) or LINEAR (linear_step_size likewise, interval); the rollback
  conditions become CloudWatch alarms in `auto_rollback_configuration`, as do the alarms of monitors
  whose action is `rollback`. All-at-once shifts bake for one alarm window so that the alarms can act.
- No outage on update (terraform-provider-aws#40048): models and endpoint configurations are named after
  a digest of their content, so a change creates the new ones, the endpoint switches (UpdateEndpoint, with
  the strategy above) and only then are the old ones deleted. Nothing here is delete-before-replace.
- Data capture of requests and responses to S3 (the platform bucket's `capture/<endpoint>/` unless the
  spec names a destination), at the sampling percent, encrypted with the spec's KMS key.
- Autoscaling: an Application Auto Scaling target per production variant and a target-tracking policy
  on invocations per instance (predefined) or CPU/GPU utilisation (SageMaker reports those summed over
  the instance's cores/GPUs, so the spec's per-instance percentage is scaled by their count).
  SageMaker refuses to change an autoscaled variant's instance type: a ScalingRelease ordered before
  the endpoint deregisters it first, and the target is registered again after the update
  (mlstack.backends.aws.scaling_release).
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws

from mlstack.backends.aws import iam, images, names
from mlstack.backends.aws.alarms import rollback_alarms
from mlstack.backends.aws.context import Aws
from mlstack.backends.aws.platform import Platform, role_policy
from mlstack.backends.aws.scaling_release import SCALABLE_DIMENSION, SERVERLESS, ScalingRelease, resource_id
from mlstack.backends.components import SpecComponent
from mlstack.errors import MlstackError
from mlstack.resolve import EndpointPlan, Variant
from mlstack.resolve.rollout import in_instances
from mlstack.spec.models import ModelVersion
from mlstack.targets.aws import (
    DEPLOYMENT_TIMEOUT,
    LOCAL_STORAGE_FAMILIES,
    MAX_WAIT,
    PROVISIONING_ALLOWANCE,
    STEPPED,
    UTILISATION_METRICS,
)

CAPTURE_CONTENT_TYPES = {"csv_content_types": ["text/csv"], "json_content_types": ["application/json"]}
UTILISATION_NAMESPACE = "/aws/sagemaker/Endpoints"
ASYNC_NAMESPACE = "AWS/SageMaker"  # where asynchronous endpoints publish their queue metrics


def image_of(ctx: Aws, version: ModelVersion, gpu: bool) -> str:
    """The version's own image, else SageMaker's image for its framework on this kind of machine."""
    if version.image:
        return version.image
    choice = images.TABLE.choose(version.framework, version.framework_version, gpu)
    if isinstance(choice, str):
        raise MlstackError(choice)  # validate reports it, located (serving_images.problems)
    uri = images.TABLE.uri(choice, ctx.region)
    if uri is None:
        raise MlstackError(f"SageMaker lists no registry in {ctx.region}: set `image`")
    return uri


def container(ctx: Aws, variant: Variant) -> dict[str, Any]:
    version = variant.version
    assert version is not None  # resolve links every served variant to a declared version on aws
    gpu = bool(variant.sku and variant.sku.gpus)
    spec: dict[str, Any] = {"image": image_of(ctx, version, gpu)}
    if version.artifact.endswith("/"):
        # A prefix holds the model's files as they are: SageMaker copies them uncompressed.
        source = {"s3_uri": version.artifact, "s3_data_type": "S3Prefix", "compression_type": "None"}
        spec["model_data_source"] = {"s3_data_sources": [source]}
    else:
        spec["model_data_url"] = version.artifact  # a model.tar.gz
    if not version.image and version.framework in images.FRAMEWORK_ENV:
        spec["environment"] = dict(images.FRAMEWORK_ENV[version.framework])
    return spec


def _network(ctx: Aws, serverless: bool) -> dict[str, Any] | None:
    network = ctx.resolved.spec.target.network
    if serverless or not network or not network.subnets or not network.security_groups:
        return None
    return {"subnets": list(network.subnets), "security_group_ids": list(network.security_groups)}


def _variant_config(variant: Variant, model_name: str, plan: EndpointPlan) -> dict[str, Any]:
    config: dict[str, Any] = {"variant_name": variant.name, "model_name": model_name}
    serverless = plan.endpoint.serverless
    if serverless:
        config["serverless_config"] = {
            "memory_size_in_mb": serverless.memory_gb * 1024,
            "max_concurrency": serverless.max_concurrency,
        }
        if serverless.provisioned_concurrency:
            config["serverless_config"]["provisioned_concurrency"] = serverless.provisioned_concurrency
    else:
        assert variant.sku is not None
        config["instance_type"] = variant.sku.machine_type
        config["initial_instance_count"] = variant.instance_count
    config["initial_variant_weight"] = float(variant.weight)
    return config


def async_config(ctx: Aws, plan: EndpointPlan) -> dict[str, Any] | None:
    """The EndpointConfig's AsyncInferenceConfig: where results and failures go, who is told."""
    spec = plan.endpoint.async_inference
    if spec is None:
        return None
    output: dict[str, Any] = {"s3_output_path": spec.output}
    if spec.failures:
        output["s3_failure_path"] = spec.failures
    if spec.notifications and (spec.notifications.success or spec.notifications.error):
        topics = {"success_topic": spec.notifications.success, "error_topic": spec.notifications.error}
        output["notification_config"] = {k: v for k, v in topics.items() if v}
    if ctx.kms_key:
        output["kms_key_id"] = ctx.kms_key
    config: dict[str, Any] = {"output_config": output}
    if spec.max_concurrent_invocations_per_instance:
        config["client_config"] = {
            "max_concurrent_invocations_per_instance": spec.max_concurrent_invocations_per_instance
        }
    return config


def _volume_key(ctx: Aws, plan: EndpointPlan) -> str | None:
    families = {v.sku.machine_type.split(".")[1] for v in plan.variants if v.sku}
    return ctx.kms_key if ctx.kms_key and not families & LOCAL_STORAGE_FAMILIES else None


def _capture(ctx: Aws, plan: EndpointPlan, platform: Platform) -> tuple[dict[str, Any] | None, str | None]:
    """(data_capture_config, the spec-level destination used for naming), or (None, None)."""
    endpoint = plan.endpoint
    if not endpoint.captures:
        return None, None
    assert endpoint.data_capture is not None
    where = endpoint.data_capture.destination or f"capture/{endpoint.name}/"
    destination = where if where.startswith("s3://") else platform.uri(where)
    config = {
        "enable_capture": True,
        "initial_sampling_percentage": endpoint.data_capture.sampling_percent,
        "destination_s3_uri": destination,
        "capture_options": [{"capture_mode": "Input"}, {"capture_mode": "Output"}],
        "capture_content_type_header": CAPTURE_CONTENT_TYPES,
        "kms_key_id": ctx.kms_key,
    }
    return config, where


def traffic_routing(plan: EndpointPlan) -> tuple[dict[str, Any], int] | None:
    """(traffic_routing_configuration, termination wait) for an endpoint SageMaker rolls out by its
    traffic stages (mlstack.resolve.rollout); None for ab and shadow, whose updates take SageMaker's
    default all-at-once blue/green. Partial stages are sized in whole instances of the fleet
    (SageMaker moves capacity, not a traffic percentage): the nearest share the fleet allows, which
    validate reports when it differs from the spec's (mlstack.resolve.differences)."""
    traffic = plan.traffic
    if not traffic.shifts:
        return None
    bake = min(MAX_WAIT, traffic.rollback.window) if traffic.rollback else 0
    if traffic.kind in ("all_at_once", "blue_green"):
        return {"type": "ALL_AT_ONCE", "wait_interval_in_seconds": bake}, traffic.termination_wait
    first = traffic.partial[0]
    kind, size = STEPPED[traffic.kind]
    count = plan.production[0].instance_count
    if count < 2:
        # No part of a one-instance fleet is at most half of it: all traffic moves at once, then bakes.
        return {"type": "ALL_AT_ONCE", "wait_interval_in_seconds": first.wait}, traffic.termination_wait
    routing = {
        "type": kind,
        size: {"type": "INSTANCE_COUNT", "value": in_instances(first.percent, count).instances},
        "wait_interval_in_seconds": first.wait,
    }
    return routing, traffic.termination_wait


def deployment_config(plan: EndpointPlan, alarm_names: list[pulumi.Input[str]]) -> dict[str, Any] | None:
    found = traffic_routing(plan)
    if found is None:
        if not alarm_names:
            return None
        found = ({"type": "ALL_AT_ONCE", "wait_interval_in_seconds": 0}, 0)
    routing, termination = found
    if plan.traffic.kind == "all_at_once" and not alarm_names:
        return None  # SageMaker's default update is exactly this
    steps = 1
    if routing["type"] == "LINEAR":
        steps = -(-plan.production[0].instance_count // routing["linear_step_size"]["value"])
    waits = steps * routing["wait_interval_in_seconds"] + termination
    low, high = DEPLOYMENT_TIMEOUT
    config: dict[str, Any] = {
        "blue_green_update_policy": {
            "traffic_routing_configuration": routing,
            "termination_wait_in_seconds": termination,
            "maximum_execution_timeout_in_seconds": max(low, min(high, waits + PROVISIONING_ALLOWANCE)),
        }
    }
    if alarm_names:
        config["auto_rollback_configuration"] = {"alarms": [{"alarm_name": name} for name in alarm_names]}
    return config


def _scaling_policy(plan: EndpointPlan, variant: Variant, endpoint: pulumi.Input[str]) -> dict[str, Any]:
    scaling = plan.endpoint.autoscaling
    assert scaling is not None
    config: dict[str, Any] = {
        "scale_in_cooldown": scaling.scale_in_cooldown,
        "scale_out_cooldown": scaling.scale_out_cooldown,
    }
    if scaling.metric == "invocations_per_instance" and plan.endpoint.async_inference:
        # an asynchronous endpoint scales on its queue: requests waiting per instance
        config["target_value"] = scaling.target
        config["customized_metric_specification"] = {
            "metric_name": "ApproximateBacklogSizePerInstance",
            "namespace": ASYNC_NAMESPACE,
            "statistic": "Average",
            "dimensions": [{"name": "EndpointName", "value": endpoint}],
        }
        return config
    if scaling.metric == "invocations_per_instance":
        config["target_value"] = scaling.target
        config["predefined_metric_specification"] = {"predefined_metric_type": "SageMakerVariantInvocationsPerInstance"}
        return config
    assert variant.sku is not None
    units = variant.sku.gpus if scaling.metric == "gpu_utilization" else variant.sku.vcpus
    config["target_value"] = scaling.target * max(units, 1)
    return {
        **config,
        "customized_metric_specification": {
            "metric_name": UTILISATION_METRICS[scaling.metric],
            "namespace": UTILISATION_NAMESPACE,
            "statistic": "Average",
            "dimensions": [
                {"name": "EndpointName", "value": endpoint},
                {"name": "VariantName", "value": variant.name},
            ],
        },
    }


def _release(ctx: Aws, plan: EndpointPlan, name: str, component: SpecComponent) -> ScalingRelease | None:
    """What lets the endpoint update change an autoscaled variant's instance type (the endpoint depends on it)."""
    if plan.endpoint.autoscaling is None:
        return None
    variants = {v.name: v.sku.machine_type if v.sku else SERVERLESS for v in plan.production}
    return ScalingRelease(
        f"{plan.endpoint.name}-scaling-release",
        endpoint=name,
        region=ctx.region,
        variants=variants,
        opts=component.child(),
    )


def _autoscaling(
    ctx: Aws,
    plan: EndpointPlan,
    endpoint: aws.sagemaker.Endpoint,
    release: ScalingRelease | None,
    component: SpecComponent,
) -> None:
    scaling = plan.endpoint.autoscaling
    if scaling is None or release is None:
        return
    for variant in plan.production:
        logical = f"{plan.endpoint.name}-{variant.name}"
        # the endpoint's name as an output: the target registers once the endpoint is in service
        target_id = endpoint.name.apply(lambda name, variant=variant.name: resource_id(name, variant))
        target = aws.appautoscaling.Target(
            f"{logical}-scaling",
            service_namespace="sagemaker",
            scalable_dimension=SCALABLE_DIMENSION,
            resource_id=target_id,
            min_capacity=scaling.min,
            max_capacity=scaling.max,
            tags=ctx.tags,
            # registered again after the release deregistered it (its deletion then finds nothing)
            opts=ctx.child(component, replacement_trigger=release.trigger(variant.name), delete_before_replace=True),
        )
        # deregistering a target deletes its policies: Pulumi replaces them with it
        aws.appautoscaling.Policy(
            f"{logical}-target-tracking",
            name=ctx.names.sagemaker(f"{plan.endpoint.name}-{variant.name}-{scaling.metric.replace('_', '-')}"),
            policy_type="TargetTrackingScaling",
            service_namespace=target.service_namespace,
            scalable_dimension=target.scalable_dimension,
            resource_id=target.resource_id,
            target_tracking_scaling_policy_configuration=_scaling_policy(plan, variant, endpoint.name),
            opts=ctx.child(component, deleted_with=target),
        )
        if plan.endpoint.async_inference and scaling.min == 0:
            _scale_from_zero(ctx, plan, logical, target, endpoint, component)


def _scale_from_zero(
    ctx: Aws,
    plan: EndpointPlan,
    logical: str,
    target: aws.appautoscaling.Target,
    endpoint: aws.sagemaker.Endpoint,
    component: SpecComponent,
) -> None:
    """Target tracking never scales out from zero instances: a step policy adds one when requests wait
    with no instance to take them (SageMaker's HasBacklogWithoutCapacity metric)."""
    step = aws.appautoscaling.Policy(
        f"{logical}-from-zero",
        name=ctx.names.sagemaker(f"{plan.endpoint.name}-from-zero"),
        policy_type="StepScaling",
        service_namespace=target.service_namespace,
        scalable_dimension=target.scalable_dimension,
        resource_id=target.resource_id,
        step_scaling_policy_configuration={
            "adjustment_type": "ChangeInCapacity",
            "metric_aggregation_type": "Average",
            "cooldown": plan.endpoint.autoscaling.scale_out_cooldown if plan.endpoint.autoscaling else 60,
            "step_adjustments": [{"metric_interval_lower_bound": "0", "scaling_adjustment": 1}],
        },
        opts=ctx.child(component, deleted_with=target),
    )
    aws.cloudwatch.MetricAlarm(
        f"{logical}-backlog-without-capacity",
        name=ctx.names.sagemaker(f"{plan.endpoint.name}-backlog-without-capacity"),
        namespace=ASYNC_NAMESPACE,
        metric_name="HasBacklogWithoutCapacity",
        dimensions={"EndpointName": endpoint.name},
        statistic="Average",
        period=60,
        evaluation_periods=2,
        threshold=1,
        comparison_operator="GreaterThanOrEqualToThreshold",
        treat_missing_data="missing",
        alarm_actions=[step.arn],
        tags=ctx.tags,
        opts=ctx.child(component),
    )


def _policy(ctx: Aws, plan: EndpointPlan, platform: Platform, capture_where: str | None, component: SpecComponent):
    """What the endpoint's models may do: read their artifacts, pull their images, write their logs and
    (with data capture on) the captured requests."""
    name = ctx.names.sagemaker(plan.endpoint.name)
    served = [v for v in plan.variants if v.version is not None]
    statements = [
        *iam.read_uris(ctx, [v.version.artifact for v in served if v.version]),
        *iam.ecr_pull(ctx, [container(ctx, v)["image"] for v in served]),
        iam.logs(ctx, f"/aws/sagemaker/Endpoints/{name}"),
        *iam.kms(ctx),
    ]
    # models a pipeline trains and deploys here live under its prefix of the platform bucket (A5)
    trained = [
        f"pipelines/{p.name}/"
        for p in ctx.resolved.spec.pipelines
        if any(s.endpoint == plan.endpoint.name for s in p.steps)
    ]
    if trained:
        statements += iam.bucket_prefix(ctx, platform.bucket_name, trained, write=False)
    if getattr(plan.endpoint.strategy, "rollback", None) or any(
        m.endpoint == plan.endpoint.name and any(a.type == "rollback" for a in m.actions)
        for m in ctx.resolved.spec.monitors
    ):
        # SageMaker reads the auto-rollback alarms with the execution role (deployment guardrails, A4)
        alarms = ctx.arn("cloudwatch", f"alarm:{ctx.names.platform(max_length=names.ALARM)}-*")
        statements.append(iam.allow(["cloudwatch:DescribeAlarms"], [alarms]))
    if queued := plan.endpoint.async_inference:
        # the model's role writes results and failures, and tells the topics
        for where in filter(None, (queued.output, queued.failures)):
            statements.append(iam.allow(iam.S3_WRITE, [ctx.s3_uri_arns(where.rstrip("/") + "/")[1]]))
        topics = [t for t in (queued.notifications.success, queued.notifications.error)] if queued.notifications else []
        if any(topics):
            statements.append(iam.allow(["sns:Publish"], [t for t in topics if t]))
    if capture_where:
        if capture_where.startswith("s3://"):
            statements.append(iam.allow(iam.S3_WRITE, [ctx.s3_uri_arns(capture_where.rstrip("/") + "/")[1]]))
        else:
            statements.append(iam.allow(iam.S3_WRITE, [ctx.s3_arn(platform.bucket_name, f"{capture_where}*")]))
    return role_policy(ctx, platform, "endpoint", f"endpoint-{name}", statements, component)


def build(
    ctx: Aws, platform: Platform, monitor_alarms: dict[str, list[aws.cloudwatch.MetricAlarm]]
) -> dict[str, aws.sagemaker.Endpoint]:
    """`monitor_alarms`: endpoint name -> alarms of monitors whose action is rollback."""
    endpoints = {}
    for plan in ctx.resolved.endpoints:
        spec = plan.endpoint
        name = ctx.names.sagemaker(spec.name)
        component = SpecComponent("endpoint", spec.name)
        capture, capture_where = _capture(ctx, plan, platform)
        policy = _policy(ctx, plan, platform, capture_where, component)
        network = _network(ctx, bool(spec.serverless))

        variants: list[tuple[Variant, dict[str, Any]]] = []
        models = []
        for variant in plan.variants:
            primary = container(ctx, variant)
            model_name = ctx.names.versioned({"container": primary, "network": network}, spec.name, variant.name)
            models.append(
                aws.sagemaker.Model(
                    f"{spec.name}-{variant.name}-model",
                    name=model_name,
                    execution_role_arn=platform.role_arns["endpoint"],
                    primary_container=primary,
                    vpc_config=network,
                    tags={**ctx.tags, **spec.tags, "mlstack-model": variant.model.describe()},
                    opts=ctx.child(component, depends_on=[policy]),
                )
            )
            variants.append((variant, _variant_config(variant, model_name, plan)))

        production = [config for variant, config in variants if variant.role == "production"]
        shadow = [config for variant, config in variants if variant.role == "shadow"]
        volume_key = _volume_key(ctx, plan)
        queued = async_config(ctx, plan)
        content = {
            "production": production,
            "shadow": shadow,
            "capture": capture_where,
            "key": volume_key,
            **({"async": queued} if queued else {}),
        }
        if capture:
            content["capture_sampling"] = capture["initial_sampling_percentage"]
        config = aws.sagemaker.EndpointConfiguration(
            f"{spec.name}-config",
            name=ctx.names.versioned(content, spec.name, "config"),
            production_variants=production,
            shadow_production_variants=shadow or None,
            data_capture_config=capture,
            async_inference_config=queued,
            kms_key_arn=volume_key,
            tags={**ctx.tags, **spec.tags},
            opts=ctx.child(component, depends_on=[*models, *platform.bucket_ready]),
        )

        alarms = []
        rollback = plan.traffic.rollback
        if rollback:
            alarms = rollback_alarms(ctx, spec.name, name, plan.production[0].name, rollback, component)
        alarms += monitor_alarms.get(spec.name, [])
        release = _release(ctx, plan, name, component)
        endpoint = aws.sagemaker.Endpoint(
            spec.name,
            name=name,
            endpoint_config_name=config.name,
            deployment_config=deployment_config(plan, [a.name for a in alarms]),
            tags={**ctx.tags, **spec.tags},
            opts=ctx.child(component, depends_on=[*alarms, *([release] if release else [])]),
        )
        _autoscaling(ctx, plan, endpoint, release, component)
        component.done({"name": endpoint.name, "config": config.name})
        endpoints[spec.name] = endpoint
    return endpoints
