"""The local Pulumi backend: its resources under Pulumi's mocks, and its dynamic provider's
create/diff/update/delete against a real emulator."""

from __future__ import annotations

import shutil

import pytest

from mlstack.backends.local import EmulatorProvider
from mlstack.errors import MlstackError
from mlstack.plan import plan
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


def test_each_object_waits_for_every_object_of_the_kinds_before_its_own(monkeypatch):
    """Objects depend on the last earlier kind's objects only (the full product made Pulumi's cycle
    check quadratic); through those, on every earlier kind, so applies and deletes keep the order."""
    from pulumi.runtime import mocks, rpc

    from mlstack.emulator.desired import KINDS

    registered: dict[str, tuple[str, set[str]]] = {}  # urn -> (kind, direct dependencies)
    register = mocks.MockMonitor.RegisterResource

    def recording(self, request):
        response = register(self, request)
        if request.type == DYNAMIC:
            kind = rpc.deserialize_properties(request.object)["kind"]
            registered[response.urn] = (kind, set(request.dependencies))
        return response

    monkeypatch.setattr(mocks.MockMonitor, "RegisterResource", recording)
    plan(resolve(load("specs/fraud-detection.yaml", target="local")))

    def closure(urn: str) -> set[str]:
        seen, todo = set(), [urn]
        while todo:
            for dep in registered[todo.pop()][1] - seen:
                seen.add(dep)
                todo.append(dep)
        return seen

    kinds = {kind for kind, _ in registered.values()}
    assert len(kinds) >= 5  # groups, versions, entities, views, pipelines, endpoints, monitors here
    for urn, (kind, _) in registered.items():
        earlier = {u for u, (k, _) in registered.items() if KINDS.index(k) < KINDS.index(kind)}
        assert closure(urn) == earlier, kind
