"""Experiment tracking on AWS: one SageMaker managed MLflow tracking server per platform (the spec's
`tracking`), its artifacts under the platform bucket's `mlflow/` prefix, reached by the pipeline steps
through MLFLOW_TRACKING_URI = its ARN (mlstack.runtime.tracking forwards what a step logged there)."""

from __future__ import annotations

import pulumi_aws as aws

from mlstack.backends.aws import iam
from mlstack.backends.aws.context import Aws
from mlstack.backends.aws.platform import Platform, role_policy
from mlstack.resolve import Resolved
from mlstack.runtime.contract import CODE_KINDS
from mlstack.targets import aws as dialect


def wanted(resolved: Resolved) -> bool:
    """A tracking server only for a platform whose pipelines run code steps that could log to it."""
    spec = resolved.spec
    return spec.tracking.enabled and any(s.kind in CODE_KINDS for p in spec.pipelines for s in p.steps)


def server_arn(ctx: Aws) -> str:
    return ctx.arn("sagemaker", f"mlflow-tracking-server/{ctx.names.platform('mlflow', max_length=dialect.SAGEMAKER)}")


def build(ctx: Aws, platform: Platform) -> None:
    """The tracking server, its role's access to the artifact prefix, and its ARN on the platform."""
    if not wanted(ctx.resolved):
        return
    name = ctx.names.platform("mlflow", max_length=dialect.SAGEMAKER)
    statements = [
        *iam.bucket_prefix(ctx, platform.bucket_name, [dialect.TRACKING_PREFIX], write=True),
        *iam.kms(ctx),
    ]
    policy = role_policy(ctx, platform, "tracking", ctx.names.role("tracking"), statements, platform.component)
    server = aws.sagemaker.MlflowTrackingServer(
        "tracking-server",
        tracking_server_name=name,
        role_arn=platform.role_arns["tracking"],
        artifact_store_uri=platform.uri(dialect.TRACKING_PREFIX),
        tracking_server_size=dialect.TRACKING_SERVER_SIZES[ctx.resolved.spec.tracking.server_size],
        automatic_model_registration=False,  # the registry is SageMaker's model package groups
        tags=ctx.tags,
        opts=ctx.child(platform.component, depends_on=[policy, *platform.bucket_ready]),
    )
    platform.tracking_arn = ctx.known(server.arn, server_arn(ctx))


def statements(ctx: Aws, platform: Platform) -> list[iam.Statement]:
    """What a pipeline's steps need to log to the tracking server (none without one)."""
    if platform.tracking_arn is None:
        return []
    return [iam.allow(list(dialect.TRACKING_ACTIONS), [platform.tracking_arn])]


def environment(tracking_arn: str | None, experiment: str) -> dict[str, str]:
    """The MLflow client's own variables: the server and the experiment a pipeline's runs go into."""
    if not tracking_arn:
        return {}
    return {"MLFLOW_TRACKING_URI": tracking_arn, "MLFLOW_EXPERIMENT_NAME": experiment}

