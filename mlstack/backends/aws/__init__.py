"""The aws target: a resolved spec lowered to SageMaker and its neighbours with pulumi_aws (and
pulumi_aws_native for the model-quality job definition, which pulumi_aws lacks). See README.md."""

from __future__ import annotations

from mlstack.errors import SpecInvalid
from mlstack.resolve import Resolved


def build(resolved: Resolved) -> None:
    from mlstack.backends.aws import checks

    problems = checks.problems(resolved)
    if problems:
        raise SpecInvalid([resolved.loaded.doc.error(path, message) for path, message in problems])

    import pulumi

    from mlstack.backends.aws import batch, endpoints, features, monitors, pipelines, platform, registry, tracking
    from mlstack.backends.aws.context import Aws
    from mlstack.errors import format_path

    for path, message in checks.warnings(resolved):  # validate shows them located
        pulumi.log.warn(f"{format_path(path)}: {message}")

    ctx = Aws.create(resolved)
    shared = platform.build(ctx)
    tracking.build(ctx, shared)
    registry.build(ctx)
    features.build(ctx, shared)
    batch_models = batch.build(ctx, shared)  # before pipelines: their batch_scoring steps score with these models
    pipelines.build(ctx, shared, batch_models)
    watching = monitors.alarms(ctx, shared)
    served = endpoints.build(ctx, shared, watching.rollback_alarms(ctx))
    monitors.jobs(ctx, shared, watching, served)
    shared.component.done({"bucket": shared.bucket_name})
