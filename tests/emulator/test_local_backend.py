"""The local Pulumi backend: its resources under Pulumi's mocks, and its dynamic provider's
create/diff/update/delete against a real emulator."""

from __future__ import annotations

import shutil

import pytest

from mlstack.backends.local import EmulatorProvider
from mlstack.errors import MlstackError
from mlstack.plan import plan
from mlstack.plan_monitor import PlanMonitor
from mlstack.resolve import resolve
from mlstack.spec import load

DYNAMIC = "pulumi-python:dynamic/local:EmulatorResource"


def test_the_quickstart_plans_offline_as_components_with_emulator_resources(quickstart):
    resources = {(r.type, r.name): r for r in plan(resolve(load(quickstart, target="local")))}
    assert set(resources) == {
        ("mlstack:model_group:ModelGroup", "iris-classifier"),
        ("mlstack:pipeline:Pipeline", "train-iris"),
        ("mlstack:endpoint:Endpoint", "iris"),
        (DYNAMIC, "iris-classifier"),
        (DYNAMIC, "train-iris"),
        (DYNAMIC, "iris"),
    }
    endpoint = next(r for (t, n), r in resources.items() if t == DYNAMIC and n == "iris")
    assert endpoint.parent == "mlstack:endpoint:Endpoint::iris"
    assert endpoint.inputs["kind"] == "endpoint"
    assert endpoint.inputs["state_dir"] == str((quickstart.parent / ".mlstack").resolve())
    assert endpoint.inputs["port"] == 0
    assert endpoint.inputs["config"]["variants"] == [
        {"name": "primary", "model": {"group": "iris-classifier", "alias": "champion"}, "weight": 100}
    ]
    pipeline = next(r for (t, n), r in resources.items() if t == DYNAMIC and n == "train-iris")
    steps = pipeline.inputs["config"]["steps"]
    assert [s["name"] for s in steps] == ["train", "evaluate", "register"]
    assert steps[0]["entrypoint"] == str((quickstart.parent / "quickstart" / "train.py").resolve())
    assert steps[1]["depends_on"] == ["train"]


def test_the_provider_creates_updates_and_deletes_through_the_control_plane(emulator):
    provider = EmulatorProvider()
    props = {
        "kind": "model_group",
        "name": "fraud",
        "config": {"name": "fraud", "approval": "manual", "description": "v1", "tags": {}},
        "state_dir": str(emulator.state.root),
        "port": 0,
    }
    created = provider.create(props)
    assert created.id == "model_group/fraud"
    assert created.outs["status"] == "ready"
    assert emulator.client.get("/v1/registry/groups") == [
        {"name": "fraud", "approval": "manual", "description": "v1", "tags": {}}
    ]

    changed = {**props, "config": {**props["config"], "description": "v2"}}
    diff = provider.diff(created.id, created.outs, changed)
    assert diff.changes and not diff.replaces
    assert not provider.diff(created.id, created.outs, {**props}).changes
    assert provider.diff(created.id, created.outs, {**props, "name": "fraud2"}).replaces == ["name"]
    provider.update(created.id, created.outs, changed)
    assert emulator.client.get("/v1/registry/groups")[0]["description"] == "v2"

    provider.delete(created.id, changed)
    assert emulator.client.get("/v1/registry/groups") == []
    provider.delete(created.id, changed)  # deleting what is gone succeeds
    with pytest.raises(MlstackError, match="unknown resource kind"):
        provider.create({**props, "kind": "gadget"})


def test_delete_after_down_is_a_no_op(tmp_path):
    provider = EmulatorProvider()
    state = tmp_path / ".mlstack"
    state.mkdir()
    shutil.rmtree(state)
    provider.delete("model_group/x", {"kind": "model_group", "name": "x", "state_dir": str(state), "port": 0})
    assert not state.exists()  # and no emulator was started for it


def test_planning_reads_no_data_files(tmp_path):
    from tests.emulator.conftest import pipeline_spec, write_spec

    spec = write_spec(
        tmp_path, pipeline_spec().replace("schedule: null", "schedule: null\n            data: later.csv")
    )
    resources = plan(resolve(load(spec, target="local")))
    (pipeline,) = [r for r in resources if r.type == DYNAMIC and r.name == "train"]
    assert pipeline.inputs["config"]["data"] == str((tmp_path / "later.csv").resolve())


def test_each_object_waits_for_the_objects_its_config_names(monkeypatch):
    """Each object depends on the earlier objects it refers to, and only those (depending on whole
    earlier kinds made Pulumi's cycle check a product of their sizes): Pulumi applies what an object
    names before it and deletes it first; a model version answers to its group's name too, since an
    endpoint deploying a group's alias deploys whichever version holds it."""
    from pulumi.runtime import rpc

    registered: dict[str, set[str]] = {}  # urn -> direct dependencies
    names: dict[str, str] = {}  # urn -> the object's name
    register = PlanMonitor.RegisterResource

    def recording(self, request):
        response = register(self, request)
        if request.type == DYNAMIC:
            props = rpc.deserialize_properties(request.object)
            registered[response.urn] = set(request.dependencies)
            names[response.urn] = props["name"]
        return response

    monkeypatch.setattr(PlanMonitor, "RegisterResource", recording)
    plan(resolve(load("specs/fraud-detection.yaml", target="local")))

    def closure(urn: str) -> set[str]:
        seen, todo = set(), [urn]
        while todo:
            for dep in registered[todo.pop()] - seen:
                seen.add(dep)
                todo.append(dep)
        return seen

    def depends(name: str) -> set[str]:
        (urn,) = (u for u, n in names.items() if n == name)
        return {names[d] for d in registered[urn]}

    versions = {"fraud-model:v3", "fraud-model:v4"}
    assert depends("fraud-model") == set()
    assert depends("fraud-model:v4") == {"fraud-model"}
    assert depends("customer-txn-stats") == {"customer"}
    # the pipeline: its feature views and the group it registers in (the endpoint it deploys to and the
    # monitor it answers are applied after it; it refers to them only when it runs)
    assert depends("train-fraud") == {"customer-txn-stats", "merchant-risk", "fraud-model"} | versions
    # an endpoint: the group it deploys, the group's versions and the pipeline that registers new ones
    assert depends("fraud-scorer") == {"fraud-model", "train-fraud"} | versions
    assert depends("fraud-ab") == {"fraud-model", "fraud-rules-model", "fraud-rules-model:v1", "train-fraud"} | versions
    assert depends("feature-drift") == {"fraud-scorer", "train-fraud"}
    assert depends("score-drift") == {"fraud-scorer"}
    # and through those, what they refer to: the monitor's endpoint is up with its models first
    (drift,) = (u for u, n in names.items() if n == "score-drift")
    assert {names[u] for u in closure(drift)} == {
        "fraud-scorer", "train-fraud", "fraud-model", "customer-txn-stats", "merchant-risk", "customer", "merchant"
    } | versions
