"""The deployment step's job: models from the package and a new endpoint configuration in moto's SageMaker,
and the endpoint update and its outcome through botocore's Stubber (moto has no UpdateEndpoint), every
request checked against SageMaker's service model."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import boto3
import pytest
from botocore.stub import ANY, Stubber
from conftest import REGION

from mlstack.jobs import deploy
from mlstack.jobs.failures import JobFailed

ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/shop-endpoint"
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/0e5b2c3a-1111-2222-3333-444455556666"
IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/ranker:2"
CAPTURE = {
    "EnableCapture": True,
    "InitialSamplingPercentage": 50,
    "DestinationS3Uri": "s3://platform/capture/ranker/",
    "KmsKeyId": KEY,
    "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
    "CaptureContentTypeHeader": {"CsvContentTypes": ["text/csv"], "JsonContentTypes": ["application/json"]},
}
TAGS = [{"Key": "managed-by", "Value": "mlstack"}, {"Key": "mlstack-spec", "Value": "shop"}]
NOW = datetime(2026, 11, 22, 10, tzinfo=UTC)


def _variant(name: str, model: str, count: int = 2, weight: float = 100.0) -> dict:
    return {
        "VariantName": name,
        "ModelName": model,
        "InitialInstanceCount": count,
        "InstanceType": "ml.m5.large",
        "InitialVariantWeight": weight,
    }


def _package(sagemaker, approval: str = "Approved") -> str:
    sagemaker.create_model_package_group(ModelPackageGroupName="ranker")
    return sagemaker.create_model_package(
        ModelPackageGroupName="ranker",
        ModelApprovalStatus=approval,
        InferenceSpecification={
            "Containers": [{"Image": IMAGE, "ModelDataUrl": "s3://models/ranker/7/model.tar.gz"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
    )["ModelPackageArn"]


def _endpoint(sagemaker, variants: dict[str, float]) -> None:
    """An endpoint as the AWS backend creates it: content-named models and configuration, data capture."""
    for name in variants:
        sagemaker.create_model(
            ModelName=f"ranker-{name}-0a1b2c3d",
            ExecutionRoleArn=ROLE,
            PrimaryContainer={"Image": IMAGE, "ModelDataUrl": "s3://models/ranker/1/model.tar.gz"},
            Tags=[*TAGS, {"Key": "mlstack-model", "Value": "ranker@champion"}],
        )
    sagemaker.create_endpoint_config(
        EndpointConfigName="ranker-config-4e5f6a7b",
        ProductionVariants=[_variant(n, f"ranker-{n}-0a1b2c3d", weight=w) for n, w in variants.items()],
        DataCaptureConfig=CAPTURE,
        KmsKeyId=KEY,
        Tags=TAGS,
    )
    sagemaker.create_endpoint(EndpointName="ranker", EndpointConfigName="ranker-config-4e5f6a7b", Tags=TAGS)


@pytest.fixture
def sagemaker(aws):
    return boto3.client("sagemaker", region_name=REGION)


def test_prepare_creates_a_model_of_the_package_and_a_configuration_copying_the_current_one(sagemaker):
    package = _package(sagemaker)
    _endpoint(sagemaker, {"primary": 100.0})
    # Autoscaling has grown the variant from 2 to 4 instances: the new fleet starts at 4.
    sagemaker.update_endpoint_weights_and_capacities(
        EndpointName="ranker", DesiredWeightsAndCapacities=[{"VariantName": "primary", "DesiredInstanceCount": 4}]
    )

    rollout = deploy.prepare(sagemaker, "ranker", package)

    assert isinstance(rollout, deploy.Rollout)
    assert rollout.current_config == "ranker-config-4e5f6a7b"
    assert re.fullmatch(r"ranker-config-[0-9a-f]{8}", rollout.config) and rollout.config != rollout.current_config
    model_name = rollout.models["primary"]
    assert re.fullmatch(r"ranker-primary-[0-9a-f]{8}", model_name)
    model = sagemaker.describe_model(ModelName=model_name)
    assert model["PrimaryContainer"] == {"ModelPackageName": package}
    assert model["ExecutionRoleArn"] == ROLE
    assert sagemaker.list_tags(ResourceArn=model["ModelArn"])["Tags"] == TAGS  # the stale mlstack-model is gone
    config = sagemaker.describe_endpoint_config(EndpointConfigName=rollout.config)
    assert config["ProductionVariants"] == [_variant("primary", model_name, count=4)]
    assert config["DataCaptureConfig"] == CAPTURE
    assert config["KmsKeyId"] == KEY
    assert sagemaker.list_tags(ResourceArn=config["EndpointConfigArn"])["Tags"] == TAGS
    # The endpoint itself is untouched until the update.
    assert sagemaker.describe_endpoint(EndpointName="ranker")["EndpointConfigName"] == "ranker-config-4e5f6a7b"


def test_a_second_run_finds_what_the_first_created(sagemaker):
    package = _package(sagemaker)
    _endpoint(sagemaker, {"primary": 100.0})
    first = deploy.prepare(sagemaker, "ranker", package)
    second = deploy.prepare(sagemaker, "ranker", package)
    assert first == second
    assert len(sagemaker.list_models()["Models"]) == 2
    assert len(sagemaker.list_endpoint_configs()["EndpointConfigs"]) == 2


def test_a_package_pending_approval_is_not_deployed(sagemaker, capsys):
    package = _package(sagemaker, "PendingManualApproval")
    _endpoint(sagemaker, {"primary": 100.0})

    assert deploy.main(["--endpoint", "ranker", "--model-package", package], sagemaker) == 0

    report, audit = capsys.readouterr().out.splitlines()
    assert report == (
        f"endpoint ranker unchanged: model package {package} is PendingManualApproval; "
        "approve it, then run the pipeline's deployment again"
    )
    # The decision, as the structured record CloudWatch Logs keeps beside CloudTrail's API calls.
    record = json.loads(audit)
    assert (record["action"], record["what"], record["outcome"]) == ("mlstack deploy_job", "endpoint ranker", "succeeded")
    assert record["why"] == report
    assert len(sagemaker.list_models()["Models"]) == 1
    assert len(sagemaker.list_endpoint_configs()["EndpointConfigs"]) == 1


def test_a_rejected_package_fails_the_step(sagemaker, capsys):
    package = _package(sagemaker, "Rejected")
    _endpoint(sagemaker, {"primary": 100.0})
    assert deploy.main(["--endpoint", "ranker", "--model-package", package], sagemaker) == 1
    assert (
        capsys.readouterr().err == f"mlstack deploy_job: model package {package} is Rejected: it cannot be deployed\n"
    )


def test_an_ab_endpoint_needs_the_variant_named(sagemaker, capsys):
    package = _package(sagemaker)
    _endpoint(sagemaker, {"boosted": 80.0, "rules": 20.0})

    assert deploy.main(["--endpoint", "ranker", "--model-package", package], sagemaker) == 1
    assert "production variants boosted, rules: name the one(s) to roll with --variant" in capsys.readouterr().err
    assert deploy.main(["--endpoint", "ranker", "--model-package", package, "--variant", "blue"], sagemaker) == 1
    assert "has no production variant blue; it has boosted, rules" in capsys.readouterr().err

    rollout = deploy.prepare(sagemaker, "ranker", package, ["rules"])
    assert isinstance(rollout, deploy.Rollout) and list(rollout.models) == ["rules"]
    variants = sagemaker.describe_endpoint_config(EndpointConfigName=rollout.config)["ProductionVariants"]
    assert variants == [
        _variant("boosted", "ranker-boosted-0a1b2c3d", weight=80.0),
        _variant("rules", rollout.models["rules"], weight=20.0),
    ]


def test_a_missing_endpoint_fails_the_step(sagemaker, capsys):
    package = _package(sagemaker)
    assert deploy.main(["--endpoint", "ranker", "--model-package", package], sagemaker) == 1
    assert (
        capsys.readouterr().err == "mlstack deploy_job: endpoint ranker does not exist (has `pulumi up` created it?)\n"
    )


def test_without_a_package_there_is_nothing_to_deploy(capsys):
    client = boto3.client("sagemaker", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stubber:
        assert deploy.main(["--endpoint", "ranker"], client) == 0
        stubber.assert_no_pending_responses()
    assert capsys.readouterr().out.startswith("endpoint ranker unchanged: no model package to deploy")


# --- the update and its outcome, through the Stubber -------------------------------------------------


def _stubbed():
    client = boto3.client("sagemaker", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    return client, Stubber(client)


def _described(status: str, config: str, reason: str | None = None, variants: list | None = None) -> dict:
    found = {
        "EndpointName": "ranker",
        "EndpointArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/ranker",
        "EndpointConfigName": config,
        "EndpointStatus": status,
        "CreationTime": NOW,
        "LastModifiedTime": NOW,
    }
    if reason:
        found["FailureReason"] = reason
    if variants:
        found["ProductionVariants"] = variants
    return found


ROLLOUT = deploy.Rollout(
    endpoint="ranker",
    package=f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/ranker/7",
    current_config="ranker-config-4e5f6a7b",
    config="ranker-config-9c8d7e6f",
    models={"primary": "ranker-primary-1f2e3d4c"},
)
UPDATE = {"EndpointName": "ranker", "EndpointConfigName": "ranker-config-9c8d7e6f", "RetainDeploymentConfig": True}


class Clock:
    """Time that moves only when the job sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def __call__(self) -> float:
        return self.now


def test_roll_updates_with_the_endpoints_deployment_config_and_waits_for_in_service():
    client, stubber = _stubbed()
    stubber.add_response("update_endpoint", {"EndpointArn": _described("Updating", "")["EndpointArn"]}, UPDATE)
    for status in ("Updating", "Updating"):
        stubber.add_response(
            "describe_endpoint", _described(status, ROLLOUT.current_config), {"EndpointName": "ranker"}
        )
    stubber.add_response("describe_endpoint", _described("InService", ROLLOUT.config), {"EndpointName": "ranker"})
    clock = Clock()
    with stubber:
        report = deploy.roll(client, ROLLOUT, wait=600, poll=30, sleep=clock.sleep, clock=clock)
        stubber.assert_no_pending_responses()
    assert report == (
        f"endpoint ranker serves {ROLLOUT.package} (primary: ranker-primary-1f2e3d4c) through ranker-config-9c8d7e6f"
    )
    assert clock.sleeps == [30, 30, 30]


def test_a_rollback_fails_the_step_with_the_reason():
    client, stubber = _stubbed()
    stubber.add_response("update_endpoint", {"EndpointArn": _described("Updating", "")["EndpointArn"]}, UPDATE)
    stubber.add_response("describe_endpoint", _described("RollingBack", ROLLOUT.current_config))
    reason = "Alarm shop-ranker-5xx went to ALARM during the canary"
    stubber.add_response("describe_endpoint", _described("InService", ROLLOUT.current_config, reason))
    clock = Clock()
    with stubber, pytest.raises(JobFailed, match=f"endpoint ranker rolled back to ranker-config-4e5f6a7b: {reason}"):
        deploy.roll(client, ROLLOUT, wait=600, poll=30, sleep=clock.sleep, clock=clock)


def test_a_failed_endpoint_fails_the_step():
    client, stubber = _stubbed()
    stubber.add_response("update_endpoint", {"EndpointArn": _described("Updating", "")["EndpointArn"]}, UPDATE)
    stubber.add_response("describe_endpoint", _described("Failed", ROLLOUT.config, "image not found"))
    clock = Clock()
    with stubber, pytest.raises(JobFailed, match="endpoint ranker is Failed: image not found"):
        deploy.roll(client, ROLLOUT, wait=600, poll=30, sleep=clock.sleep, clock=clock)


def test_the_wait_is_bounded_and_says_the_rollout_goes_on():
    client, stubber = _stubbed()
    stubber.add_response("update_endpoint", {"EndpointArn": _described("Updating", "")["EndpointArn"]}, UPDATE)
    for _ in range(3):
        stubber.add_response("describe_endpoint", _described("Updating", ROLLOUT.current_config))
    clock = Clock()
    with stubber:
        report = deploy.roll(client, ROLLOUT, wait=75, poll=30, sleep=clock.sleep, clock=clock)
        stubber.assert_no_pending_responses()
    assert clock.sleeps == [30, 30, 15]
    assert report.startswith("endpoint ranker is rolling to ranker-config-9c8d7e6f (waited 75 s); SageMaker carries on")


def test_an_endpoint_already_on_the_configuration_is_not_updated_again():
    client, stubber = _stubbed()
    again = deploy.Rollout(**{**ROLLOUT.__dict__, "current_config": ROLLOUT.config})
    with stubber:
        assert deploy.roll(client, again).endswith("through ranker-config-9c8d7e6f already")
        stubber.assert_no_pending_responses()


def test_an_endpoint_in_the_middle_of_an_update_is_left_alone(capsys):
    client, stubber = _stubbed()
    stubber.add_response(
        "describe_endpoint", _described("Updating", ROLLOUT.current_config), {"EndpointName": "ranker"}
    )
    with stubber:
        assert deploy.main(["--endpoint", "ranker", "--model-package", ROLLOUT.package], client) == 1
    assert (
        capsys.readouterr().err == "mlstack deploy_job: endpoint ranker is Updating; a deployment needs it InService\n"
    )


@pytest.mark.parametrize("stage", [None, "prod"])
def test_the_whole_step_as_sagemaker_sees_it(capsys, stage):
    """Every call the step makes, in order, with its request validated against SageMaker's service model:
    the shadow variant and the data capture carry over, only the production variant changes model. With
    --stage (an environment after the first promotion stage) a package promoted to it deploys the same."""
    client, stubber = _stubbed()
    current_model = "ranker-primary-0a1b2c3d"
    production = _variant("primary", current_model)
    shadow = _variant("shadow", "ranker-shadow-0a1b2c3d", count=1, weight=25.0)
    config_arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint-config/ranker-config-4e5f6a7b"
    model_arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model/{current_model}"
    live = [{"VariantName": "primary", "CurrentInstanceCount": 3, "DesiredInstanceCount": 3}]
    package = {
        "ModelPackageName": "ranker",
        "ModelPackageArn": ROLLOUT.package,
        "CreationTime": NOW,
        "ModelPackageStatus": "Completed",
        "ModelPackageStatusDetails": {"ValidationStatuses": []},
        "ModelApprovalStatus": "Approved",
        **({"ModelLifeCycle": {"Stage": stage, "StageStatus": "Approved"}} if stage else {}),
    }
    steps = [
        (
            "describe_endpoint",
            _described("InService", ROLLOUT.current_config, variants=live),
            {"EndpointName": "ranker"},
        ),
        ("describe_model_package", package, {"ModelPackageName": ROLLOUT.package}),
        (
            "describe_endpoint_config",
            {
                "EndpointConfigName": ROLLOUT.current_config,
                "EndpointConfigArn": config_arn,
                "ProductionVariants": [production],
                "ShadowProductionVariants": [shadow],
                "DataCaptureConfig": CAPTURE,
                "KmsKeyId": KEY,
                "CreationTime": NOW,
            },
            {"EndpointConfigName": ROLLOUT.current_config},
        ),
        (
            "describe_model",
            {"ModelName": current_model, "ExecutionRoleArn": ROLE, "ModelArn": model_arn, "CreationTime": NOW},
            {"ModelName": current_model},
        ),
        ("describe_model", "ValidationException", {"ModelName": ANY}),
        (
            "list_tags",
            {"Tags": [*TAGS, {"Key": "mlstack-model", "Value": "ranker@champion"}]},
            {"ResourceArn": model_arn},
        ),
        (
            "create_model",
            {"ModelArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model/new"},
            {
                "ModelName": ANY,
                "PrimaryContainer": {"ModelPackageName": ROLLOUT.package},
                "ExecutionRoleArn": ROLE,
                "Tags": TAGS,
            },
        ),
        ("describe_endpoint_config", "ValidationException", {"EndpointConfigName": ANY}),
        ("list_tags", {"Tags": TAGS}, {"ResourceArn": config_arn}),
        (
            "create_endpoint_config",
            {"EndpointConfigArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint-config/new"},
            {
                "EndpointConfigName": ANY,
                "ProductionVariants": [{**production, "ModelName": ANY, "InitialInstanceCount": 3}],
                "ShadowProductionVariants": [shadow],
                "DataCaptureConfig": CAPTURE,
                "KmsKeyId": KEY,
                "Tags": TAGS,
            },
        ),
        (
            "update_endpoint",
            {"EndpointArn": _described("Updating", "")["EndpointArn"]},
            {**UPDATE, "EndpointConfigName": ANY},
        ),
    ]
    for method, response, expected in steps:
        if response == "ValidationException":
            stubber.add_client_error(method, "ValidationException", "Could not find it.", 400, expected_params=expected)
        else:
            stubber.add_response(method, response, expected)
    with stubber:
        promoted = ["--stage", stage] if stage else []
        code = deploy.main(
            ["--endpoint", "ranker", "--model-package", ROLLOUT.package, "--wait", "0", *promoted], client
        )
        stubber.assert_no_pending_responses()
    assert code == 0
    report, audit = capsys.readouterr().out.splitlines()
    assert re.fullmatch(r"endpoint ranker is rolling to ranker-config-[0-9a-f]{8} \(waited 0 s\); .*", report)
    assert json.loads(audit)["why"] == report


@pytest.mark.parametrize("life_cycle", [{"Stage": "staging", "StageStatus": "Approved"}, None])
def test_a_package_not_promoted_to_the_environments_stage_is_not_deployed(capsys, life_cycle):
    client, stubber = _stubbed()
    package = {
        "ModelPackageName": "ranker",
        "ModelPackageArn": ROLLOUT.package,
        "CreationTime": NOW,
        "ModelPackageStatus": "Completed",
        "ModelPackageStatusDetails": {"ValidationStatuses": []},
        "ModelApprovalStatus": "Approved",
        **({"ModelLifeCycle": life_cycle} if life_cycle else {}),
    }
    stubber.add_response(
        "describe_endpoint", _described("InService", ROLLOUT.current_config), {"EndpointName": "ranker"}
    )
    stubber.add_response("describe_model_package", package, {"ModelPackageName": ROLLOUT.package})
    with stubber:
        code = deploy.main(["--endpoint", "ranker", "--model-package", ROLLOUT.package, "--stage", "prod"], client)
        stubber.assert_no_pending_responses()  # nothing created, the endpoint not updated
    assert code == 0
    entered = life_cycle["Stage"] if life_cycle else "none"
    report, *audit = capsys.readouterr().out.splitlines()
    assert all(json.loads(line)["why"] == report for line in audit)  # the audit line, where the job writes one
    assert report == (
        f"endpoint ranker unchanged: model package {ROLLOUT.package} is in stage {entered}, and this environment "
        "deploys only versions promoted to prod; promote it (ModelLifeCycle), then run the pipeline's deployment again"
    )
