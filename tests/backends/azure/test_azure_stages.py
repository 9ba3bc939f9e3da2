"""Promotion stages where the cloud has none: Azure ML versions carry the stage as a tag, and a later
stage's deploy step (mlstack.backends.azure.deploy_job, against the fake ARM server on 127.0.0.1) serves only
versions tagged with it; the plan passes the environment's stage to the step."""

from __future__ import annotations

import shlex

import pytest
from test_azure_deploy_job import _fast, azure, plan_args  # noqa: F401 - fixtures

from mlstack.backends.azure import deploy_job
from tests.governance.test_promotion_plans import promoted_fraud


def test_a_later_stage_serves_only_versions_tagged_with_it(azure, tmp_path):  # noqa: F811 - the fixture
    state, arm, args = azure
    state.versions = {
        "3": {"approval": "approved", "mlstack-stage": "prod"},
        "4": {"approval": "approved", "mlstack-stage": "dev"},
    }
    staged = [*_fast(args, tmp_path), "--stage", "prod"]
    (old,) = state.traffic
    assert deploy_job.main(staged, arm=arm) == 0
    assert state.traffic == {old: 100}  # v4 is approved but not promoted to prod: v3 keeps serving
    assert "serves fraud-model version 3" in (tmp_path / "out" / "deployed").read_text()

    state.versions["4"]["mlstack-stage"] = "prod"
    assert deploy_job.main(staged, arm=arm) == 0
    new = deploy_job.new_name("primary", 4)
    assert state.deployments[new]["properties"]["model"] == f"{state.model_id}/versions/4"


def test_an_untagged_version_serves_only_where_versions_start():
    versions = [{"name": "4", "properties": {"tags": {"approval": "approved"}}}]
    assert deploy_job.servable(versions, "manual", "prod") is None
    assert deploy_job.servable(versions, "manual") == 4


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_azure_plans_the_stage_only_in_a_later_stages_environment(env):
    found = promoted_fraud(env, "azure")
    (component,) = [
        r.inputs
        for r in found.resources
        if r.type.endswith(":ComponentVersion") and r.inputs["name"].endswith("_train_fraud_deploy")
    ]
    words = shlex.split(component["properties"]["componentSpec"]["command"])
    stages = [words[i + 1] for i, w in enumerate(words) if w == "--stage"]
    assert stages == (["prod"] if env == "prod" else [])
    assert words[-2] == "--output"
