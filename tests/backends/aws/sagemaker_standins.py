"""Stand-ins for pulumi_aws's SageMaker `Endpoint` and Application Auto Scaling `Target`, as Pulumi dynamic
resources over boto3, for running the real engine here: the AWS provider plugin is not installed, and moto
(on 127.0.0.1, through AWS_ENDPOINT_URL) has no UpdateEndpoint.

The endpoint stand-in refuses what SageMaker refuses (*Update endpoints that use auto scaling*: "If the update
would change the instance type for any model that is a target for auto scaling, the update fails") and
otherwise moves the endpoint to a configuration with the new instance type (delete and create, for moto), or,
with `roll_back`, fails as an update a rollback alarm stopped.
The target stand-in registers on create and deregisters on delete, accepting a target already gone as the
AWS provider does; the policy stand-in puts a target-tracking policy. Both append what they did to `log` (a file), so a test sees the engine's order."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ResourceProvider, UpdateResult

from mlstack.backends.aws.scaling_release import NAMESPACE, SCALABLE_DIMENSION, resource_id

ROLE = "arn:aws:iam::123456789012:role/endpoint"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/ranker:1"


class Refused(Exception):
    """What UpdateEndpoint answers for an instance-type change of a registered variant."""


class RolledBack(Exception):
    """An update a rollback alarm stopped: the endpoint stays on its configuration."""


def _clients() -> tuple[Any, Any]:
    import boto3

    session = boto3.session.Session(region_name="us-east-1")
    return session.client("sagemaker"), session.client("application-autoscaling")


def _log(props: dict[str, Any], line: str) -> None:
    with Path(props["log"]).open("a") as out:
        out.write(line + "\n")


def _configure(sagemaker: Any, name: str, instance_type: str) -> str:
    config = f"{name}-{instance_type.replace('.', '-')}"
    sagemaker.create_model(ModelName=config, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": IMAGE})
    variant = {"VariantName": "primary", "ModelName": config, "InstanceType": instance_type, "InitialInstanceCount": 1}
    sagemaker.create_endpoint_config(EndpointConfigName=config, ProductionVariants=[variant])
    return config


class EndpointProvider(ResourceProvider):
    def create(self, props: dict[str, Any]) -> CreateResult:
        sagemaker, _ = _clients()
        sagemaker.create_endpoint(
            EndpointName=props["name"], EndpointConfigName=_configure(sagemaker, props["name"], props["instance_type"])
        )
        _log(props, f"endpoint create {props['instance_type']}")
        return CreateResult(id_=props["name"], outs=props)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        sagemaker, autoscaling = _clients()
        target = resource_id(news["name"], "primary")
        held = autoscaling.describe_scalable_targets(
            ServiceNamespace=NAMESPACE, ResourceIds=[target], ScalableDimension=SCALABLE_DIMENSION
        )["ScalableTargets"]
        if held and olds["instance_type"] != news["instance_type"]:
            _log(news, "endpoint update refused")
            raise Refused(f"{target} is a target for auto scaling: the update fails")
        if news.get("roll_back"):
            _log(news, "endpoint update rolled back")
            raise RolledBack(f"endpoint {news['name']} rolled back to its configuration")
        config = _configure(sagemaker, news["name"], news["instance_type"])
        sagemaker.delete_endpoint(EndpointName=news["name"])
        sagemaker.create_endpoint(EndpointName=news["name"], EndpointConfigName=config)
        _log(news, f"endpoint update {news['instance_type']}")
        return UpdateResult(outs=news)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        return DiffResult(changes=olds["instance_type"] != news["instance_type"], replaces=[])

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        sagemaker, _ = _clients()
        sagemaker.delete_endpoint(EndpointName=props["name"])


class TargetProvider(ResourceProvider):
    def create(self, props: dict[str, Any]) -> CreateResult:
        _, autoscaling = _clients()
        autoscaling.register_scalable_target(
            ServiceNamespace=NAMESPACE,
            ResourceId=props["resource_id"],
            ScalableDimension=SCALABLE_DIMENSION,
            MinCapacity=1,
            MaxCapacity=4,
        )
        _log(props, "target register")
        return CreateResult(id_=props["resource_id"], outs=props)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        return DiffResult(changes=olds["resource_id"] != news["resource_id"], replaces=["resource_id"])

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        from botocore.exceptions import ClientError

        _, autoscaling = _clients()
        try:
            autoscaling.deregister_scalable_target(
                ServiceNamespace=NAMESPACE, ResourceId=props["resource_id"], ScalableDimension=SCALABLE_DIMENSION
            )
            _log(props, "target deregister")
        except ClientError as exc:
            # AWS answers ObjectNotFoundException, moto ValidationException: gone already
            if exc.response["Error"]["Code"] not in ("ObjectNotFoundException", "ValidationException"):
                raise
            _log(props, "target deregister (already gone)")


class PolicyProvider(ResourceProvider):
    """A target-tracking policy; deregistering its target deletes it (moto keeps it: put it again)."""

    def create(self, props: dict[str, Any]) -> CreateResult:
        _, autoscaling = _clients()
        autoscaling.put_scaling_policy(
            PolicyName=props["name"],
            ServiceNamespace=NAMESPACE,
            ResourceId=props["resource_id"],
            ScalableDimension=SCALABLE_DIMENSION,
            PolicyType="TargetTrackingScaling",
            TargetTrackingScalingPolicyConfiguration={
                "TargetValue": 100.0,
                "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"},
            },
        )
        _log(props, "policy put")
        return CreateResult(id_=props["name"], outs=props)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        return DiffResult(changes=olds["resource_id"] != news["resource_id"], replaces=["resource_id"])

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        _log(props, "policy delete")


class Endpoint(pulumi.dynamic.Resource, module="standin", name="Endpoint"):
    name: pulumi.Output[str]

    def __init__(
        self, name: str, instance_type: str, log: str, roll_back: bool, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        props = {"name": name, "instance_type": instance_type, "log": log, "roll_back": roll_back}
        super().__init__(EndpointProvider(), name, props, opts)


class Target(pulumi.dynamic.Resource, module="standin", name="Target"):
    resource_id: pulumi.Output[str]

    def __init__(self, name: str, resource_id: pulumi.Input[str], log: str, opts: pulumi.ResourceOptions) -> None:
        super().__init__(TargetProvider(), name, {"resource_id": resource_id, "log": log}, opts)


class Policy(pulumi.dynamic.Resource, module="standin", name="Policy"):
    def __init__(self, name: str, resource_id: pulumi.Input[str], log: str, opts: pulumi.ResourceOptions) -> None:
        super().__init__(PolicyProvider(), name, {"name": name, "resource_id": resource_id, "log": log}, opts)
