"""Endpoints, their configurations and variants -> spec endpoints: variants and weights become the
strategy (one variant: the deployment config's rollout; several: ab; a shadow variant: shadow), instance
types become pinned compute profiles, and rollback alarms, data capture and autoscaling come along."""

from __future__ import annotations

from typing import Any

from mlstack.catalog import CatalogError, get_catalog
from mlstack.migrate.importer.context import Import, user_tags
from mlstack.migrate.importer.reader import Endpoint
from mlstack.migrate.importer.registry import Registry
from mlstack.resolve.rollout import in_instances
from mlstack.spec.types import format_duration

PREDEFINED = {"SageMakerVariantInvocationsPerInstance": "invocations_per_instance"}
UTILISATION = {"CPUUtilization": "cpu_utilization", "GPUUtilization": "gpu_utilization"}


def percents(weights: list[float]) -> list[int]:
    """Whole percentages summing to 100 in the weights' proportions (largest remainders round up)."""
    total = sum(weights) or 1.0
    shares = [w * 100 / total for w in weights]
    whole = [int(s) for s in shares]
    order = sorted(range(len(shares)), key=lambda i: (whole[i] - shares[i], i))
    for i in order[: 100 - sum(whole)]:
        whole[i] += 1
    return whole


def _duration(seconds: int) -> str | int:
    return format_duration(seconds) if seconds else 0


def _rollback(ctx: Import, names: list[str], endpoint: str, path: tuple) -> dict[str, Any] | None:
    rollback: dict[str, Any] = {}
    for name in names:
        alarm = ctx.alarm(name)
        metrics = {
            q.get("MetricStat", {}).get("Metric", {}).get("MetricName") for q in (alarm or {}).get("Metrics", [])
        }
        if alarm and {"Invocation5XXErrors", "Invocations"} <= metrics:
            period = next(q["MetricStat"]["Period"] for q in alarm["Metrics"] if "MetricStat" in q)
            rollback |= {"max_error_rate": alarm["Threshold"], "window": _duration(period)}
        elif alarm and alarm.get("MetricName") == "ModelLatency" and alarm.get("ExtendedStatistic") == "p99":
            rollback |= {"max_p99_latency_ms": alarm["Threshold"] / 1000, "window": _duration(alarm["Period"])}
        elif alarm and ctx.schedule_of(alarm):
            ctx.rollback_alarms[name] = endpoint  # a monitor's alarm: the monitor gets a rollback action
        else:
            ctx.report.add(
                (*path, "strategy"),
                "unsupported",
                f"rollback alarm {name}",
                "the spec rolls back on its own error-rate and latency alarms or a monitor's: re-create this "
                "condition as one of those"
                if alarm
                else "the alarm does not exist (or was not readable)",
            )
    return rollback or None


def _strategy(ctx: Import, endpoint: dict[str, Any], path: tuple, instances: int) -> dict[str, Any]:
    config = endpoint.get("LastDeploymentConfig") or {}
    if config.get("RollingUpdatePolicy"):
        ctx.report.add(
            (*path, "strategy"),
            "approximate",
            "rolling update policy",
            "the spec rolls out blue/green (all at once, canary or linear): imported as linear over the same steps",
        )
        rolling = config["RollingUpdatePolicy"]
        step = rolling.get("MaximumBatchSize", {})
        percent = (
            step.get("Value", 10)
            if step.get("Type") == "CAPACITY_PERCENT"
            else round(100 * step.get("Value", 1) / instances)
        )
        return {
            "type": "linear",
            "step_percent": max(1, min(99, percent)),
            "interval": _duration(rolling.get("WaitIntervalInSeconds", 0)),
        }
    policy = config.get("BlueGreenUpdatePolicy") or {}
    routing = policy.get("TrafficRoutingConfiguration") or {"Type": "ALL_AT_ONCE"}
    termination = policy.get("TerminationWaitInSeconds", 0)
    kind = routing["Type"]
    strategy: dict[str, Any]
    if kind == "ALL_AT_ONCE":
        strategy = (
            {"type": "blue_green", "termination_wait": _duration(termination)}
            if termination
            else {"type": "all_at_once"}
        )
    else:
        size = routing.get("CanarySize" if kind == "CANARY" else "LinearStepSize", {})
        percent = size.get("Value", 0)
        if size.get("Type") == "INSTANCE_COUNT":
            count, percent = percent, round(100 * percent / instances)
        # The spec's share is sized back to whole instances on this fleet (mlstack.resolve.rollout): exact
        # when that gives the same instances.
        if size.get("Type") == "INSTANCE_COUNT" and in_instances(percent, instances).instances != count:
            ctx.report.add(
                (*path, "strategy"),
                "approximate",
                f"{kind.lower()} step of {size.get('Value')} instances",
                f"the spec sizes steps as a share of capacity: {percent}% of {instances} instances",
            )
        wait = _duration(routing.get("WaitIntervalInSeconds", 0))
        if kind == "CANARY":
            strategy = {"type": "canary", "percent": percent, "bake_time": wait}
        else:
            strategy = {"type": "linear", "step_percent": percent, "interval": wait}
        strategy["termination_wait"] = _duration(termination)
    alarms = [a["AlarmName"] for a in config.get("AutoRollbackConfiguration", {}).get("Alarms", [])]
    if alarms and (rollback := _rollback(ctx, alarms, endpoint["EndpointName"], path)):
        strategy["rollback"] = rollback
    return strategy


def _autoscaling(ctx: Import, data: Endpoint, variant: dict[str, Any], path: tuple) -> dict[str, Any] | None:
    found = data.scaling.get(variant["VariantName"])
    if found is None:
        return None
    target, policy = found
    scaling: dict[str, Any] = {"min": target["MinCapacity"], "max": target["MaxCapacity"]}
    config = (policy or {}).get("TargetTrackingScalingPolicyConfiguration")
    if config is None:
        ctx.report.add(
            (*path, "autoscaling"),
            "unsupported",
            "autoscaling without a target-tracking policy",
            "the spec scales by target tracking: give the metric and target",
        )
        return None
    predefined = config.get("PredefinedMetricSpecification", {}).get("PredefinedMetricType")
    custom = config.get("CustomizedMetricSpecification", {}).get("MetricName")
    if predefined in PREDEFINED:
        scaling |= {"metric": PREDEFINED[predefined], "target": config["TargetValue"]}
    elif custom in UTILISATION:
        # SageMaker sums utilisation over the instance's cores/GPUs; the spec's target is per instance.
        try:
            sku = get_catalog().lookup("aws", variant["InstanceType"])
        except CatalogError:
            sku = None
        units = (sku.gpus if custom == "GPUUtilization" else sku.vcpus) if sku else 1
        scaling |= {"metric": UTILISATION[custom], "target": config["TargetValue"] / max(units, 1)}
    else:
        ctx.report.add(
            (*path, "autoscaling"),
            "unsupported",
            f"autoscaling on {predefined or custom}",
            "the spec scales on invocations per instance or CPU/GPU utilisation: choose one",
        )
        return None
    scaling["scale_in_cooldown"] = _duration(config.get("ScaleInCooldown", 300))
    scaling["scale_out_cooldown"] = _duration(config.get("ScaleOutCooldown", 60))
    return scaling


# What the import reads from an endpoint configuration, its variants and models; anything else is reported.
READ_CONFIG = frozenset(
    {
        "EndpointConfigName",
        "EndpointConfigArn",
        "ProductionVariants",
        "ShadowProductionVariants",
        "DataCaptureConfig",
        "KmsKeyId",
        "CreationTime",
        "ResponseMetadata",
    }
)
READ_VARIANT = frozenset(
    {"VariantName", "ModelName", "InstanceType", "InitialInstanceCount", "InitialVariantWeight", "ServerlessConfig"}
)
READ_MODEL = frozenset(
    {
        "ModelName",
        "ModelArn",
        "PrimaryContainer",
        "Containers",
        "ExecutionRoleArn",
        "CreationTime",
        "Tags",
        "ResponseMetadata",
        "EnableNetworkIsolation",
    }
)


def _unmapped(ctx: Import, data: Endpoint, path: tuple) -> None:
    """Settings the spec cannot express, named in the report rather than dropped in silence."""
    found = {f"config {k}" for k, v in data.config.items() if k not in READ_CONFIG and v}
    for variant in [*data.config.get("ProductionVariants", []), *data.config.get("ShadowProductionVariants", [])]:
        found |= {f"variant {variant['VariantName']} {k}" for k, v in variant.items() if k not in READ_VARIANT and v}
    for model in data.models.values():
        found |= {f"model {model['ModelName']} {k}" for k, v in model.items() if k not in READ_MODEL and v}
        if model.get("EnableNetworkIsolation"):
            found.add(f"model {model['ModelName']} EnableNetworkIsolation")
    for setting in sorted(found):
        ctx.report.add(
            path,
            "unsupported",
            f"endpoint {data.endpoint['EndpointName']}: {setting}",
            "the spec has no such setting: mlstack would deploy without it (network settings: target.network)",
        )


def endpoint(ctx: Import, registry: Registry, data: Endpoint, index: int) -> dict[str, Any] | None:
    path = ("endpoints", index)
    vendor = data.endpoint["EndpointName"]
    name = ctx.name(vendor, "endpoint", (*path, "name"))
    ctx.endpoints[vendor] = name
    production = data.config.get("ProductionVariants", [])
    shadows = data.config.get("ShadowProductionVariants", [])
    if not production:
        ctx.report.add(path, "unsupported", f"endpoint {vendor} has no production variant", "skipped")
        return None
    out: dict[str, Any] = {"name": name}
    first = production[0]
    _unmapped(ctx, data, path)

    def ref(variant: dict[str, Any], where: tuple) -> dict[str, Any] | None:
        return registry.reference(data.models[variant["ModelName"]], where)

    serverless = first.get("ServerlessConfig")
    if serverless:
        out["serverless"] = {
            "memory_gb": max(1, serverless["MemorySizeInMB"] // 1024),
            "max_concurrency": serverless["MaxConcurrency"],
        }
    else:
        out["compute"] = ctx.profile(first["InstanceType"])
        out["instance_count"] = first.get("InitialInstanceCount", 1)
    if len(production) == 1:
        out["model"] = ref(first, (*path, "model"))
    capture = data.config.get("DataCaptureConfig")
    if capture and capture.get("EnableCapture", True):
        out["data_capture"] = {"sampling_percent": capture.get("InitialSamplingPercentage", 100)}
        if capture.get("DestinationS3Uri"):
            out["data_capture"]["destination"] = capture["DestinationS3Uri"]
    if not serverless and (scaling := _autoscaling(ctx, data, first, path)):
        out["autoscaling"] = scaling
    if len(production) > 1:
        out["strategy"] = _ab(ctx, production, ref, out, path)
    elif shadows:
        out["strategy"] = _shadow(ctx, first, shadows, ref, out, path)
    else:
        out["strategy"] = _strategy(ctx, data.endpoint, path, out.get("instance_count", 1))
    if tags := user_tags(data.tags):
        out["tags"] = tags
    ctx.report.add(path, "exact", f"endpoint {vendor}: {len(production)} production, {len(shadows)} shadow variants")
    return out


def _ab(ctx: Import, production: list[dict[str, Any]], ref: Any, out: dict[str, Any], path: tuple) -> dict[str, Any]:
    weights = [v.get("InitialVariantWeight", 1.0) for v in production]
    shares = percents(weights)
    total = sum(weights) or 1.0
    proportional = all(abs(s / 100 - w / total) < 1e-9 for s, w in zip(shares, weights, strict=True))
    ctx.report.add(
        (*path, "strategy", "variants"),
        "exact" if proportional else "approximate",
        f"weights {weights} → {shares}",
        "the spec's weights are whole percentages summing to 100" + ("" if proportional else ", rounded"),
    )
    variants = []
    for i, variant in enumerate(production):
        where = (*path, "strategy", "variants", i)
        entry = {
            "name": ctx.name(variant["VariantName"], "variant", (*where, "name")),
            "model": ref(variant, (*where, "model")),
            "weight": shares[i],
        }
        if variant.get("InstanceType") and ctx.profile(variant["InstanceType"]) != out.get("compute"):
            entry["compute"] = ctx.profile(variant["InstanceType"])
        if (count := variant.get("InitialInstanceCount", 1)) != out.get("instance_count", 1):
            entry["instance_count"] = count  # each variant keeps its own fleet size
        variants.append(entry)
    return {"type": "ab", "variants": variants}


def _shadow(
    ctx: Import, first: dict[str, Any], shadows: list[dict[str, Any]], ref: Any, out: dict[str, Any], path: tuple
) -> dict[str, Any]:
    shadow = shadows[0]
    if len(shadows) > 1:
        ctx.report.add(
            (*path, "strategy"),
            "unsupported",
            f"{len(shadows)} shadow variants",
            "the spec mirrors to one challenger: the first is imported",
        )
    # The shadow's weight, relative to the production variant's, is the share of requests mirrored.
    percent = round(100 * shadow.get("InitialVariantWeight", 1.0) / (first.get("InitialVariantWeight", 1.0) or 1.0))
    strategy = {
        "type": "shadow",
        "challenger": ref(shadow, (*path, "strategy", "challenger")),
        "percent": min(100, percent),
    }
    if shadow.get("InstanceType") and ctx.profile(shadow["InstanceType"]) != out.get("compute"):
        strategy["compute"] = ctx.profile(shadow["InstanceType"])
    if (count := shadow.get("InitialInstanceCount", 1)) != out.get("instance_count", 1):
        strategy["instance_count"] = count
    return strategy
