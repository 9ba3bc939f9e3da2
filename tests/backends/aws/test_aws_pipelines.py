"""The SageMaker pipeline definition rendered from templates/sagemaker/pipeline.json.j2: parsed back,
every reference resolved, every step's arguments valid for the API call SageMaker makes with them."""

from __future__ import annotations

import json
import re
from typing import Any

import aws_requests
import botocore.session
import pytest
from aws_plans import KEY, PIPELINE, SCHEDULE, fraud, plan_text, spec_text

from mlstack.backends.aws import job_compute
from mlstack.catalog import get_catalog

EXECUTION_VARIABLES = {"Execution.PipelineExecutionId", "Execution.PipelineName"}
STEP_REFERENCE = re.compile(r"Steps\.(?P<step>[^.]+)\.(?P<path>.+)")
OUTPUT = re.compile(r"ProcessingOutputConfig\.Outputs\['(?P<name>[^']+)'\]\.S3Output\.S3Uri")


def definition(plan, name: str | None = None) -> dict[str, Any]:
    """The named pipeline's definition, or the one pipeline a spec declares (monitors have their own)."""
    if name is None:
        (found,) = [r for r in plan.all(PIPELINE) if not r.parent.startswith("mlstack:monitor:")]
        return json.loads(found.inputs["pipelineDefinition"])
    return json.loads(plan.inputs(PIPELINE, name)["pipelineDefinition"])


def all_steps(steps: list[dict], enclosing: tuple[str, ...] = ()) -> dict[str, tuple[dict, tuple[str, ...]]]:
    """Every step by name, with the condition steps it sits inside."""
    found = {}
    for step in steps:
        assert step["Name"] not in found, f"duplicate step {step['Name']}"
        found[step["Name"]] = (step, enclosing)
        if step["Type"] == "Condition":
            for branch in ("IfSteps", "ElseSteps"):
                found.update(all_steps(step["Arguments"][branch], (*enclosing, step["Name"])))
    return found


def expressions(value: Any) -> list[str]:
    if isinstance(value, dict):
        found = [value["Get"]] if isinstance(value.get("Get"), str) else []
        return found + [e for v in value.values() for e in expressions(v)]
    if isinstance(value, list):
        return [e for v in value for e in expressions(v)]
    return []


def check_references(document: dict[str, Any]) -> int:
    """Assert every Get, DependsOn and property file resolves, to a step that runs before the reader;
    returns how many references were checked."""
    steps = all_steps(document["Steps"])
    parameters = {p["Name"] for p in document["Parameters"]}

    def before(name: str) -> set[str]:
        step, enclosing = steps[name]
        found: set[str] = set()
        todo = list(step.get("DependsOn", [])) + list(enclosing)
        while todo:
            other = todo.pop()
            if other not in found:
                found.add(other)
                todo += steps[other][0].get("DependsOn", []) + list(steps[other][1])
        return found

    checked = 0
    for name, (step, _) in steps.items():
        for dependency in step.get("DependsOn", []):
            assert dependency in steps, f"{name} depends on missing step {dependency}"
            checked += 1
        # A condition's own references are its conditions; its branches' steps are checked as steps.
        arguments = {"c": step["Arguments"]["Conditions"]} if step["Type"] == "Condition" else step.get("Arguments", {})
        for reference in expressions(arguments):
            checked += 1
            if reference.startswith("Parameters."):
                assert reference.removeprefix("Parameters.") in parameters, f"{name}: {reference}"
                continue
            if reference.startswith("Execution."):
                assert reference in EXECUTION_VARIABLES, f"{name}: {reference}"
                continue
            match = STEP_REFERENCE.fullmatch(reference)
            assert match, f"{name}: unknown reference {reference}"
            source_name, path = match["step"], match["path"]
            assert source_name in steps, f"{name} refers to missing step {source_name}"
            assert source_name in before(name), f"{name} reads {source_name}, which need not have run"
            source = steps[source_name][0]
            if output := OUTPUT.fullmatch(path):
                outputs = source["Arguments"]["ProcessingOutputConfig"]["Outputs"]
                assert output["name"] in {o["OutputName"] for o in outputs}, f"{name}: {reference}"
            elif path.startswith("PropertyFiles."):
                files = {p["PropertyFileName"] for p in source.get("PropertyFiles", [])}
                assert path.removeprefix("PropertyFiles.") in files, f"{name}: {reference}"
            elif path == "ModelArtifacts.S3ModelArtifacts":
                assert source["Type"] == "Training", f"{name}: {reference}"
            elif path == "ModelPackageArn":
                assert source["Type"] == "RegisterModel", f"{name}: {reference}"
            else:
                pytest.fail(f"{name}: unchecked reference {reference}")
    return checked


RUNTIME_REPOSITORY = "123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud-detection-mlstack"


def test_fraud_pipeline_shape():
    document = definition(fraud())
    assert document["Version"] == "2020-12-01"
    top = [(s["Name"], s["Type"], s.get("DependsOn")) for s in document["Steps"]]
    assert top == [
        ("validate-data", "Processing", None),
        ("build-features", "Processing", ["validate-data"]),
        ("train", "Training", ["build-features"]),
        ("evaluate", "Processing", ["train"]),
        ("evaluate-gates", "Condition", ["evaluate"]),
    ]
    gates = document["Steps"][4]["Arguments"]
    report = {"Get": "Steps.evaluate.PropertyFiles.EvaluationReport"}
    auc = {"Std:JsonGet": {"PropertyFile": report, "Path": "auc"}}  # the flat metrics.json of every target
    assert gates["Conditions"] == [
        {"Type": "GreaterThanOrEqualTo", "LeftValue": auc, "RightValue": 0.9},
        {"Type": "GreaterThanOrEqualTo", "LeftValue": auc, "RightValue": {"Get": "Parameters.champion_auc"}},
    ]
    assert [(s["Name"], s["Type"]) for s in gates["IfSteps"]] == [
        ("register", "RegisterModel"),
        ("deploy", "Processing"),
    ]
    assert gates["ElseSteps"] == [
        {
            "Name": "evaluate-gates-failed",
            "Type": "Fail",
            "Arguments": {"ErrorMessage": "evaluate: quality gates not met (auc >= 0.9; auc >= champion_auc)"},
        }
    ]
    assert document["Parameters"] == [
        {"Name": "learning_rate", "Type": "Float", "DefaultValue": 0.05},
        {"Name": "max_depth", "Type": "Integer", "DefaultValue": 6},
        {"Name": "MlstackTrigger", "Type": "String", "DefaultValue": "manual"},
        # the champion's declared auc (0.941) less the gate's tolerance (0.002)
        {"Name": "champion_auc", "Type": "Float", "DefaultValue": 0.939},
    ]
    assert check_references(document) >= 20


def test_fraud_steps():
    steps = all_steps(definition(fraud())["Steps"])
    # image_registry + fraud-train:1.4.0 with mlstack's step adapter added, pushed to the stack's repository
    image = RUNTIME_REPOSITORY + ":step-"
    validate = steps["validate-data"][0]["Arguments"]
    assert validate["AppSpecification"]["ImageUri"].startswith(image)
    assert validate["AppSpecification"]["ContainerEntrypoint"] == [
        *("python3", "-m", "mlstack.runtime.step", "fraud/validate.py", "--kind", "data_validation"),
        *("--pipeline", "train-fraud", "--step", "validate-data", "--output", "/opt/ml/processing/output"),
    ]
    assert validate["AppSpecification"]["ContainerArguments"][:2] == ["--data", "/opt/ml/processing/input/data"]
    # cpu-small (2 vCPU, 4 GiB) resolves to ml.c5.large for serving, which processing jobs refuse
    assert validate["ProcessingResources"]["ClusterConfig"]["InstanceType"] == "ml.m5.large"
    assert validate["Environment"]["MLSTACK_FEATURE_GROUPS"] == "customer-txn-stats,merchant-risk"
    train = steps["train"][0]["Arguments"]
    assert train["AlgorithmSpecification"]["TrainingImage"] == validate["AppSpecification"]["ImageUri"]
    assert train["AlgorithmSpecification"]["ContainerEntrypoint"][-6:] == [
        *("--hyperparameters", "/opt/ml/input/config/hyperparameters.json"),
        *("--input", "build-features=/opt/ml/input/data/build-features", "--data", "/opt/ml/input/data/data"),
    ]
    assert train["ResourceConfig"]["InstanceType"] == "ml.g5.xlarge"  # gpu-inference: the A10G (smallest while unpriced)
    assert train["StoppingCondition"] == {"MaxRuntimeInSeconds": 7200}
    assert train["HyperParameters"]["max_depth"] == {
        "Std:Join": {"On": "", "Values": [{"Get": "Parameters.max_depth"}]}
    }
    assert train["InputDataConfig"][0]["ChannelName"] == "build-features"
    register = steps["register"][0]["Arguments"]
    assert register["ModelPackageGroupName"] == "fraud-model"
    assert register["ModelApprovalStatus"] == "PendingManualApproval"  # the group's approval is manual
    assert register["InferenceSpecification"]["Containers"] == [
        {
            "Image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
            "ModelDataUrl": {"Get": "Steps.train.ModelArtifacts.S3ModelArtifacts"},
        }
    ]
    lineage = register["CustomerMetadataProperties"]
    assert lineage == {
        "mlstack:aliases": "challenger",
        "mlstack:pipeline": "train-fraud",
        "mlstack:execution": {"Get": "Execution.PipelineExecutionId"},
        "mlstack:training-image": train["AlgorithmSpecification"]["TrainingImage"],
        "mlstack:data": "s3://fraud-platform-data/fraud/transactions.csv",
        "mlstack:feature-views": "customer-txn-stats merchant-risk",
    }
    # Within the API's limits, by botocore's own model of CreateModelPackage (the Get resolves to an id).
    shape = botocore.session.get_session().get_service_model("sagemaker").shape_for("CustomerMetadataMap")
    assert len(lineage) <= shape.metadata["max"]
    for key, value in lineage.items():
        for text, limits in ((key, shape.key.metadata), (value, shape.value.metadata)):
            if isinstance(text, str):
                assert limits["min"] <= len(text) <= limits["max"]
                assert re.fullmatch(r"[\w\s.:/=+\-@]*", text), text  # the pattern's \p{L}\p{Z}\p{N}_.:/=+-@
    deploy = steps["deploy"][0]["Arguments"]["AppSpecification"]
    assert deploy["ImageUri"].startswith(RUNTIME_REPOSITORY + ":runtime-")  # built by the stack, tagged by content
    assert deploy["ContainerArguments"] == [
        "--endpoint",
        "fraud-scorer",
        "--model-package",
        {"Get": "Steps.register.ModelPackageArn"},
    ]
    assert steps["deploy"][0]["Arguments"]["ProcessingResources"]["ClusterConfig"]["InstanceType"] == "ml.t3.medium"


def test_schedule_and_trigger_parameters_exist_in_the_definition():
    plan = fraud()
    parameters = {p["Name"] for p in definition(plan)["Parameters"]}
    (schedule,) = [r for r in plan.all(SCHEDULE) if not r.parent.startswith("mlstack:monitor:")]
    passed = schedule.inputs["target"]["sagemakerPipelineParameters"]["pipelineParameters"]
    assert {p["name"] for p in passed} <= parameters


@pytest.mark.parametrize("env", [None, "dev", "prod"])
def test_every_step_is_a_valid_api_request(env):
    steps = all_steps(definition(fraud(env))["Steps"])
    checked = 0
    for step, _ in steps.values():
        if step["Type"] in aws_requests.STEP_OPERATIONS:
            operation, request = aws_requests.step_request(step)
            aws_requests.validate("sagemaker", operation, request)
            checked += 1
    assert checked == 6


GATED = """\
pipelines:
  - name: fit
    image: 111122223333.dkr.ecr.us-east-1.amazonaws.com/fit:2
    data: s3://data/fit/
    steps:
      - name: train
        kind: training
        entrypoint: fit.train:main
      - name: offline-eval
        kind: evaluation
        entrypoint: eval.py
        gates:
          - {{metric: rmse, beat_champion: true, tolerance: 0.5}}
          - {{metric: {second_metric}, max: 4}}
      - name: shadow-eval
        kind: evaluation
        entrypoint: shadow.py
        gates:
          - {{metric: mae, max: 3}}
      - name: register
        kind: registration
        model_group: ranker
        depends_on: [train, shadow-eval]
"""


def test_nested_gates_lower_is_better_champion_and_module_entrypoints():
    text = spec_text(rest=GATED.format(second_metric="mae")).replace(
        "aliases: [champion]\n          metrics:\n            auc: 0.9",
        "aliases: [champion]\n          metrics:\n            rmse: 2.0",
    )
    document = definition(plan_text(text))
    assert check_references(document) > 0
    top = document["Steps"]
    assert [s["Name"] for s in top] == ["train", "offline-eval", "offline-eval-gates"]
    first = top[2]["Arguments"]
    assert first["Conditions"][0]["Type"] == "LessThanOrEqualTo"  # rmse: lower is better
    assert first["Conditions"][0]["RightValue"] == {"Get": "Parameters.champion_rmse"}
    assert {"Name": "champion_rmse", "Type": "Float", "DefaultValue": 2.5} in document["Parameters"]
    assert [s["Name"] for s in first["IfSteps"]] == ["shadow-eval", "shadow-eval-gates"]
    assert [s["Name"] for s in first["IfSteps"][1]["Arguments"]["IfSteps"]] == ["register"]
    train = top[0]["Arguments"]
    assert train["AlgorithmSpecification"]["ContainerEntrypoint"][:4] == [
        *("python3", "-m", "mlstack.runtime.step", "fit.train:main")
    ]
    assert train["InputDataConfig"] == [
        {
            "ChannelName": "data",
            "DataSource": {
                "S3DataSource": {
                    "S3DataType": "S3Prefix",
                    "S3Uri": "s3://data/fit/",
                    "S3DataDistributionType": "FullyReplicated",
                }
            },
        }
    ]
    register = first["IfSteps"][1]["Arguments"]["IfSteps"][0]["Arguments"]
    assert register["ModelApprovalStatus"] == "PendingManualApproval"
    assert register["ModelMetrics"]["ModelQuality"]["Statistics"]["S3Uri"] == {
        "Std:Join": {
            "On": "/",
            "Values": [
                {"Get": "Steps.shadow-eval.ProcessingOutputConfig.Outputs['evaluation'].S3Output.S3Uri"},
                "metrics.json",
            ],
        }
    }


def test_no_champion_value_means_no_champion_condition():
    document = definition(plan_text(spec_text(rest=GATED.format(second_metric="mae"))))  # champion has only auc
    conditions = document["Steps"][2]["Arguments"]["Conditions"]
    assert conditions == [
        {
            "Type": "LessThanOrEqualTo",
            "LeftValue": {
                "Std:JsonGet": {
                    "PropertyFile": {"Get": "Steps.offline-eval.PropertyFiles.EvaluationReport"},
                    "Path": "mae",
                }
            },
            "RightValue": 4,
        }
    ]
    assert not [p for p in document["Parameters"] if p["Name"].startswith("champion_")]


def test_key_and_network_reach_every_job():
    network = "  network:\n    vpc: vpc-1\n    subnets: [subnet-1, subnet-2]\n    security_groups: [sg-1]\n"
    text = spec_text(rest=GATED.format(second_metric="mae"), target_extra=f"  kms_key: {KEY}\n")
    text = text.replace("  aws:\n", network + "  aws:\n", 1)
    steps = all_steps(definition(plan_text(text))["Steps"])
    train = steps["train"][0]["Arguments"]
    assert train["ResourceConfig"]["VolumeKmsKeyId"] == KEY and train["OutputDataConfig"]["KmsKeyId"] == KEY
    assert train["VpcConfig"] == {"SecurityGroupIds": ["sg-1"], "Subnets": ["subnet-1", "subnet-2"]}
    evaluation = steps["offline-eval"][0]["Arguments"]
    assert evaluation["ProcessingOutputConfig"]["KmsKeyId"] == KEY
    assert evaluation["NetworkConfig"]["VpcConfig"] == {
        "SecurityGroupIds": ["sg-1"],
        "Subnets": ["subnet-1", "subnet-2"],
    }
    for step, _ in steps.values():
        if step["Type"] in aws_requests.STEP_OPERATIONS:
            aws_requests.validate("sagemaker", *aws_requests.step_request(step))


def test_job_instance_exclusions_match_the_sagemaker_api():
    model = botocore.session.get_session().get_service_model("sagemaker")
    enums = {
        "processing": set(model.shape_for("ProcessingInstanceType").enum),
        "training": set(model.shape_for("TrainingInstanceType").enum),
    }
    catalog = {s.machine_type for s in get_catalog().skus("aws")}
    for kind, accepted in enums.items():
        assert job_compute.NOT_FOR_JOBS[kind] == catalog - accepted, kind
