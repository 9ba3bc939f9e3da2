"""`python3 -m mlstack.deploy_job --endpoint NAME --model-package ARN`: a pipeline's deployment step on SageMaker.

The pipeline definition (mlstack/backends/aws/pipeline_definition.py) passes the endpoint's vendor name
and the ARN of the model package its registration step created. The job

1. reads the endpoint, its configuration and the package; a package pending manual approval is not
   deployed (the step reports it and succeeds, as the local target's endpoint waits for the approval),
   a rejected one fails the step;
2. creates a Model from the package for each rolled variant, with the execution role, network and tags
   of the model that variant serves now (the stale `mlstack-model` tag is dropped: the package names
   the version);
3. creates a new endpoint configuration copying the current one (variants, shadow variants, data
   capture, keys) with the new models, each variant starting at the instance count it runs now (which
   autoscaling may have changed);
4. calls UpdateEndpoint with RetainDeploymentConfig, so the rollout is the endpoint's own strategy
   (canary, linear, blue/green) with its auto-rollback alarms, and waits, bounded, for the outcome.

Models and configurations are named `<endpoint>-<variant>-<digest>` and `<endpoint>-config-<digest>` of
their content, as the backend names its own (and as the pipeline role's policy allows): a rerun finds
them and creates nothing twice. The rolled variant is `--variant` (repeatable), else the endpoint's only
production variant; an endpoint with several (A/B) needs `--variant`. Shadow variants keep their model.

The update happens outside Pulumi's state: the next `pulumi up` puts back what the spec declares.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from mlstack.backends.aws.names import Names
from mlstack.jobs.failures import JobFailed, run

POLL_SECONDS = 30.0
WAIT_SECONDS = 3000.0  # under the deployment step's default timeout of an hour
IN_PROGRESS = frozenset({"Creating", "Updating", "SystemUpdating", "RollingBack"})
STALE_TAGS = frozenset({"mlstack-model"})
_NAMES = Names("", None)  # vendor names are already complete here: no spec prefix, no environment


@dataclass(frozen=True)
class Rollout:
    endpoint: str
    package: str
    current_config: str
    config: str
    models: dict[str, str]  # variant -> new model


@cache
def _request_members(operation: str) -> frozenset[str]:
    import botocore.session

    model = botocore.session.get_session().get_service_model("sagemaker")
    return frozenset(model.operation_model(operation).input_shape.members)


def not_found(exc: Exception) -> bool:
    """SageMaker's answer to a describe of something that does not exist."""
    from botocore.exceptions import ClientError

    return isinstance(exc, ClientError) and exc.response.get("Error", {}).get("Code") == "ValidationException"


def _tags(sagemaker: Any, arn: str) -> list[dict[str, str]]:
    tags = sagemaker.list_tags(ResourceArn=arn).get("Tags", [])
    # aws: tags belong to AWS services and cannot be set by a caller.
    return [t for t in tags if t["Key"] not in STALE_TAGS and not t["Key"].startswith("aws:")]


def _exists(describe: Callable[[], Any]) -> bool:
    try:
        describe()
    except Exception as exc:
        if not_found(exc):
            return False
        raise
    return True


def _endpoint(sagemaker: Any, name: str) -> dict[str, Any]:
    try:
        return sagemaker.describe_endpoint(EndpointName=name)
    except Exception as exc:
        if not_found(exc):
            raise JobFailed(f"endpoint {name} does not exist (has `pulumi up` created it?)") from None
        raise


def _chosen(production: list[dict[str, Any]], variants: Sequence[str], endpoint: str) -> list[str]:
    names = [v["VariantName"] for v in production]
    if not variants:
        if len(names) != 1:
            raise JobFailed(
                f"endpoint {endpoint} has production variants {', '.join(names)}: name the one(s) to roll with --variant"
            )
        return names
    unknown = [v for v in variants if v not in names]
    if unknown:
        raise JobFailed(
            f"endpoint {endpoint} has no production variant {', '.join(unknown)}; it has {', '.join(names)}"
        )
    return list(dict.fromkeys(variants))


def _model(sagemaker: Any, endpoint: str, variant: str, serving: str, package: str) -> str:
    """A Model of the package with the settings of the model the variant serves now."""
    current = sagemaker.describe_model(ModelName=serving)
    request: dict[str, Any] = {
        "PrimaryContainer": {"ModelPackageName": package},
        "ExecutionRoleArn": current["ExecutionRoleArn"],
    }
    if current.get("VpcConfig", {}).get("Subnets"):
        request["VpcConfig"] = current["VpcConfig"]
    if current.get("EnableNetworkIsolation"):
        request["EnableNetworkIsolation"] = True
    name = _NAMES.versioned(request, endpoint, variant)
    if not _exists(lambda: sagemaker.describe_model(ModelName=name)):
        tags = _tags(sagemaker, current["ModelArn"])
        sagemaker.create_model(ModelName=name, **request, **({"Tags": tags} if tags else {}))
    return name


def prepare(
    sagemaker: Any, endpoint: str, package: str, variants: Sequence[str] = (), stage: str | None = None
) -> Rollout | str:
    """The models and configuration to roll to, created; or why there is nothing to roll."""
    live = _endpoint(sagemaker, endpoint)
    if live["EndpointStatus"] != "InService":
        raise JobFailed(f"endpoint {endpoint} is {live['EndpointStatus']}; a deployment needs it InService")
    described = sagemaker.describe_model_package(ModelPackageName=package)
    approval = described.get("ModelApprovalStatus", "Approved")
    if approval == "Rejected":
        raise JobFailed(f"model package {package} is Rejected: it cannot be deployed")
    if approval != "Approved":
        return (
            f"endpoint {endpoint} unchanged: model package {package} is {approval}; "
            "approve it, then run the pipeline's deployment again"
        )
    entered = described.get("ModelLifeCycle", {}).get("Stage")
    if stage is not None and entered != stage:
        return (
            f"endpoint {endpoint} unchanged: model package {package} is in stage {entered or 'none'}, "
            f"and this environment deploys only versions promoted to {stage}; promote it (ModelLifeCycle), "
            "then run the pipeline's deployment again"
        )
    current_name = live["EndpointConfigName"]
    current = sagemaker.describe_endpoint_config(EndpointConfigName=current_name)
    production = current["ProductionVariants"]
    rolled = _chosen(production, variants, endpoint)
    running = {v["VariantName"]: v for v in live.get("ProductionVariants", [])}
    models = {}
    new_variants = []
    for variant in production:
        variant = dict(variant)
        name = variant["VariantName"]
        if name in rolled:
            models[name] = variant["ModelName"] = _model(sagemaker, endpoint, name, variant["ModelName"], package)
        if "InitialInstanceCount" in variant and running.get(name, {}).get("CurrentInstanceCount"):
            variant["InitialInstanceCount"] = running[name]["CurrentInstanceCount"]
        new_variants.append(variant)
    members = _request_members("CreateEndpointConfig") - {"EndpointConfigName", "Tags"}
    request = {k: v for k, v in current.items() if k in members and v not in (None, {}, [])}
    request["ProductionVariants"] = new_variants
    name = _NAMES.versioned(request, endpoint, "config")
    if not _exists(lambda: sagemaker.describe_endpoint_config(EndpointConfigName=name)):
        tags = _tags(sagemaker, current["EndpointConfigArn"])
        sagemaker.create_endpoint_config(EndpointConfigName=name, **request, **({"Tags": tags} if tags else {}))
    return Rollout(endpoint, package, current_name, name, models)


def roll(
    sagemaker: Any,
    rollout: Rollout,
    wait: float = WAIT_SECONDS,
    poll: float = POLL_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> str:
    """Switch the endpoint to the new configuration with its own deployment config; wait for the outcome."""
    serving = ", ".join(f"{variant}: {model}" for variant, model in rollout.models.items())
    done = f"endpoint {rollout.endpoint} serves {rollout.package} ({serving}) through {rollout.config}"
    if rollout.current_config == rollout.config:
        return done + " already"
    sagemaker.update_endpoint(
        EndpointName=rollout.endpoint, EndpointConfigName=rollout.config, RetainDeploymentConfig=True
    )
    deadline = clock() + wait
    while clock() < deadline:
        sleep(min(poll, deadline - clock()))
        live = sagemaker.describe_endpoint(EndpointName=rollout.endpoint)
        status = live["EndpointStatus"]
        if status in IN_PROGRESS:
            continue
        reason = live.get("FailureReason")
        if status == "InService" and live["EndpointConfigName"] == rollout.config:
            return done
        if status == "InService":
            raise JobFailed(
                f"endpoint {rollout.endpoint} rolled back to {live['EndpointConfigName']}"
                + (f": {reason}" if reason else " (a rollback alarm fired during the rollout)")
            )
        raise JobFailed(f"endpoint {rollout.endpoint} is {status}" + (f": {reason}" if reason else ""))
    return (
        f"endpoint {rollout.endpoint} is rolling to {rollout.config} (waited {wait:g} s); SageMaker carries on, "
        "rolling back if an alarm fires: follow it with describe-endpoint"
    )


def _client(package: str | None, region: str | None) -> Any:
    import boto3

    region = region or boto3.session.Session().region_name or (package.split(":")[3] if package else None)
    return boto3.client("sagemaker", region_name=region or None)


def deploy(args: argparse.Namespace, sagemaker: Any = None) -> str:
    if not args.model_package:
        return (
            f"endpoint {args.endpoint} unchanged: no model package to deploy "
            "(no registration step comes before this deployment step)"
        )
    sagemaker = sagemaker or _client(args.model_package, args.region)
    prepared = prepare(sagemaker, args.endpoint, args.model_package, args.variant, args.stage)
    if isinstance(prepared, str):
        return prepared
    return roll(sagemaker, prepared, wait=args.wait, poll=args.poll)


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="python3 -m mlstack.deploy_job", description=__doc__.split("\n")[0])
    main.add_argument("--endpoint", required=True, help="the endpoint's SageMaker name")
    main.add_argument("--model-package", help="ARN of the model package version to deploy")
    main.add_argument("--variant", action="append", default=[], help="production variant to roll (repeatable)")
    main.add_argument("--stage", help="deploy only a package whose ModelLifeCycle.Stage is this (promotion)")
    main.add_argument("--wait", type=float, default=WAIT_SECONDS, help="seconds to wait for the rollout (0: none)")
    main.add_argument("--poll", type=float, default=POLL_SECONDS, help="seconds between status checks")
    main.add_argument("--region", default=os.environ.get("AWS_REGION"), help="AWS region (default: $AWS_REGION)")
    return main


def main(argv: Sequence[str] | None = None, sagemaker: Any = None) -> int:
    args = parser().parse_args(argv)
    return run("mlstack deploy_job", lambda: deploy(args, sagemaker), what=f"endpoint {args.endpoint}")
