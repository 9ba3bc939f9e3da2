"""Experiment tracking planned on each cloud's own service, offline: SageMaker managed MLflow (the server,
its role, the pipeline role's grant and the steps' MLflow variables, checked against SageMaker's service
model), Vertex AI Experiments (the code tasks' environment, in KFP's own PipelineSpec message), and the
spec's `tracking: {enabled: false}` turning it all off."""

from __future__ import annotations

import json
import re

import botocore.session
import pytest
from google.protobuf import json_format
from kfp.pipeline_spec import pipeline_spec_pb2

from mlstack.plan import plan
from mlstack.resolve import resolve
from mlstack.runtime import tracking
from mlstack.spec import loads
from tests.backends.aws import aws_requests
from tests.backends.aws.aws_plans import PIPELINE, ROLE, ROLE_POLICY, SPECS, TRACKING_SERVER, Plan

FRAUD = SPECS / "fraud-detection.yaml"
CODE_STEPS = {"validate-data", "build-features", "train", "evaluate"}
OFF = "tracking: {enabled: false}\n"


def fraud(target: str, extra: str = "", env: str | None = None) -> Plan:
    text = FRAUD.read_text() + extra
    return Plan(tuple(plan(resolve(loads(text, file=str(FRAUD), env=env, target=target)))))


def sagemaker_steps(found: Plan) -> dict[str, dict]:
    definition = json.loads(found.inputs(PIPELINE, "train-fraud")["pipelineDefinition"])
    flat = []
    for step in definition["Steps"]:
        flat.append(step)
        if step["Type"] == "Condition":
            flat += step["Arguments"]["IfSteps"] + step["Arguments"]["ElseSteps"]
    return {s["Name"]: s for s in flat}


def test_aws_plans_a_managed_mlflow_server_the_steps_log_to():
    found = fraud("aws", "tracking: {server_size: medium}\n")
    server = found.inputs(TRACKING_SERVER)
    request = aws_requests.validate("sagemaker", "CreateMlflowTrackingServer", aws_requests.tracking_server(server))
    assert request["TrackingServerSize"] == "Medium" and request["AutomaticModelRegistration"] is False
    assert request["ArtifactStoreUri"] == "s3://mlstack-fraud-detection-123456789012-us-east-1/mlflow/"
    role = found.inputs(ROLE, "tracking-role")
    assert server["roleArn"].endswith(f":role/{role['name']}")
    assert "sagemaker.amazonaws.com" in role["assumeRolePolicy"]
    own = json.loads(found.inputs(ROLE_POLICY, "fraud-detection-tracking-policy")["policy"])["Statement"]
    assert {r for s in own for r in s["Resource"]} == {
        "arn:aws:s3:::mlstack-fraud-detection-123456789012-us-east-1/mlflow/*",
        "arn:aws:s3:::mlstack-fraud-detection-123456789012-us-east-1",
    }

    arn = "arn:aws:sagemaker:us-east-1:123456789012:mlflow-tracking-server/fraud-detection-mlflow"
    shape = botocore.session.get_session().get_service_model("sagemaker").shape_for("TrackingServerArn")
    assert re.fullmatch(shape.metadata["pattern"], arn)
    grants = json.loads(found.inputs(ROLE_POLICY, "pipeline-train-fraud-policy")["policy"])["Statement"]
    (logging,) = [s for s in grants if any(a.startswith("sagemaker-mlflow:") for a in s["Action"])]
    assert logging["Resource"] == [arn] and {"sagemaker-mlflow:CreateRun", "sagemaker-mlflow:LogBatch"} <= set(
        logging["Action"]
    )

    for name, step in sagemaker_steps(found).items():
        env = step["Arguments"].get("Environment", {})
        if name in CODE_STEPS:
            assert env["MLFLOW_TRACKING_URI"] == arn and env["MLFLOW_EXPERIMENT_NAME"] == "train-fraud"
            aws_requests.validate("sagemaker", *aws_requests.step_request(step))
        else:
            assert "MLFLOW_TRACKING_URI" not in env


def test_a_developers_copy_tracks_into_its_own_server_and_experiment(monkeypatch):
    monkeypatch.setenv("MLSTACK_USER", "alice")
    text = FRAUD.read_text().replace("environments:\n", "environments:\n  mine: {mode: development}\n", 1)
    found = Plan(tuple(plan(resolve(loads(text, file=str(FRAUD), env="mine", target="aws")))))
    name = found.inputs(TRACKING_SERVER)["trackingServerName"]
    assert name.startswith("alice-")
    env = sagemaker_steps(found)["train"]["Arguments"]["Environment"]
    assert env["MLFLOW_TRACKING_URI"].endswith(f"/{name}") and env["MLFLOW_EXPERIMENT_NAME"].startswith("alice-")


def test_tracking_off_plans_no_server_grant_or_variables_on_aws():
    found = fraud("aws", OFF)
    assert found.all(TRACKING_SERVER) == [] and "tracking-role" not in {r.name for r in found.all(ROLE)}
    assert "sagemaker-mlflow:" not in found.inputs(ROLE_POLICY, "pipeline-train-fraud-policy")["policy"]
    assert all("MLFLOW_TRACKING_URI" not in s["Arguments"].get("Environment", {}) for s in sagemaker_steps(found).values())


def vertex_executors(found: Plan) -> dict[str, dict]:
    """The train pipeline's executors, from the spec its schedule submits, which KFP's own message accepts."""
    (schedule,) = [r for r in found.resources if r.name == "train-fraud-schedule"]
    spec = json.loads(schedule.inputs["createPipelineJobRequest"]["pipelineJob"]["pipelineSpec"])
    json_format.ParseDict(spec, pipeline_spec_pb2.PipelineSpec())  # raises on a field KFP does not know
    executors = spec["deploymentSpec"]["executors"]
    container = pipeline_spec_pb2.PipelineDeploymentConfig.PipelineContainerSpec
    for executor in executors.values():  # the deployment spec is a Struct: check each container by its message
        json_format.ParseDict(executor["container"], container())
    return executors


@pytest.mark.parametrize("extra", ["", OFF])
def test_vertex_code_tasks_name_the_pipelines_experiment(extra):
    found = fraud("gcp", extra)
    for name, executor in vertex_executors(found).items():
        env = {e["name"]: e["value"] for e in executor["container"].get("env", [])}
        if name.removeprefix("exec-") in CODE_STEPS and not extra:
            assert env == {
                tracking.VERTEX_EXPERIMENT: "fraud-detection-train-fraud",
                tracking.VERTEX_PROJECT: "fraud-platform-prod",
                tracking.VERTEX_REGION: "us-central1",
            }
            assert re.fullmatch(r"[a-z0-9][a-z0-9-]{0,127}", env[tracking.VERTEX_EXPERIMENT])  # Vertex's rule
        else:
            assert env == {}
