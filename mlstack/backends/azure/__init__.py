"""The azure target: a resolved spec lowered to Azure Machine Learning with pulumi_azure_native
(README.md in this directory maps every spec object to its Azure resources and says what is left out)."""

from __future__ import annotations

from mlstack.errors import format_path
from mlstack.resolve import Resolved


def build(resolved: Resolved) -> None:
    # imported here: the checks module of this package must load without Pulumi (mlstack validate)
    import pulumi

    from mlstack.backends.azure import checks
    from mlstack.backends.azure.batch import build_batch_jobs
    from mlstack.backends.azure.compute import build_clusters
    from mlstack.backends.azure.context import Azure
    from mlstack.backends.azure.endpoints import build_endpoint
    from mlstack.backends.azure.environments import Environments
    from mlstack.backends.azure.events import wire
    from mlstack.backends.azure.failed_runs import alert_failed_runs
    from mlstack.backends.azure.features import build_feature_store, grant_consumers
    from mlstack.backends.azure.monitors import build_monitor
    from mlstack.backends.azure.pipelines import build_pipeline
    from mlstack.backends.azure.registry import build_registry
    from mlstack.backends.azure.workspace import build_platform

    ctx = Azure.of(resolved)
    for path, message in checks.warnings(resolved):  # validate shows them located
        pulumi.log.warn(f"{format_path(path)}: {message}")
    platform = build_platform(ctx)
    environments = Environments(ctx)
    models = build_registry(ctx)
    store = build_feature_store(ctx)
    clusters = build_clusters(ctx)
    if store is not None:
        grant_consumers(ctx, store)
    deployments = {plan.endpoint.name: build_endpoint(ctx, plan, models, environments) for plan in resolved.endpoints}
    build_batch_jobs(ctx, models, environments, clusters)
    pipelines = {
        pipeline.name: build_pipeline(
            ctx, pipeline, environments, clusters, deployments, store.feature_sets if store else {}
        )
        for pipeline in resolved.spec.pipelines
    }
    monitors = [build_monitor(ctx, m, deployments.get(m.endpoint or "", {})) for m in resolved.spec.monitors]
    wire(ctx, monitors, pipelines)
    alert_failed_runs(ctx, monitors)
    platform.component.done({"workspace": platform.workspace_name})
