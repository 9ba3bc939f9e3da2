"""The gcp backend: a resolved spec lowered to Vertex AI through pulumi_gcp, with Pulumi dynamic
providers over google-cloud-aiplatform where pulumi_gcp stops (model upload, deployments with a
traffic split, model monitoring jobs). README.md in this directory has the mapping and the limits."""

from __future__ import annotations

from mlstack.resolve import Resolved


def build(resolved: Resolved) -> None:
    import pulumi

    from mlstack.backends.gcp.batch import build_batch_jobs
    from mlstack.backends.gcp.checks import warnings
    from mlstack.backends.gcp.context import Gcp
    from mlstack.backends.gcp.endpoints import build_endpoint
    from mlstack.backends.gcp.features import build_feature_store
    from mlstack.backends.gcp.monitors import build_monitors
    from mlstack.backends.gcp.pipelines import build_pipeline
    from mlstack.backends.gcp.platform import build_platform
    from mlstack.backends.gcp.registry import build_group
    from mlstack.backends.gcp.sources import check_uris
    from mlstack.errors import format_path

    check_uris(resolved.spec)
    for path, message in warnings(resolved):  # validate shows them located
        pulumi.log.warn(f"{format_path(path)}: {message}")
    ctx = Gcp.of(resolved)
    ctx.platform = build_platform(ctx)
    versions = {
        (group.name, number): version
        for group in resolved.spec.registry.model_groups
        for number, version in build_group(ctx, group).items()
    }
    build_feature_store(ctx)
    served = {plan.endpoint.name: build_endpoint(ctx, plan, versions) for plan in resolved.endpoints}
    for pipeline in resolved.spec.pipelines:
        build_pipeline(ctx, pipeline, {name: s.resource_name for name, s in served.items()})
    build_batch_jobs(ctx)
    build_monitors(ctx, served)
