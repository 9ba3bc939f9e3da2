"""Autoscaling, serverless endpoints and data capture."""

from __future__ import annotations

import json

import aws_requests
import pytest
from aws_plans import ALARM, CONFIG, ENDPOINT, KEY, ROLE_POLICY, SCALING_POLICY, SCALING_TARGET, plan_text, spec_text

from mlstack.errors import SpecInvalid


def scaled(metric: str, compute: str = "cpu", target: int = 70) -> str:
    return f"""\
- name: ranker
  model: {{group: ranker, alias: champion}}
  compute: {compute}
  instance_count: 2
  autoscaling:
    min: 2
    max: 8
    metric: {metric}
    target: {target}
    scale_in_cooldown: 10m
    scale_out_cooldown: 2m
"""


def test_invocations_per_instance_is_the_predefined_metric():
    plan = plan_text(spec_text(scaled("invocations_per_instance", target=500)))
    target = plan.inputs(SCALING_TARGET)
    assert target == {
        "serviceNamespace": "sagemaker",
        "scalableDimension": "sagemaker:variant:DesiredInstanceCount",
        "resourceId": "endpoint/ranker/variant/primary",
        "minCapacity": 2,
        "maxCapacity": 8,
        "tags": {"managed-by": "mlstack", "mlstack-spec": "shop"},
    }
    policy = plan.inputs(SCALING_POLICY)
    assert policy["policyType"] == "TargetTrackingScaling"
    assert (policy["resourceId"], policy["scalableDimension"], policy["serviceNamespace"]) == (
        target["resourceId"],
        target["scalableDimension"],
        "sagemaker",
    )
    assert policy["targetTrackingScalingPolicyConfiguration"] == {
        "targetValue": 500,
        "predefinedMetricSpecification": {"predefinedMetricType": "SageMakerVariantInvocationsPerInstance"},
        "scaleInCooldown": 600,
        "scaleOutCooldown": 120,
    }


@pytest.mark.parametrize(
    ("metric", "compute", "name", "target"),
    [
        ("cpu_utilization", "cpu", "CPUUtilization", 70 * 2),  # ml.m5.large: 2 vCPUs, each up to 100%
        ("gpu_utilization", "gpu", "GPUUtilization", 70 * 1),  # ml.g4dn.xlarge: 1 GPU
    ],
)
def test_utilisation_is_a_custom_metric_scaled_to_the_instance(metric, compute, name, target):
    plan = plan_text(spec_text(scaled(metric, compute)))
    config = plan.inputs(SCALING_POLICY)["targetTrackingScalingPolicyConfiguration"]
    assert config["targetValue"] == target
    assert config["customizedMetricSpecification"] == {
        "metricName": name,
        "namespace": "/aws/sagemaker/Endpoints",
        "statistic": "Average",
        "dimensions": [{"name": "EndpointName", "value": "ranker"}, {"name": "VariantName", "value": "primary"}],
    }
    assert "predefinedMetricSpecification" not in config


def test_every_production_variant_of_an_ab_endpoint_scales():
    endpoints = """\
- name: ranker
  compute: cpu
  autoscaling: {min: 1, max: 3, target: 100}
  strategy:
    type: ab
    variants:
      - {name: a, model: {group: ranker, version: 1}, weight: 50}
      - {name: b, model: {group: ranker, version: 2}, weight: 50}
"""
    plan = plan_text(spec_text(endpoints))
    assert sorted(t.inputs["resourceId"] for t in plan.all(SCALING_TARGET)) == [
        "endpoint/ranker/variant/a",
        "endpoint/ranker/variant/b",
    ]
    assert len(plan.all(SCALING_POLICY)) == 2


def test_serverless_endpoint_has_memory_and_concurrency_and_no_instances():
    endpoints = """\
- name: ranker
  model: {group: ranker, alias: champion}
  serverless: {memory_gb: 3, max_concurrency: 20}
"""
    plan = plan_text(spec_text(endpoints))
    (variant,) = plan.inputs(CONFIG)["productionVariants"]
    assert variant["serverlessConfig"] == {"memorySizeInMb": 3072, "maxConcurrency": 20}
    assert "instanceType" not in variant and "initialInstanceCount" not in variant
    assert not plan.all(SCALING_TARGET)


def test_capture_to_a_named_destination_with_the_key():
    endpoints = """\
- name: ranker
  model: {group: ranker, alias: champion}
  compute: cpu
  data_capture:
    sampling_percent: 5
    destination: s3://captures/ranker/
"""
    plan = plan_text(spec_text(endpoints, target_extra=f"  kms_key: {KEY}\n"))
    config = plan.inputs(CONFIG)
    assert config["dataCaptureConfig"]["destinationS3Uri"] == "s3://captures/ranker/"
    assert config["dataCaptureConfig"]["initialSamplingPercentage"] == 5
    assert config["dataCaptureConfig"]["kmsKeyId"] == KEY
    assert config["kmsKeyArn"] == KEY  # ml.m5.large has no instance storage: its volume takes the key
    policy = json.loads(plan.inputs(ROLE_POLICY, "endpoint-ranker-policy")["policy"])
    writes = [s for s in policy["Statement"] if "s3:PutObject" in s["Action"]]
    assert writes == [
        {
            "Effect": "Allow",
            "Action": ["s3:AbortMultipartUpload", "s3:PutObject"],
            "Resource": ["arn:aws:s3:::captures/ranker/*"],
        }
    ]


def test_disabled_or_zero_capture_configures_none():
    for capture in ("  data_capture: {enabled: false}\n", "  data_capture: {sampling_percent: 0}\n", ""):
        endpoints = f"- name: ranker\n  model: {{group: ranker, alias: champion}}\n  compute: cpu\n{capture}"
        plan = plan_text(spec_text(endpoints))
        assert "dataCaptureConfig" not in plan.inputs(CONFIG)
        statements = json.loads(plan.inputs(ROLE_POLICY)["policy"])["Statement"]
        assert not [s for s in statements if "s3:PutObject" in s["Action"]]
    assert plan.inputs(ENDPOINT)["name"] == "ranker"


def test_serverless_provisioned_concurrency_is_a_valid_create_endpoint_config():
    endpoints = """\
- name: ranker
  model: {group: ranker, alias: champion}
  serverless: {memory_gb: 4, max_concurrency: 20, provisioned_concurrency: 5}
"""
    config = plan_text(spec_text(endpoints)).inputs(CONFIG)
    assert config["productionVariants"][0]["serverlessConfig"] == {
        "memorySizeInMb": 4096,
        "maxConcurrency": 20,
        "provisionedConcurrency": 5,
    }
    request = aws_requests.validate("sagemaker", "CreateEndpointConfig", aws_requests.endpoint_config(config))
    assert request["ProductionVariants"][0]["ServerlessConfig"]["ProvisionedConcurrency"] == 5


ASYNC = """\
- name: ranker
  model: {group: ranker, alias: champion}
  compute: cpu
  async:
    output: s3://results/ranker/
    failures: s3://results/ranker-failed/
    notifications: {success: "arn:aws:sns:us-east-1:111122223333:scored", error: "arn:aws:sns:us-east-1:111122223333:failed"}
    max_concurrent_invocations_per_instance: 4
  autoscaling: {min: 0, max: 3, target: 5}
"""


def test_async_endpoint_writes_results_to_s3_tells_topics_and_scales_from_zero():
    plan = plan_text(spec_text(ASYNC, target_extra=f"  kms_key: {KEY}\n"))
    config = plan.inputs(CONFIG)
    assert config["asyncInferenceConfig"] == {
        "outputConfig": {
            "s3OutputPath": "s3://results/ranker/",
            "s3FailurePath": "s3://results/ranker-failed/",
            "notificationConfig": {
                "successTopic": "arn:aws:sns:us-east-1:111122223333:scored",
                "errorTopic": "arn:aws:sns:us-east-1:111122223333:failed",
            },
            "kmsKeyId": KEY,
        },
        "clientConfig": {"maxConcurrentInvocationsPerInstance": 4},
    }
    request = aws_requests.validate("sagemaker", "CreateEndpointConfig", aws_requests.endpoint_config(config))
    assert request["AsyncInferenceConfig"]["OutputConfig"]["S3OutputPath"] == "s3://results/ranker/"
    (target,) = plan.all(SCALING_TARGET)
    assert (target.inputs["minCapacity"], target.inputs["maxCapacity"]) == (0, 3)
    step, tracking = sorted(plan.all(SCALING_POLICY), key=lambda p: p.inputs["policyType"])
    assert step.inputs["policyType"] == "StepScaling"
    metric = tracking.inputs["targetTrackingScalingPolicyConfiguration"]["customizedMetricSpecification"]
    assert (metric["metricName"], metric["namespace"]) == ("ApproximateBacklogSizePerInstance", "AWS/SageMaker")
    (alarm,) = [a for a in plan.all(ALARM) if a.inputs["metricName"] == "HasBacklogWithoutCapacity"]
    assert alarm.inputs["threshold"] == 1 and alarm.inputs["namespace"] == "AWS/SageMaker"
    policy = json.loads(plan.inputs(ROLE_POLICY, "endpoint-ranker-policy")["policy"])
    resources = [r for s in policy["Statement"] for r in s["Resource"]]
    assert "arn:aws:s3:::results/ranker/*" in resources and "arn:aws:s3:::results/ranker-failed/*" in resources
    assert "arn:aws:sns:us-east-1:111122223333:scored" in resources


@pytest.mark.parametrize(
    ("change", "path", "message"),
    [
        (("s3://results/ranker/", "gs://results/"), "endpoints.0.async.output", "SageMaker writes asynchronous"),
        (("arn:aws:sns:us-east-1:111122223333:failed", "oncall"), "endpoints.0.async.notifications.error", "'oncall'"),
    ],
)
def test_async_problems_are_located(change, path, message):
    text = spec_text(ASYNC.replace(*change))
    with pytest.raises(SpecInvalid) as caught:
        plan_text(text)
    (error,) = caught.value.errors
    assert ".".join(map(str, error.path)) == path and error.message.startswith(message)
