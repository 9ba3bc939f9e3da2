"""An autoscaled variant moves to another instance type (audit A8): the scaling release is ordered before the
endpoint and deregisters the variant; the scalable target is registered again after the update."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from aws_plans import (
    CONFIG,
    ENDPOINT,
    SCALING_POLICY,
    SCALING_RELEASE,
    SCALING_TARGET,
    Plan,
    endpoint_with,
    plan_text,
    spec_text,
)
from botocore.stub import Stubber
from google.protobuf import json_format

from mlstack.backends.aws import scaling_release
from mlstack.backends.aws.scaling_release import ScalingReleaseProvider, release
from mlstack.errors import MlstackError
from mlstack.plan_monitor import PlanMonitor

ENDPOINT_NAME = "ranker"  # the vendor name (names.sagemaker) of the spec's endpoint
TARGET_ID = f"endpoint/{ENDPOINT_NAME}/variant/primary"
DIMENSION = "sagemaker:variant:DesiredInstanceCount"
NOW = datetime.datetime(2026, 12, 3, tzinfo=datetime.UTC)

SCALED = """\
- name: ranker
  model: {group: ranker, alias: champion}
  compute: cpu
  instance_count: 2
  autoscaling: {min: 2, max: 8, metric: invocations_per_instance, target: 100}
"""
CANARY = """\
    type: canary
    percent: 25
    bake_time: 10m
    rollback:
      max_error_rate: 0.05
      window: 2m
"""
SCALED_CANARY = endpoint_with(CANARY).replace(
    "  instance_count: 4\n", "  instance_count: 4\n  autoscaling: {min: 4, max: 8, target: 100}\n"
)


@dataclass
class Registration:
    request: Any  # the RegisterResourceRequest: what an engine orders and replaces by
    urn: str


@pytest.fixture
def registered(monkeypatch: pytest.MonkeyPatch) -> dict[str, Registration]:
    """Every registration the plan's program sent Pulumi's mock monitor, by `<type>::<name>`: dependencies,
    replacement trigger, delete before replace and deleted-with, which a plan's resources do not show."""
    seen: dict[str, Registration] = {}
    original = PlanMonitor.RegisterResource

    def record(self: Any, request: Any) -> Any:
        response = original(self, request)
        seen[f"{request.type}::{request.name}"] = Registration(request, response.urn)
        return response

    monkeypatch.setattr(PlanMonitor, "RegisterResource", record)
    return seen


def _plan(text: str, seen: dict[str, Registration]) -> tuple[Plan, dict[str, Registration]]:
    seen.clear()
    planned = plan_text(text)
    return planned, dict(seen)


def test_the_release_is_ordered_before_the_endpoint_and_the_target_is_registered_again_after(registered):
    plan, seen = _plan(spec_text(SCALED), registered)
    release_ = seen[f"{SCALING_RELEASE}::ranker-scaling-release"]
    endpoint = seen[f"{ENDPOINT}::ranker"]
    target = seen[f"{SCALING_TARGET}::ranker-primary-scaling"]
    assert plan.inputs(SCALING_RELEASE) == {
        "endpoint": ENDPOINT_NAME,
        "region": "us-east-1",
        "variants": {"primary": "ml.m5.large"},
    }
    assert plan.inputs(ENDPOINT)["name"] == ENDPOINT_NAME
    # the endpoint waits for the release; the release needs nothing of the endpoint
    assert release_.urn in endpoint.request.dependencies
    assert endpoint.urn not in release_.request.dependencies
    # the target: registered after the endpoint, replaced (delete first) when the release's count moves
    assert endpoint.urn in target.request.dependencies
    assert target.request.deleteBeforeReplace is True
    assert target.request.HasField("replacement_trigger")
    assert json_format.MessageToDict(target.request.replacement_trigger) == 0
    assert plan.one(SCALING_TARGET).options == {"deleteBeforeReplace": True}
    # its policy goes with it: deregistering the target deleted it
    policy = seen[f"{SCALING_POLICY}::ranker-primary-target-tracking"]
    assert policy.request.deletedWith == target.urn
    assert policy.request.deleteBeforeReplace is False


def test_an_instance_type_change_changes_the_release_config_and_endpoint_only(registered):
    base, _ = _plan(spec_text(SCALED), registered)
    moved, _ = _plan(spec_text(SCALED).replace("compute: cpu", "compute: gpu"), registered)
    before = {r.key: r for r in base.resources}
    after = {r.key: r for r in moved.resources}
    changed = {k for k in before if k in after and before[k].inputs != after[k].inputs}
    assert before.keys() == after.keys()
    # a new config, the endpoint moving to it, and the release seeing the new instance type: nothing else
    assert {k.split("::")[0] for k in changed} == {CONFIG, ENDPOINT, SCALING_RELEASE}
    assert moved.inputs(SCALING_RELEASE)["variants"] == {"primary": "ml.g4dn.xlarge"}
    # the target itself does not change: what replaces it is the release's count, at `pulumi up`
    assert before[f"{SCALING_TARGET}::ranker-primary-scaling"] == after[f"{SCALING_TARGET}::ranker-primary-scaling"]
    provider = ScalingReleaseProvider()
    old, new = base.inputs(SCALING_RELEASE), moved.inputs(SCALING_RELEASE)
    assert provider.diff("id", {**old, "released": {}}, new).changes is True
    assert provider.diff("id", {**old, "released": {"primary": 3}}, old).changes is False


def test_a_traffic_shifting_rollout_keeps_its_strategy_alarms_and_variant_name(registered):
    plan, seen = _plan(spec_text(SCALED_CANARY), registered)
    endpoint = plan.inputs(ENDPOINT)
    policy = endpoint["deploymentConfig"]["blueGreenUpdatePolicy"]
    assert policy["trafficRoutingConfiguration"]["type"] == "CANARY"
    assert len(endpoint["deploymentConfig"]["autoRollbackConfiguration"]["alarms"]) == 1
    # the variant keeps its name across instance types, as blue/green and rolling updates require
    assert [v["variantName"] for v in plan.inputs(CONFIG)["productionVariants"]] == ["primary"]
    dependencies = set(seen[f"{ENDPOINT}::ranker"].request.dependencies)
    alarms = {r.urn for k, r in seen.items() if k.startswith("aws:cloudwatch/metricAlarm:MetricAlarm::")}
    assert alarms and alarms | {seen[f"{SCALING_RELEASE}::ranker-scaling-release"].urn} <= dependencies


def test_an_endpoint_without_autoscaling_has_no_release(registered):
    plan, seen = _plan(spec_text(), registered)
    assert plan.all(SCALING_RELEASE) == [] and plan.all(SCALING_TARGET) == []
    assert not any("ScalingRelease" in u for u in seen[f"{ENDPOINT}::ranker"].request.dependencies)


# --- the release against SageMaker's and Application Auto Scaling's request and response shapes ---


@pytest.fixture
def clients() -> Iterator[tuple[Any, Stubber, Any, Stubber]]:
    keys = {"region_name": "us-east-1", "aws_access_key_id": "test", "aws_secret_access_key": "test"}
    sagemaker, autoscaling = boto3.client("sagemaker", **keys), boto3.client("application-autoscaling", **keys)
    with Stubber(sagemaker) as sm, Stubber(autoscaling) as aas:
        yield sagemaker, sm, autoscaling, aas
        sm.assert_no_pending_responses()
        aas.assert_no_pending_responses()


def _live(sm: Stubber, **types: str) -> None:
    sm.add_response(
        "describe_endpoint",
        {
            "EndpointName": ENDPOINT_NAME,
            "EndpointArn": f"arn:aws:sagemaker:us-east-1:111122223333:endpoint/{ENDPOINT_NAME}",
            "EndpointConfigName": f"{ENDPOINT_NAME}-config-1",
            "EndpointStatus": "InService",
            "CreationTime": NOW,
            "LastModifiedTime": NOW,
        },
        {"EndpointName": ENDPOINT_NAME},
    )
    variants = [
        {"VariantName": v, "ModelName": f"m-{v}", "InstanceType": t, "InitialInstanceCount": 2}
        for v, t in types.items()
    ]
    sm.add_response(
        "describe_endpoint_config",
        {
            "EndpointConfigName": f"{ENDPOINT_NAME}-config-1",
            "EndpointConfigArn": f"arn:aws:sagemaker:us-east-1:111122223333:endpoint-config/{ENDPOINT_NAME}-config-1",
            "ProductionVariants": variants,
            "CreationTime": NOW,
        },
        {"EndpointConfigName": f"{ENDPOINT_NAME}-config-1"},
    )


def _targets(aas: Stubber, *held: str, asked: list[str]) -> None:
    found = [
        {
            "ServiceNamespace": "sagemaker",
            "ResourceId": target,
            "ScalableDimension": DIMENSION,
            "MinCapacity": 2,
            "MaxCapacity": 8,
            "RoleARN": "arn:aws:iam::111122223333:role/aws-service-role/AWSServiceRoleForApplicationAutoScaling",
            "CreationTime": NOW,
        }
        for target in held
    ]
    asked_for = {"ServiceNamespace": "sagemaker", "ResourceIds": asked, "ScalableDimension": DIMENSION}
    aas.add_response("describe_scalable_targets", {"ScalableTargets": found}, asked_for)


def _deregistered(aas: Stubber, target: str) -> None:
    request = {"ServiceNamespace": "sagemaker", "ResourceId": target, "ScalableDimension": DIMENSION}
    aas.add_response("deregister_scalable_target", {}, request)


PROPS = {"endpoint": ENDPOINT_NAME, "region": "us-east-1", "variants": {"primary": "ml.c5.xlarge"}}


def test_a_registered_variant_changing_instance_type_is_deregistered_and_counted(clients):
    sagemaker, sm, autoscaling, aas = clients
    _live(sm, primary="ml.m5.large")
    _targets(aas, TARGET_ID, asked=[TARGET_ID])
    _deregistered(aas, TARGET_ID)
    assert release(sagemaker, autoscaling, PROPS, {"primary": 1}) == {"primary": 2}


def test_a_variant_keeping_its_instance_type_stays_registered(clients):
    sagemaker, sm, autoscaling, _ = clients
    _live(sm, primary="ml.c5.xlarge")  # no Application Auto Scaling call is stubbed: none may happen
    assert release(sagemaker, autoscaling, PROPS, {"primary": 1}) == {"primary": 1}


def test_a_removed_variant_is_deregistered_and_an_unregistered_one_is_not_counted(clients):
    sagemaker, sm, autoscaling, aas = clients
    _live(sm, a="ml.m5.large", b="ml.m5.large", c="ml.m5.large")
    a, b = (f"endpoint/{ENDPOINT_NAME}/variant/{v}" for v in "ab")
    props = {**PROPS, "variants": {"a": "ml.c5.xlarge", "c": "ml.m5.large"}}
    _targets(aas, b, asked=[a, b])
    _deregistered(aas, b)
    assert release(sagemaker, autoscaling, props, {}) == {"b": 1}


def test_an_endpoint_that_does_not_exist_yet_needs_no_release(clients):
    sagemaker, sm, autoscaling, _ = clients
    sm.add_client_error("describe_endpoint", "ValidationException", f"Could not find endpoint {ENDPOINT_NAME}.")
    assert release(sagemaker, autoscaling, PROPS, {}, first=True) == {}


def test_a_target_gone_since_it_was_listed_is_released(clients):
    sagemaker, sm, autoscaling, aas = clients
    _live(sm, primary="ml.m5.large")
    _targets(aas, TARGET_ID, asked=[TARGET_ID])
    aas.add_client_error("deregister_scalable_target", "ObjectNotFoundException", "No scalable target registered")
    assert release(sagemaker, autoscaling, PROPS, {}) == {"primary": 1}


def test_a_stack_whose_targets_predate_the_release_refuses_before_deregistering(clients):
    sagemaker, sm, autoscaling, aas = clients
    _live(sm, primary="ml.m5.large")
    _targets(aas, TARGET_ID, asked=[TARGET_ID])  # and no deregistration
    with pytest.raises(MlstackError, match=r"primary ml\.m5\.large -> ml\.c5\.xlarge.*run `pulumi up` once"):
        release(sagemaker, autoscaling, PROPS, {}, first=True)


def test_the_provider_counts_on_from_its_last_outputs(clients, monkeypatch):
    sagemaker, sm, autoscaling, aas = clients
    monkeypatch.setattr(scaling_release, "_clients", lambda region: (sagemaker, autoscaling))
    _live(sm, primary="ml.m5.large")
    _targets(aas, TARGET_ID, asked=[TARGET_ID])
    _deregistered(aas, TARGET_ID)
    olds = {**PROPS, "variants": {"primary": "ml.m5.large"}, "released": {"primary": 1}}
    assert ScalingReleaseProvider().update("id", olds, PROPS).outs == {**PROPS, "released": {"primary": 2}}
