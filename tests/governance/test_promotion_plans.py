"""Promotion on the clouds, planned offline: AWS records the group's policy on the model package group,
starts each registered version in the first stage (ModelLifeCycle) and, in a later stage's environment,
registers it pending approval and deploys only packages promoted to that stage; every request checked
against SageMaker's service model."""

from __future__ import annotations

import json
import re

import pytest

from mlstack.plan import plan
from mlstack.resolve import resolve
from mlstack.spec import loads
from tests.backends.aws import aws_requests
from tests.backends.aws.aws_plans import PACKAGE_GROUP, PIPELINE, SPECS, Plan

FRAUD = SPECS / "fraud-detection.yaml"
POLICY = """      approval: manual
      promotion:
        stages: [dev, prod]
        approvers: {prod: 2}
"""


def promoted_fraud(env: str | None, target: str = "aws") -> Plan:
    text = FRAUD.read_text().replace("      approval: manual\n", POLICY, 1)
    return Plan(tuple(plan(resolve(loads(text, file=str(FRAUD), env=env, target=target)))))


def steps(found: Plan) -> dict[str, dict]:
    definition = json.loads(found.inputs(PIPELINE, "train-fraud")["pipelineDefinition"])
    return {s["Name"]: s for s in definition["Steps"] if s["Type"] != "Condition"} | {
        s["Name"]: s
        for c in definition["Steps"]
        if c["Type"] == "Condition"
        for s in c["Arguments"]["IfSteps"] + c["Arguments"]["ElseSteps"]
    }


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_aws_registers_into_the_first_stage_and_a_later_stage_deploys_only_promoted_packages(env):
    found = promoted_fraud(env)
    tags = found.inputs(PACKAGE_GROUP, "fraud-model")["tags"]
    assert tags["mlstack-promotion-stages"] == "dev/prod"
    assert tags["mlstack-promotion-approvers"] == "prod=2"
    by_name = steps(found)
    register = by_name["register"]["Arguments"]
    assert register["ModelLifeCycle"] == {"Stage": "dev", "StageStatus": "Registered"}
    assert register["ModelApprovalStatus"] == "PendingManualApproval"
    aws_requests.validate("sagemaker", *aws_requests.step_request(by_name["register"]))
    deploy = by_name["deploy"]["Arguments"]["AppSpecification"]["ContainerArguments"]
    if env == "prod":
        assert deploy[-2:] == ["--stage", "prod"]
    else:
        assert "--stage" not in deploy  # dev is where versions start: every version may deploy there


def test_without_a_policy_nothing_changes_on_aws():
    text = FRAUD.read_text()
    found = Plan(tuple(plan(resolve(loads(text, file=str(FRAUD), env="prod", target="aws")))))
    assert "mlstack-promotion-stages" not in found.inputs(PACKAGE_GROUP, "fraud-model")["tags"]
    assert "ModelLifeCycle" not in steps(found)["register"]["Arguments"]


def test_vertex_and_azure_carry_the_policy_on_the_model():
    from google.cloud import aiplatform_v1

    gcp = promoted_fraud("prod", "gcp")
    (version,) = [r for r in gcp.resources if r.name == "fraud-model-v3"]
    labels = version.inputs["labels"]
    assert labels["mlstack-promotion-stages"] == "dev_prod" and labels["mlstack-promotion-approvers"] == "prod_2"
    model = aiplatform_v1.Model(labels=labels)  # the message Vertex receives takes them as they are
    assert all(
        re.fullmatch(r"[a-z][a-z0-9_-]{0,62}", k) and re.fullmatch(r"[a-z0-9_-]{0,63}", v)
        for k, v in model.labels.items()
    )

    azure = promoted_fraud("prod", "azure")
    (container,) = [r for r in azure.resources if r.type.endswith(":ModelContainer") and r.name == "fraud-model"]
    tags = container.inputs["properties"]["tags"]
    assert tags["mlstack-promotion-stages"] == "dev/prod" and tags["mlstack-promotion-approvers"] == "prod=2"


def vertex_args(found: Plan, task: str) -> list[str]:
    (schedule,) = [r for r in found.resources if r.name == "train-fraud-schedule"]
    spec = json.loads(schedule.inputs["createPipelineJobRequest"]["pipelineJob"]["pipelineSpec"])
    return spec["deploymentSpec"]["executors"][f"exec-{task}"]["container"]["args"]


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_vertex_registers_into_the_first_stage_and_a_later_stage_deploys_only_promoted_versions(env):
    found = promoted_fraud(env, "gcp")
    assert "--stage=dev" in vertex_args(found, "register")
    deploy = vertex_args(found, "deploy")
    if env == "prod":
        assert deploy[-1] == "--stage=prod"
    else:
        assert not any(a.startswith("--stage") for a in deploy)  # every version may deploy where versions start
