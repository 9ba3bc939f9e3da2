"""The independent check: endpoint configurations, endpoints (with their deployment configs), feature
groups, monitoring schedules and job definitions, alarms, autoscaling and schedules of planned stacks,
as the AWS API requests they become, validated by botocore against the services' own models."""

from __future__ import annotations

import json
import re

import aws_requests as api
import pytest
from aws_plans import (
    ALARM,
    CONFIG,
    DATA_QUALITY_JOB,
    ENDPOINT,
    EVENT_RULE,
    EVENT_TARGET,
    FEATURE_GROUP,
    MODEL,
    MODEL_QUALITY_JOB,
    MONITORED,
    MONITORING_SCHEDULE,
    PIPELINE,
    ROLLBACK,
    SCALING_POLICY,
    SCALING_TARGET,
    SCHEDULE,
    TRACKING_SERVER,
    Plan,
    endpoint_with,
    fraud,
    plan_text,
    spec_text,
)
from botocore.exceptions import ParamValidationError

# (planned type, service, operation, request builder)
REQUESTS = [
    (CONFIG, "sagemaker", "CreateEndpointConfig", api.endpoint_config),
    (ENDPOINT, "sagemaker", "CreateEndpoint", api.endpoint),
    (ENDPOINT, "sagemaker", "UpdateEndpoint", api.update_endpoint),
    (MODEL, "sagemaker", "CreateModel", api.model),
    (FEATURE_GROUP, "sagemaker", "CreateFeatureGroup", api.feature_group),
    (MONITORING_SCHEDULE, "sagemaker", "CreateMonitoringSchedule", api.monitoring_schedule),
    (DATA_QUALITY_JOB, "sagemaker", "CreateDataQualityJobDefinition", api.data_quality_job),
    (MODEL_QUALITY_JOB, "sagemaker", "CreateModelQualityJobDefinition", api.model_quality_job),
    (PIPELINE, "sagemaker", "CreatePipeline", api.pipeline),
    (TRACKING_SERVER, "sagemaker", "CreateMlflowTrackingServer", api.tracking_server),
    (ALARM, "cloudwatch", "PutMetricAlarm", api.metric_alarm),
    (SCALING_TARGET, "application-autoscaling", "RegisterScalableTarget", api.scalable_target),
    (SCALING_POLICY, "application-autoscaling", "PutScalingPolicy", api.scaling_policy),
    (SCHEDULE, "scheduler", "CreateSchedule", api.schedule),
    (EVENT_RULE, "events", "PutRule", api.event_rule),
    (EVENT_TARGET, "events", "PutTargets", lambda inputs: api.event_targets(inputs, "start-pipeline")),
]
STRATEGIES = {
    "all_at_once": "    type: all_at_once\n" + ROLLBACK,
    "blue_green": "    type: blue_green\n    termination_wait: 10m\n" + ROLLBACK,
    "canary": "    type: canary\n    percent: 50\n    bake_time: 1h\n" + ROLLBACK,
    "linear": "    type: linear\n    step_percent: 10\n    interval: 1h\n    termination_wait: 1h\n" + ROLLBACK,
    "shadow": "    type: shadow\n    challenger: {group: ranker, alias: challenger}\n    percent: 100\n",
}
SERVERLESS = (
    "- name: ranker\n  model: {group: ranker, alias: champion}\n  serverless: {memory_gb: 6, max_concurrency: 200}\n"
)
AB = """\
- name: ranker
  compute: gpu
  autoscaling: {min: 1, max: 4, metric: gpu_utilization, target: 60}
  data_capture: {sampling_percent: 1}
  strategy:
    type: ab
    variants:
      - {name: a, model: {group: ranker, version: 1}, weight: 1}
      - {name: b, model: {group: ranker, version: 2}, weight: 99}
"""
VIEWS = """\
feature_store:
  entities:
    - name: basket
      join_keys: [{name: shop_id, dtype: string}, {name: basket_id, dtype: int64}]
  views:
    - name: basket-totals
      entity: basket
      source: {uri: s3://data/baskets/, timestamp_field: ts}
      ttl: 90m
      online: true
      offline: false
      features: [{name: total, dtype: float32}, {name: paid, dtype: bool}, {name: at, dtype: timestamp}]
"""


def cases() -> list[tuple[str, Plan]]:
    found = [(f"fraud-{env or 'base'}", fraud(env)) for env in (None, "dev", "prod")]
    found += [(name, plan_text(spec_text(endpoint_with(s)))) for name, s in STRATEGIES.items()]
    found.append(("ab-scaled", plan_text(spec_text(AB))))
    found.append(("serverless", plan_text(spec_text(SERVERLESS))))
    found.append(("monitors-and-views", plan_text(spec_text(rest=MONITORED + VIEWS))))
    found.append(("monitors-native", native_monitors()))
    return found


def native_monitors() -> Plan:
    """The same monitors in an account that has SageMaker Model Monitor (target.aws.model_monitor)."""
    return plan_text(spec_text(rest=MONITORED + VIEWS, target_extra="  model_monitor: true\n"))


def _steps(steps: list[dict]) -> list[dict]:
    return [s for step in steps for s in [step, *_steps(step.get("Arguments", {}).get("IfSteps", []))]]


def _universal_target(inputs: dict) -> tuple[str, str, dict] | None:
    """(service, operation, request) of a schedule's universal target, with Scheduler's context attributes
    filled with the documented example values."""
    match = re.fullmatch(r"arn:aws[a-z-]*:scheduler:::aws-sdk:([a-z0-9-]+):(\w+)", inputs["target"]["arn"])
    if not match:
        return None
    text = (
        inputs["target"]["input"]
        .replace("<aws.scheduler.scheduled-time>", "2022-03-22T18:59:43Z")
        .replace("<aws.scheduler.execution-id>", "d32c5kddcf5bb8c3")
    )
    action = match.group(2)
    return match.group(1), action[0].upper() + action[1:], json.loads(text)


@pytest.mark.parametrize(("label", "plan"), cases(), ids=lambda v: v if isinstance(v, str) else "")
def test_planned_resources_are_valid_api_requests(label, plan):
    validated = set()
    for typ, service, operation, build in REQUESTS:
        for resource in plan.all(typ):
            api.validate(service, operation, build(resource.inputs))
            validated.add(operation)
    for resource in plan.all(PIPELINE):  # each step is the request SageMaker Pipelines makes
        for step in _steps(json.loads(resource.inputs["pipelineDefinition"])["Steps"]):
            if step["Type"] in api.STEP_OPERATIONS:
                operation, request = api.step_request(step)
                api.validate("sagemaker", operation, request)
                validated.add(operation)
    for resource in plan.all(SCHEDULE):  # what Scheduler sends to a universal target
        universal = _universal_target(resource.inputs)
        if universal:
            api.validate(*universal)
            validated.add(universal[1])
    assert {"CreateEndpointConfig", "CreateEndpoint", "UpdateEndpoint", "CreateModel"} <= validated
    if label.startswith("fraud") or label == "monitors-and-views":
        # mlstack's evaluator: a pipeline with a processing step, started by a universal target
        assert {"CreateFeatureGroup", "CreatePipeline", "CreateProcessingJob", "PutMetricAlarm"} <= validated
        assert {"CreateSchedule", "StartPipelineExecution"} <= validated
    if label == "monitors-native":
        assert {"CreateMonitoringSchedule", "CreateDataQualityJobDefinition", "CreateModelQualityJobDefinition"} <= (
            validated
        )


def test_the_composite_record_identifier_is_a_declared_string_feature():
    plan = plan_text(spec_text(rest=VIEWS))
    request = api.validate("sagemaker", "CreateFeatureGroup", api.feature_group(plan.inputs(FEATURE_GROUP)))
    assert request["RecordIdentifierFeatureName"] == "shop_id__basket_id"
    assert request["FeatureDefinitions"] == [
        {"FeatureName": "shop_id", "FeatureType": "String"},
        {"FeatureName": "basket_id", "FeatureType": "Integral"},
        {"FeatureName": "shop_id__basket_id", "FeatureType": "String"},
        {"FeatureName": "ts", "FeatureType": "Fractional"},
        {"FeatureName": "total", "FeatureType": "Fractional"},
        {"FeatureName": "paid", "FeatureType": "Integral"},
        {"FeatureName": "at", "FeatureType": "String"},
    ]
    assert request["OnlineStoreConfig"] == {"EnableOnlineStore": True, "TtlDuration": {"Unit": "Minutes", "Value": 90}}
    assert "OfflineStoreConfig" not in request
    assert request["RoleArn"] == "arn:aws:iam::111122223333:role/shop-feature-store"


# The check can fail: each of these breaks one rule of the service model.
BROKEN = [
    (CONFIG, "CreateEndpointConfig", api.endpoint_config, ("productionVariants", 0, "instanceType"), "ml.bogus.size"),
    (
        ENDPOINT,
        "CreateEndpoint",
        api.endpoint,
        ("deploymentConfig", "blueGreenUpdatePolicy", "maximumExecutionTimeoutInSeconds"),
        30000,
    ),
    (
        ENDPOINT,
        "CreateEndpoint",
        api.endpoint,
        ("deploymentConfig", "blueGreenUpdatePolicy", "trafficRoutingConfiguration", "type"),
        "BIG_BANG",
    ),
    (
        FEATURE_GROUP,
        "CreateFeatureGroup",
        api.feature_group,
        ("onlineStoreConfig", "ttlDuration", "unit"),
        "Fortnights",
    ),
    (FEATURE_GROUP, "CreateFeatureGroup", api.feature_group, ("featureGroupName",), "x" * 65),
    (MONITORING_SCHEDULE, "CreateMonitoringSchedule", api.monitoring_schedule, ("name",), "bad name!"),
    (
        MONITORING_SCHEDULE,
        "CreateMonitoringSchedule",
        api.monitoring_schedule,
        ("monitoringScheduleConfig", "monitoringType"),
        "Drift",
    ),
]


@pytest.mark.parametrize(("typ", "operation", "build", "path", "value"), BROKEN)
def test_a_broken_request_is_refused(typ, operation, build, path, value):
    import copy

    candidates = [*fraud().all(typ), *native_monitors().all(typ)]
    inputs = copy.deepcopy(next(r for r in candidates if _has(r.inputs, path[:-1])).inputs)
    target = inputs
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises((AssertionError, ParamValidationError, KeyError)):
        api.validate("sagemaker", operation, build(inputs))


def _has(inputs: dict, path: tuple) -> bool:
    for key in path:
        try:
            inputs = inputs[key]
        except (KeyError, IndexError, TypeError):
            return False
    return True
