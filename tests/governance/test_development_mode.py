"""Development mode: a per-user copy of the platform on every target. Names start with the user's
prefix (kept within each cloud's limits), schedules and monitors are paused, and review flags a
production deploy that is not in production mode."""

from __future__ import annotations

import pytest

from mlstack.errors import SpecInvalid
from mlstack.plan import plan
from mlstack.resolve import resolve
from mlstack.resolve.differences import differences
from mlstack.review.risks import assess
from mlstack.review.summary import summarise
from mlstack.spec import loads
from mlstack.spec.development import user_prefix
from tests.backends.aws.aws_plans import SPECS
from tests.review.conftest import resolved, small

FRAUD = SPECS / "fraud-detection.yaml"
# A development environment beside fraud-detection's dev and prod: Azure gets a workspace mlstack creates.
MINE = """environments:
  mine:
    mode: development
    target:
      azure:
        subscription_id: 00000000-1111-2222-3333-444444444444
        resource_group: rg-fraud-dev
        workspace: fraud-ml-dev
"""


def fraud(target: str, env: str | None):
    text = FRAUD.read_text().replace("environments:\n", MINE, 1)
    return resolve(loads(text, file=str(FRAUD), env=env, target=target))


def by_type(resources, suffix: str) -> list:
    return [r for r in resources if r.type.endswith(suffix)]


@pytest.fixture(autouse=True)
def user(monkeypatch):
    monkeypatch.setenv("MLSTACK_USER", "Alice.Smith@example.com")


@pytest.mark.parametrize(
    ("user", "prefix"),
    [("alice", "alice"), ("Alice.Smith@example.com", "alice-smith"), ("a" * 40, "a" * 16), ("42", None), ("", None)],
)
def test_user_prefixes_are_names(user, prefix):
    assert user_prefix(user) == prefix


def test_a_user_that_gives_no_name_is_a_located_error(monkeypatch):
    monkeypatch.setenv("MLSTACK_USER", "1234")
    text = FRAUD.read_text().replace("environments:\n", MINE, 1)
    with pytest.raises(SpecInvalid) as info:
        resolve(loads(text, file=str(FRAUD), env="mine", target="aws"))
    (error,) = info.value.errors
    assert error.path == ("environments", "mine", "mode") and error.line is not None
    assert "'1234' gives no name" in error.message and "MLSTACK_USER" in error.message


def test_aws_names_carry_the_user_and_schedules_are_disabled():
    resolved_ = fraud("aws", "mine")
    resources = plan(resolved_)
    endpoints = by_type(resources, "sagemaker/endpoint:Endpoint")
    assert endpoints and all(r.inputs["name"].startswith("alice-smith-") for r in endpoints)
    assert all(len(r.inputs["name"]) <= 63 for r in endpoints)
    groups = by_type(resources, "modelPackageGroup:ModelPackageGroup")
    assert {r.inputs["modelPackageGroupName"] for r in groups} >= {"alice-smith-fraud-model-mine"}
    assert all(r.inputs["tags"]["mlstack-user"] == "alice-smith" for r in groups)
    schedules = by_type(resources, "scheduler/schedule:Schedule")
    assert schedules and all(r.inputs["state"] == "DISABLED" for r in schedules)
    assert by_type(resources, "sagemaker/monitoringSchedule:MonitoringSchedule") == []
    gaps = [d for d in differences(resolved_) if d.capability == "development:paused-monitors"]
    assert len(gaps) == len(resolved_.spec.monitors) and "without its schedule" in gaps[0].message
    # The shared environment keeps its names and runs its schedules.
    prod = plan(fraud("aws", "prod"))
    assert all(not r.inputs["name"].startswith("alice") for r in by_type(prod, "sagemaker/endpoint:Endpoint"))
    assert all("state" not in r.inputs for r in by_type(prod, "scheduler/schedule:Schedule"))
    # its monitors are scheduled pipelines of mlstack's evaluator (Model Monitor only with target.aws.model_monitor)
    monitor_schedules = [
        r for r in by_type(prod, "scheduler/schedule:Schedule") if "monitor" in r.inputs["description"]
    ]
    assert len(monitor_schedules) == 4  # the four monitors of the flagship


def test_vertex_names_carry_the_user_and_schedules_and_monitoring_are_paused():
    resources = plan(fraud("gcp", "mine"))
    schedules = by_type(resources, "colab/schedule:Schedule")
    assert schedules and all(r.inputs["desiredState"] == "PAUSED" for r in schedules)
    assert all(r.inputs["displayName"].startswith("alice-smith-fraud-detection-mine") for r in schedules)
    jobs = [r for r in resources if r.name.endswith("-monitoring") and "paused" in r.inputs]
    assert jobs and all(r.inputs["paused"] is True for r in jobs)
    prod = plan(fraud("gcp", "prod"))
    assert all("desiredState" not in r.inputs for r in by_type(prod, "colab/schedule:Schedule"))


def test_azure_deploys_a_per_user_workspace_with_disabled_schedules():
    from azure.ai.ml.entities import Workspace

    resources = plan(fraud("azure", "mine"))
    (workspace,) = [r for r in by_type(resources, "machinelearningservices:Workspace") if r.name == "workspace"]
    name = workspace.inputs["workspaceName"]
    assert name == "alice-smith-fraud-ml-dev" and len(name) <= 33
    Workspace(name=name)  # azure-ai-ml's entity takes it
    schedules = by_type(resources, ":Schedule")
    assert schedules and all(r.inputs["properties"]["isEnabled"] is False for r in schedules)
    # the workspace-wide failed-run alert would report every job the developer runs and that fails
    (failed_runs,) = [r for r in by_type(resources, "monitor:MetricAlert") if r.name == "monitor-runs-failed"]
    assert failed_runs.inputs["enabled"] is False
    prod = plan(fraud("azure", "prod"))
    assert all(r.inputs["properties"]["isEnabled"] is True for r in by_type(prod, ":Schedule"))
    failed_runs = [r for r in by_type(prod, "monitor:MetricAlert") if r.name == "monitor-runs-failed"]
    assert [r.inputs["enabled"] for r in failed_runs] == [True]


def test_azure_refuses_a_development_copy_in_a_shared_workspace():
    from mlstack.spec.yaml_loader import parse
    from mlstack.validate import check

    text = FRAUD.read_text().replace("environments:\n", MINE, 1)
    text = text.replace(
        "        workspace: fraud-ml-dev\n", "        workspace: fraud-ml-dev\n        create_workspace: false\n", 1
    )
    report = check(parse(text, str(FRAUD)), env="mine", target="azure")
    (error,) = [e for e in report.errors if e.path == ("environments", "mine", "mode")]
    assert "per-user workspace (alice-smith-fraud-ml-dev)" in error.message


def test_review_flags_production_not_in_production_mode():
    base, head = small(), small()
    base["environments"]["prod"]["mode"] = "production"
    head["environments"]["prod"]["mode"] = "development"
    b, h = resolved(base, "prod"), resolved(head, "prod")
    risks = [(r.severity, r.rule, r.message) for r in assess(b, h, [], [], summarise(b, h, "prod"), [])]
    assert (
        "high",
        "mode",
        "production (prod) deploys in development mode: a copy named for alice-smith, with its schedules and "
        "monitors paused; set `mode: production`",
    ) in risks
    del head["environments"]["prod"]["mode"]
    h = resolved(head, "prod")
    risks = [(r.severity, r.rule, r.message) for r in assess(b, h, [], [], summarise(b, h, "prod"), [])]
    assert ("medium", "mode", "production (prod) is no longer marked `mode: production`") in risks
    kept = resolved(base, "prod")
    assert [r for r in assess(b, kept, [], [], summarise(b, kept, "prod"), []) if r.rule == "mode"] == []


def test_the_emulator_pauses_a_development_copys_schedules(emulator, tmp_path):
    import textwrap

    from tests.emulator.conftest import pipeline_spec, write_spec
    from tests.governance.conftest import apply_env

    text = textwrap.dedent(pipeline_spec(schedule='"0 3 * * *"'))
    spec = write_spec(tmp_path, text + "environments:\n  mine: {mode: development}\n  shared: {}\n")
    apply_env(emulator, tmp_path, spec.read_text(), "mine")
    assert emulator.client.get("/v1/status")["schedules"] == []
    pipeline = emulator.client.get("/v1/resources/pipeline/train")
    assert pipeline["message"] == "schedule 0 3 * * * (UTC) paused: development mode"
    apply_env(emulator, tmp_path, spec.read_text(), "shared")
    assert [s["job"] for s in emulator.client.get("/v1/status")["schedules"]] == ["pipeline/train"]
