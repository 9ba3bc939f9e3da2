"""The real Pulumi engine runs the release's order (audit A8): the real ScalingRelease provider against moto
on 127.0.0.1, the endpoint and target as stand-ins that do what SageMaker and the AWS provider do
(sagemaker_standins.py), wired as mlstack.backends.aws.endpoints wires them (test_aws_scaling_release.py
checks that wiring in the plan)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pulumi
import pytest
import sagemaker_standins as standins
from moto.server import ThreadedMotoServer

from mlstack.backends.aws.scaling_release import NAMESPACE, SCALABLE_DIMENSION, ScalingRelease, resource_id
from mlstack.engine import cli_dir
from mlstack.errors import MlstackError

REPO = Path(__file__).resolve().parents[3]
TARGET = resource_id("ranker", "primary")


@pytest.fixture
def aws() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{server._server.server_port}"  # type: ignore[attr-defined]
    finally:
        server.stop()


@pytest.fixture
def workspace(aws: str, tmp_path: Path) -> dict[str, Any]:
    try:
        cli = cli_dir()
    except MlstackError:
        pytest.skip("the Pulumi CLI is not installed (scripts/install-pulumi.sh builds it; CI runs it)")
    (tmp_path / "state").mkdir()
    env = {
        "PATH": f"{cli}{os.pathsep}{os.environ.get('PATH', '')}",
        "PULUMI_PYTHON_CMD": sys.executable,
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_BACKEND_URL": f"file://{tmp_path / 'state'}",
        "PULUMI_CONFIG_PASSPHRASE": "",
        # the dynamic providers' process imports this worktree's mlstack and the stand-ins
        "PYTHONPATH": os.pathsep.join([str(REPO), str(Path(__file__).parent)]),
        "AWS_ENDPOINT_URL": aws,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    return {"cli": cli, "env": env, "dir": tmp_path, "log": tmp_path / "steps.log"}


def _stack(
    workspace: dict[str, Any], stack: str, instance_type: str, release: bool = True, roll_back: bool = False
) -> Any:
    from pulumi import automation as auto

    log = str(workspace["log"])

    def program() -> None:
        released = None
        if release:
            released = ScalingRelease(
                "ranker-scaling-release", endpoint="ranker", region="us-east-1", variants={"primary": instance_type}
            )
        endpoint = standins.Endpoint(
            "ranker",
            instance_type,
            log,
            roll_back,
            opts=pulumi.ResourceOptions(depends_on=[released] if released else []),
        )
        options = pulumi.ResourceOptions(
            replacement_trigger=released.trigger("primary") if released else None, delete_before_replace=True
        )
        target_id = endpoint.name.apply(lambda name: resource_id(name, "primary"))
        target = standins.Target("ranker-primary-scaling", target_id, log, options)
        with_target = pulumi.ResourceOptions(deleted_with=target)
        standins.Policy("ranker-primary-target-tracking", target.resource_id, log, with_target)

    opts = auto.LocalWorkspaceOptions(
        work_dir=str(workspace["dir"]),
        env_vars=workspace["env"],
        pulumi_command=auto.PulumiCommand(root=str(workspace["cli"].parent)),
    )
    return auto.create_or_select_stack(stack_name=stack, project_name="a8", program=program, opts=opts)


def _up(workspace: dict[str, Any], stack: str, instance_type: str, **options: bool) -> dict[str, int]:
    result = _stack(workspace, stack, instance_type, **options).up(on_output=lambda _: None)
    return dict(result.summary.resource_changes or {})


def _client(service: str, aws: str) -> Any:
    keys = {"aws_access_key_id": "test", "aws_secret_access_key": "test"}
    return boto3.client(service, region_name="us-east-1", endpoint_url=aws, **keys)


def _registered(aws: str) -> list[str]:
    found = _client("application-autoscaling", aws).describe_scalable_targets(
        ServiceNamespace=NAMESPACE, ScalableDimension=SCALABLE_DIMENSION
    )
    return [t["ResourceId"] for t in found["ScalableTargets"]]


def _live_type(aws: str) -> str:
    sagemaker = _client("sagemaker", aws)
    config = sagemaker.describe_endpoint(EndpointName="ranker")["EndpointConfigName"]
    return sagemaker.describe_endpoint_config(EndpointConfigName=config)["ProductionVariants"][0]["InstanceType"]


def _steps(workspace: dict[str, Any]) -> list[str]:
    return workspace["log"].read_text().splitlines()


def test_pulumi_up_changes_an_autoscaled_variants_instance_type_and_registers_it_again(aws, workspace):
    _up(workspace, "released", "ml.m5.large")
    assert _registered(aws) == [TARGET]
    assert _steps(workspace) == ["endpoint create ml.m5.large", "target register", "policy put"]

    # a preview cannot know whether the release will deregister: it shows the target and policy replaced
    preview = _stack(workspace, "released", "ml.c5.xlarge").preview(on_output=lambda _: None).change_summary
    assert preview == {"update": 2, "replace": 2, "same": 1}
    assert _registered(aws) == [TARGET]

    changes = _up(workspace, "released", "ml.c5.xlarge")
    # released before the update (else the stand-in, as SageMaker, refuses), registered again after it
    assert _steps(workspace)[3:] == [
        "endpoint update ml.c5.xlarge",
        "target deregister (already gone)",  # the policy, deleted with its target, is not deleted itself
        "target register",
        "policy put",
    ]
    assert _live_type(aws) == "ml.c5.xlarge"
    assert _registered(aws) == [TARGET]
    assert changes == {"update": 2, "replace": 2, "same": 1}

    assert _up(workspace, "released", "ml.c5.xlarge") == {"same": 5}  # nothing churns afterwards


def test_without_the_release_the_update_is_refused(aws, workspace):
    from pulumi.automation import CommandError

    _up(workspace, "unreleased", "ml.m5.large", release=False)
    with pytest.raises(CommandError, match="is a target for auto scaling: the update fails"):
        _up(workspace, "unreleased", "ml.c5.xlarge", release=False)
    assert _steps(workspace)[-1] == "endpoint update refused"
    assert _live_type(aws) == "ml.m5.large"


def test_after_a_rolled_back_update_the_variant_is_registered_again_whichever_type_the_spec_then_says(aws, workspace):
    from pulumi.automation import CommandError

    _up(workspace, "rolled-back", "ml.m5.large")
    with pytest.raises(CommandError, match="rolled back to its configuration"):
        _up(workspace, "rolled-back", "ml.c5.xlarge", roll_back=True)
    assert _registered(aws) == []  # released, and the update did not happen
    # back to the type it runs: the release finds nothing to do, but its count still replaces the target
    changes = _up(workspace, "rolled-back", "ml.m5.large")
    assert _steps(workspace)[-3:] == ["target deregister (already gone)", "target register", "policy put"]
    assert _registered(aws) == [TARGET] and _live_type(aws) == "ml.m5.large"
    assert changes["replace"] == 2
