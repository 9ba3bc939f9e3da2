"""The six rollout strategies as SageMaker variants and deployment configs, and updates that never
delete the serving configuration first."""

from __future__ import annotations

import pytest
from aws_plans import ALARM, CONFIG, ENDPOINT, MODEL, ROLLBACK, endpoint_with, plan_text, spec_text


def routing(plan) -> dict:
    return plan.inputs(ENDPOINT)["deploymentConfig"]["blueGreenUpdatePolicy"]


def test_all_at_once_without_rollback_keeps_sagemakers_default_update():
    plan = plan_text(spec_text(endpoint_with("    type: all_at_once\n")))
    assert "deploymentConfig" not in plan.inputs(ENDPOINT)
    assert not plan.all(ALARM)


def test_all_at_once_with_rollback_bakes_for_one_alarm_window():
    plan = plan_text(spec_text(endpoint_with("    type: all_at_once\n" + ROLLBACK)))
    policy = routing(plan)
    assert policy["trafficRoutingConfiguration"] == {"type": "ALL_AT_ONCE", "waitIntervalInSeconds": 120}
    assert policy["terminationWaitInSeconds"] == 0
    assert policy["maximumExecutionTimeoutInSeconds"] == 120 + 1800
    alarms = plan.inputs(ENDPOINT)["deploymentConfig"]["autoRollbackConfiguration"]["alarms"]
    assert alarms == [{"alarmName": "shop-ranker-error-rate"}, {"alarmName": "shop-ranker-p99-latency"}]
    latency = plan.inputs(ALARM, "ranker-p99-latency")
    assert (latency["threshold"], latency["period"]) == (120000, 120)
    assert plan.inputs(ALARM, "ranker-error-rate")["threshold"] == 0.05


def test_blue_green_keeps_the_old_fleet_for_the_termination_wait():
    plan = plan_text(spec_text(endpoint_with("    type: blue_green\n    termination_wait: 15m\n")))
    policy = routing(plan)
    assert policy == {
        "trafficRoutingConfiguration": {"type": "ALL_AT_ONCE", "waitIntervalInSeconds": 0},
        "terminationWaitInSeconds": 900,
        "maximumExecutionTimeoutInSeconds": 900 + 1800,
    }
    assert "autoRollbackConfiguration" not in plan.inputs(ENDPOINT)["deploymentConfig"]


def test_canary_shifts_the_instances_nearest_its_traffic_share_then_bakes():
    # 25% of a fleet of four is exactly one instance: SageMaker moves instances, not a traffic percentage.
    strategy = "    type: canary\n    percent: 25\n    bake_time: 20m\n    termination_wait: 1m\n"
    plan = plan_text(spec_text(endpoint_with(strategy + ROLLBACK)))
    assert routing(plan) == {
        "trafficRoutingConfiguration": {
            "type": "CANARY",
            "canarySize": {"type": "INSTANCE_COUNT", "value": 1},
            "waitIntervalInSeconds": 1200,
        },
        "terminationWaitInSeconds": 60,
        "maximumExecutionTimeoutInSeconds": 1200 + 60 + 1800,
    }
    assert len(plan.inputs(ENDPOINT)["deploymentConfig"]["autoRollbackConfiguration"]["alarms"]) == 2


def test_linear_steps_and_a_timeout_covering_every_step():
    strategy = "    type: linear\n    step_percent: 20\n    interval: 30m\n    termination_wait: 0s\n"
    plan = plan_text(spec_text(endpoint_with(strategy)))
    assert routing(plan) == {
        "trafficRoutingConfiguration": {
            "type": "LINEAR",
            "linearStepSize": {"type": "INSTANCE_COUNT", "value": 1},
            "waitIntervalInSeconds": 1800,
        },
        "terminationWaitInSeconds": 0,
        # 20% of four instances is sized as one instance (25%) per step: four steps.
        "maximumExecutionTimeoutInSeconds": 4 * 1800 + 1800,
    }


def test_long_linear_rollouts_are_capped_at_sagemakers_maximum():
    strategy = "    type: linear\n    step_percent: 10\n    interval: 1h\n"
    text = spec_text(endpoint_with(strategy)).replace("instance_count: 4", "instance_count: 10")
    assert routing(plan_text(text))["maximumExecutionTimeoutInSeconds"] == 28800


def test_shadow_mirrors_a_share_to_the_challenger():
    strategy = (
        "    type: shadow\n    challenger: {group: ranker, alias: challenger}\n    percent: 40\n    compute: gpu\n"
    )
    plan = plan_text(spec_text(endpoint_with(strategy)))
    config = plan.inputs(CONFIG)
    primary = plan.inputs(MODEL, "ranker-primary-model")
    shadow = plan.inputs(MODEL, "ranker-shadow-model")
    assert config["productionVariants"] == [
        {
            "variantName": "primary",
            "modelName": primary["name"],
            "instanceType": "ml.m5.large",
            "initialInstanceCount": 4,
            "initialVariantWeight": 100,
        }
    ]
    assert config["shadowProductionVariants"] == [
        {
            "variantName": "shadow",
            "modelName": shadow["name"],
            "instanceType": "ml.g4dn.xlarge",
            "initialInstanceCount": 4,
            "initialVariantWeight": 40,
        }
    ]
    # The challenger is version 2, a pytorch model: the GPU deep learning container for its region.
    assert shadow["primaryContainer"]["image"] == (
        "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.6.0-gpu-py312"
    )
    assert "deploymentConfig" not in plan.inputs(ENDPOINT)


def test_ab_weights_are_variant_weights():
    endpoints = """\
- name: ranker
  compute: cpu
  strategy:
    type: ab
    variants:
      - name: old
        model: {group: ranker, version: 1}
        weight: 70
      - name: new
        model: {group: ranker, version: 2}
        weight: 30
        compute: gpu
"""
    plan = plan_text(spec_text(endpoints))
    variants = plan.inputs(CONFIG)["productionVariants"]
    assert [(v["variantName"], v["initialVariantWeight"], v["instanceType"]) for v in variants] == [
        ("old", 70, "ml.m5.large"),
        ("new", 30, "ml.g4dn.xlarge"),
    ]
    assert "dataCaptureConfig" not in plan.inputs(CONFIG)
    assert plan.inputs(MODEL, "ranker-new-model")["primaryContainer"]["environment"] == {
        "SAGEMAKER_PROGRAM": "inference.py",
        "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
    }


@pytest.mark.parametrize(
    ("change", "model_changes"),
    [
        (lambda text: text.replace("instance_count: 4", "instance_count: 5"), False),
        (lambda text: text.replace("sampling_percent: 50", "sampling_percent: 60"), False),
        (lambda text: text.replace("ranker/1/model.tar.gz", "ranker/1b/model.tar.gz"), True),
    ],
    ids=["instances", "capture", "artifact"],
)
def test_a_changed_configuration_is_a_new_one_created_before_the_old_is_deleted(change, model_changes):
    before_text = spec_text(endpoint_with("    type: canary\n    percent: 10\n"))
    before, after = plan_text(before_text), plan_text(change(before_text))
    old, new = before.inputs(CONFIG), after.inputs(CONFIG)
    # Same Pulumi resource (no rename), a new vendor name: Pulumi replaces it create-before-delete.
    assert before.one(CONFIG).name == after.one(CONFIG).name == "ranker-config"
    assert old["name"] != new["name"]
    assert after.inputs(ENDPOINT)["endpointConfigName"] == new["name"]
    assert before.inputs(ENDPOINT)["name"] == after.inputs(ENDPOINT)["name"] == "ranker"  # updated in place
    model_names = before.inputs(MODEL)["name"], after.inputs(MODEL)["name"]
    assert (model_names[0] != model_names[1]) is model_changes
    for resource in (*before.resources, *after.resources):
        assert "deleteBeforeReplace" not in resource.options


def test_an_unchanged_spec_plans_the_same_names():
    text = spec_text(endpoint_with("    type: canary\n    percent: 10\n"))
    assert plan_text(text).inputs(CONFIG)["name"] == plan_text(text).inputs(CONFIG)["name"]
