"""The endpoint deployment provider against the fake Vertex: deploy requests, staged traffic splits,
alarm-driven rollback, resumption and idempotent delete."""

from __future__ import annotations

import pytest
from google.cloud import aiplatform_v1 as v1
from hypothesis import given
from hypothesis import strategies as st

from mlstack.backends.gcp.providers.deployment import DeploymentProvider, RolloutFailed, display_name
from mlstack.backends.gcp.providers.health import ERRORS, PREDICTIONS
from mlstack.backends.gcp.providers.rollout import Move, split_at, stages

ENDPOINT = "projects/p-123456/locations/us-central1/endpoints/1234567890"
MODEL = "projects/p-123456/locations/us-central1/models/fd-fraud-model"


def variant(name: str = "primary", version: int = 1, weight: int = 100, **extra) -> dict:
    return {
        "name": name,
        "weight": weight,
        "model": f"{MODEL}@{version}",
        "machine_type": "g2-standard-4",
        "accelerator_type": "NVIDIA_L4",
        "accelerator_count": 1,
        "min_replicas": 2,
        "max_replicas": 6,
        "autoscaling": [{"metric_name": "aiplatform.googleapis.com/prediction/online/request_count", "target": 200}],
        "service_account": "serving@p-123456.iam.gserviceaccount.com",
        **extra,
    }


def props(variants: list[dict], strategy: dict | None = None) -> dict:
    return {
        "project": "p-123456",
        "region": "us-central1",
        "endpoint": ENDPOINT,
        "endpoint_id": "1234567890",
        "variants": variants,
        "strategy": strategy or {"type": "all_at_once"},
    }


def splits(vertex) -> list[dict[str, int]]:
    return [dict(r.endpoint.traffic_split) for r in vertex.sent("update_endpoint")]


@pytest.fixture
def served(vertex):
    vertex.add_endpoint(ENDPOINT)
    outs = DeploymentProvider().create(props([variant()])).outs
    vertex.requests.clear()
    return outs


def test_create_deploys_with_the_sku_and_autoscaling(vertex):
    vertex.add_endpoint(ENDPOINT)
    outs = DeploymentProvider().create(props([variant()])).outs
    (deploy,) = vertex.sent("deploy_model")
    assert deploy == v1.DeployModelRequest(
        endpoint=ENDPOINT,
        deployed_model=v1.DeployedModel(
            model=f"{MODEL}@1",
            display_name=display_name(variant()),
            service_account="serving@p-123456.iam.gserviceaccount.com",
            dedicated_resources=v1.DedicatedResources(
                machine_spec=v1.MachineSpec(
                    machine_type="g2-standard-4", accelerator_type=v1.AcceleratorType.NVIDIA_L4, accelerator_count=1
                ),
                min_replica_count=2,
                max_replica_count=6,
                autoscaling_metric_specs=[
                    v1.AutoscalingMetricSpec(
                        metric_name="aiplatform.googleapis.com/prediction/online/request_count", target=200
                    )
                ],
            ),
        ),
        traffic_split={"0": 100},
    )
    deployed_id = outs["deployed"]["primary"]["id"]
    assert splits(vertex) == [{deployed_id: 100}]
    assert dict(vertex.endpoints[ENDPOINT].traffic_split) == {deployed_id: 100}


def test_canary_shifts_in_stages_and_releases_the_old_deployment(vertex, served):
    canary = {"type": "canary", "percent": 10, "bake_time": 600, "termination_wait": 300}
    outs = DeploymentProvider().update("id", served, props([variant(version=2)], canary)).outs
    old, new = served["deployed"]["primary"]["id"], outs["deployed"]["primary"]["id"]
    assert vertex.sent("deploy_model")[0].traffic_split == {old: 100, "0": 0}
    assert splits(vertex) == [{new: 10, old: 90}, {new: 100, old: 0}]
    assert sum(vertex.pauses) == 900
    assert [r.deployed_model_id for r in vertex.sent("undeploy_model")] == [old]
    assert [m.id for m in vertex.endpoints[ENDPOINT].deployed_models] == [new]


def test_linear_moves_step_by_step(vertex, served):
    linear = {"type": "linear", "step_percent": 30, "interval": 120, "termination_wait": 0}
    outs = DeploymentProvider().update("id", served, props([variant(version=2)], linear)).outs
    new = outs["deployed"]["primary"]["id"]
    assert [s[new] for s in splits(vertex)] == [30, 60, 90, 100]
    assert vertex.pauses == [60, 60] * 3


def test_blue_green_switches_once_then_waits_before_release(vertex, served):
    blue_green = {"type": "blue_green", "termination_wait": 300}
    DeploymentProvider().update("id", served, props([variant(version=2)], blue_green))
    assert len(splits(vertex)) == 1 and sum(vertex.pauses) == 300
    assert vertex.requests[-1][0] == "undeploy_model"


def test_a_canary_breaching_its_alarm_is_rolled_back(vertex, served):
    canary = {
        "type": "canary",
        "percent": 10,
        "bake_time": 600,
        "termination_wait": 300,
        "rollback": {"max_error_rate": 0.02, "window": 300},
    }
    old = served["deployed"]["primary"]["id"]
    new = str(vertex.counter + 1)  # the id the fake hands the canary
    vertex.metrics.values[(ERRORS, new)] = 5
    vertex.metrics.values[(PREDICTIONS, new)] = 100
    with pytest.raises(RolloutFailed, match=r"error rate 5\.00% > 2\.00%"):
        DeploymentProvider().update("id", served, props([variant(version=2)], canary))
    assert splits(vertex) == [{new: 10, old: 90}, {old: 100}]
    assert [m.id for m in vertex.endpoints[ENDPOINT].deployed_models] == [old]
    assert vertex.pauses == [60]  # the first check after a minute caught it
    request = vertex.metrics.requests[0]
    assert request.name == "projects/p-123456" and f'deployed_model_id = "{new}"' in request.filter


def test_a_weight_change_is_one_split_update_without_deploying(vertex):
    vertex.add_endpoint(ENDPOINT)
    provider = DeploymentProvider()
    before = provider.create(props([variant("a", weight=80), variant("b", weight=20)], {"type": "ab"})).outs
    vertex.requests.clear()
    outs = provider.update("id", before, props([variant("a", weight=50), variant("b", weight=50)], {"type": "ab"})).outs
    assert not vertex.sent("deploy_model") and not vertex.sent("undeploy_model")
    assert splits(vertex) == [{outs["deployed"]["a"]["id"]: 50, outs["deployed"]["b"]["id"]: 50}]


def test_create_after_a_partial_failure_deploys_only_what_is_missing(vertex):
    from google.api_core.exceptions import ServiceUnavailable

    vertex.add_endpoint(ENDPOINT)
    provider = DeploymentProvider()
    ab = props([variant("a", weight=80), variant("b", weight=20)], {"type": "ab"})
    vertex.fail["update_endpoint"] = ServiceUnavailable("try again")
    with pytest.raises(ServiceUnavailable):
        provider.create(ab)
    provider.create(ab)
    assert len(vertex.sent("deploy_model")) == 2
    assert sorted(vertex.endpoints[ENDPOINT].traffic_split.values()) == [20, 80]


def test_delete_undeploys_and_tolerates_what_is_gone(vertex, served):
    provider = DeploymentProvider()
    provider.delete("id", served)
    assert not vertex.endpoints[ENDPOINT].deployed_models
    provider.delete("id", served)
    del vertex.endpoints[ENDPOINT]
    provider.delete("id", served)


def test_diff_replaces_only_for_another_endpoint():
    provider = DeploymentProvider()
    old = props([variant()])
    assert provider.diff("id", old, props([variant(version=2)])).replaces == []
    assert provider.diff("id", old, {**old, "endpoint": ENDPOINT + "0"}).replaces == ["endpoint"]


@st.composite
def rollouts(draw):
    count = draw(st.integers(1, 4))
    cuts = sorted(draw(st.lists(st.integers(0, 100), min_size=count - 1, max_size=count - 1)))
    weights = [b - a for a, b in zip([0, *cuts], [*cuts, 100], strict=True)]
    names = [f"v{i}" for i in range(count)]
    moving = draw(st.lists(st.sampled_from(names), unique=True))
    moves = {n: Move(None if draw(st.booleans()) else f"old-{n}", f"new-{n}") for n in moving}
    kept = {n: f"id-{n}" for n in names if n not in moves}
    return dict(zip(names, weights, strict=True)), moves, kept


@given(rollouts(), st.sampled_from(["all_at_once", "blue_green", "canary", "linear"]), st.integers(1, 99))
def test_every_split_of_a_rollout_sums_to_100(rollout, kind, percent):
    weights, moves, kept = rollout
    strategy = {"type": kind, "percent": percent, "bake_time": 1, "step_percent": percent, "interval": 1}
    for stage in stages(strategy):
        split = split_at(weights, moves, kept, stage.percent)
        assert sum(split.values()) == 100
        assert all(share >= 0 for share in split.values())
    final = split_at(weights, moves, kept, stages(strategy)[-1].percent)
    assert all(final.get(m.old, 0) == 0 for m in moves.values() if m.old)
