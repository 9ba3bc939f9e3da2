"""What Azure ML lowering would refuse, and where Azure does something other than the spec says, found
before any resource is declared.

`problems(resolved)` and `warnings(resolved)` yield (spec path, message) for `mlstack validate`; the
lowering modules call the same functions (raising a problem's message, logging the warnings), so plan
finds nothing validate passed. No Pulumi or Azure SDK is imported here."""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from croniter import croniter

from mlstack.backends import serving_images
from mlstack.backends.azure.feature_sources import (
    WORKSPACE_DATASTORE,
    feature_source,
    is_asset,
    materialization_identity,
    workspace_of,
)
from mlstack.backends.azure.schedules import recurrence
from mlstack.errors import MlstackError, Path
from mlstack.resolve import Resolved
from mlstack.resolve.pipelines import ancestors
from mlstack.spec.models import ModelVersion, Monitor, Pipeline, Spec, Step
from mlstack.targets import AZURE
from mlstack.targets.azure import SERVING_IMAGES, SMALL_SERVING_SKUS, SUBNET_EXAMPLE, SUBNET_ID

Problem = tuple[Path, str]

# Model performance metrics by task (azure-ai-ml's ModelPerformanceClassificationThresholds/...Regression...).
PERFORMANCE_METRICS = {
    "Classification": ("accuracy", "precision", "recall"),
    "Regression": ("mean_absolute_error", "root_mean_squared_error"),
}
# Registries Azure ML pulls serving and job images from with its own identity or anonymously.
PUBLIC_REGISTRIES = ("mcr.microsoft.com", "docker.io")
# Enough consecutive runs to meet the longest gap of any cron (a month's, or a weekday set's).
WINDOW_SAMPLES = 13


def _gaps(cron: str) -> list[timedelta]:
    runs = croniter(cron, datetime(2026, 1, 1, tzinfo=UTC))
    times = [runs.get_next(datetime) for _ in range(WINDOW_SAMPLES)]
    return [later - earlier for earlier, later in itertools.pairwise(times)]


def window_days(cron: str) -> int:
    """Each run looks back over the longest time between two runs, in whole days (Azure's granularity)."""
    return max(1, math.ceil(max(_gaps(cron)).total_seconds() / 86400))


def _rereads(spec: Spec) -> Iterator[Problem]:
    """A monitor that runs more often than its whole-day window re-reads the same requests every run: each
    run is a serverless Spark job over the whole window (audit Z11)."""
    for mi, monitor in enumerate(spec.monitors):
        days = window_days(monitor.schedule)
        shortest = min(_gaps(monitor.schedule))
        if shortest >= timedelta(days=days):
            continue
        runs = round(86400 / shortest.total_seconds())
        yield (
            ("monitors", mi, "schedule"),
            f"monitor {monitor.name}: Azure monitors look back in whole days, so each run of '{monitor.schedule}' "
            f"reads the past {days} day{'s' if days > 1 else ''} again: {runs} serverless Spark jobs a day over the "
            "same requests; a daily schedule (e.g. '0 6 * * *') reads each request once",
        )


def task_type(monitor: Monitor) -> str:
    return "Regression" if monitor.problem_type == "regression" else "Classification"


def model_type_problem(version: ModelVersion) -> str | None:
    """Why Azure cannot serve the version without an image on any machine (custom, tgi), else None."""
    if version.image is None and not SERVING_IMAGES.versions(version.framework):
        instead = SERVING_IMAGES.missing[version.framework]
        return f"model version {version.version} (framework {version.framework}) needs an image on Azure: {instead}"
    return None


# Steps that run mlstack's own runtime image (deploy_job.py, batch_step.py), not the spec's.
RUNTIME_STEPS = ("deployment", "batch_scoring")


def step_problem(pipeline: Pipeline, index: int) -> tuple[str, str] | None:
    """(field, message) for a step Azure cannot run as written."""
    step: Step = pipeline.steps[index]
    if step.kind not in RUNTIME_STEPS and (step.image or pipeline.image) is None:
        return "image", f"pipeline {pipeline.name} step {step.name}: Azure runs steps from an image; set image"
    if step.kind == "registration" and not any(
        pipeline.steps[j].kind == "training" for j in ancestors(pipeline, index)
    ):
        return "kind", f"pipeline {pipeline.name}: a registration step needs a training step before it"
    return None


def performance_problem(monitor: Monitor) -> tuple[str, str] | None:
    """(field, message) for a model-quality monitor Azure's model performance signal cannot measure."""
    metric = AZURE.metrics.get(monitor.metric)
    task = task_type(monitor)
    if metric is not None and metric not in PERFORMANCE_METRICS[task]:
        named = monitor.metric if metric == monitor.metric else f"{monitor.metric} (Azure's {metric})"
        return "metric", (
            f"monitor {monitor.name}: Azure measures {', '.join(PERFORMANCE_METRICS[task])} for "
            f"{task.lower()}, not {named}"
        )
    if monitor.ground_truth is None:
        return "ground_truth", f"monitor {monitor.name}: Azure model performance needs ground_truth"
    return None


def recipient_problem(monitor: Monitor, to: str) -> str | None:
    if to.startswith("https://") or "@" in to:
        return None
    return (
        f"monitor {monitor.name}: alert recipient '{to}' is neither an e-mail address nor an https "
        "webhook; Azure ML alerts by e-mail and Event Grid delivers to webhooks"
    )


def recurrence_problem(cron: str) -> str | None:
    try:
        recurrence(cron)
    except MlstackError as exc:
        return str(exc)
    return None


def pullable(image: str) -> bool:
    host = image.split("/", 1)[0] if "/" in image else "docker.io"
    return host.endswith(".azurecr.io") or host in PUBLIC_REGISTRIES or "." not in host


def _models(spec: Spec) -> Iterator[Problem]:
    for gi, group in enumerate(spec.registry.model_groups):
        for vi, version in enumerate(group.versions):
            if message := model_type_problem(version):
                yield ("registry", "model_groups", gi, "versions", vi, "image"), message


def _features(spec: Spec) -> Iterator[Problem]:
    for vi, view in enumerate(spec.feature_store.views):
        if view.sync_schedule and view.online and (message := recurrence_problem(view.sync_schedule)):
            yield ("feature_store", "views", vi, "sync_schedule"), message
        if is_asset(view.source.uri):
            # "Only Azure storage and ABFS schema are supported" (CLI v2 feature set specification reference)
            yield (
                ("feature_store", "views", vi, "source", "uri"),
                f"feature view {view.name}: an Azure feature set reads a storage path, not the data asset "
                f"'{view.source.uri}'; write the asset's path (azureml://datastores/<datastore>/paths/<path>, "
                "abfss:// or wasbs://)",
            )


def _unreadable_sources(resolved: Resolved) -> Iterator[Problem]:
    """Sources the feature store's materialisation identity is given no read on: mlstack grants it only on
    the ML workspace's own storage (its workspaceblobstore datastore); other storage accounts are not
    known by id (audit Z7)."""
    if resolved.spec.target.azure is None:
        return  # no workspace yet: validation asks for target.azure first
    workspace = workspace_of(resolved)
    for vi, view in enumerate(resolved.spec.feature_store.views):
        if is_asset(view.source.uri):
            continue  # a problem already
        source = feature_source(view.source.uri, workspace)
        if source.on_workspace_storage:
            continue
        where = (
            f"the storage account behind datastore {source.datastore} of workspace {workspace.name}"
            if source.datastore
            else "the storage account it names"
        )
        yield (
            ("feature_store", "views", vi, "source", "uri"),
            f"feature view {view.name}: mlstack grants the feature store's materialisation identity "
            f"({materialization_identity(resolved)}) read access to the ML workspace's {WORKSPACE_DATASTORE} "
            f"only; grant it Storage Blob Data Reader on {where}, or materialisation cannot read "
            f"'{view.source.uri}'",
        )


def _pipelines(resolved: Resolved) -> Iterator[Problem]:
    for pi, pipeline in enumerate(resolved.spec.pipelines):
        for si in range(len(pipeline.steps)):
            if found := step_problem(pipeline, si):
                yield ("pipelines", pi, "steps", si, found[0]), found[1]


def _monitors(spec: Spec) -> Iterator[Problem]:
    for mi, monitor in enumerate(spec.monitors):
        if monitor.kind == "model_quality" and (found := performance_problem(monitor)):
            yield ("monitors", mi, found[0]), found[1]
        for ai, action in enumerate(monitor.actions):
            if action.type != "alert":
                continue
            for ti, to in enumerate(action.to):
                if message := recipient_problem(monitor, to):
                    yield ("monitors", mi, "actions", ai, "to", ti), message


def private_subnets(spec: Spec) -> list[str]:
    """The subnets the private endpoints go in: target.azure.subnets, else target.network.subnets."""
    azure = spec.target.azure
    network = spec.target.network
    return list((azure.subnets if azure else []) or (network.subnets if network else []))


def _network(spec: Spec) -> Iterator[Problem]:
    """private_endpoints turns public access off everywhere: without a private endpoint in a subnet the
    spec names, nothing (Studio, the SDK, `az ml`, clients, `pulumi up` itself) could reach the platform."""
    network = spec.target.network
    if not (network and network.private_endpoints):
        return
    subnets = private_subnets(spec)
    if not subnets:
        yield (
            ("target", "network", "private_endpoints"),
            (
                "private_endpoints: true turns off public access to the Azure workspace, its storage, key vault, "
                "registry and endpoints; they are reached through private endpoints in a subnet you name: set "
                f"target.azure.subnets (e.g. [{SUBNET_EXAMPLE}]) or private_endpoints: false"
            ),
        )
    key = "subnets" if spec.target.azure and spec.target.azure.subnets else None
    for i, subnet in enumerate(subnets):
        if not re.fullmatch(SUBNET_ID, subnet):
            where = ("target", "azure", "subnets", i) if key else ("target", "network", "subnets", i)
            yield where, f"'{subnet}' is not an Azure subnet id; expected {SUBNET_EXAMPLE}"


def _development(resolved: Resolved) -> Iterator[Problem]:
    """A development copy lives in its own workspace (models, pipelines and monitors are named plainly
    inside one): mlstack must create it, under the user's prefix."""
    settings = resolved.spec.target.azure
    if resolved.development and settings is not None and not settings.create_workspace:
        yield (
            ("environments", resolved.environment, "mode"),
            f"development mode on Azure deploys a per-user workspace ({resolved.prefix}-{settings.workspace}); "
            "with create_workspace: false the users would share one: set target.azure.create_workspace: true "
            "in this environment",
        )


def problems(resolved: Resolved) -> list[Problem]:
    spec = resolved.spec
    return [
        *_network(spec),
        *_models(spec),
        *serving_images.problems(resolved, SERVING_IMAGES, missing=False),
        *_features(spec),
        *_pipelines(resolved),
        *_monitors(spec),
        *_development(resolved),
    ]


_UNREADABLE = (
    "Azure ML reads Azure storage (abfss://, wasbs://, https://) and azureml: assets; a job reading '{uri}' "
    "would fail when it runs"
)
_UNPULLABLE = (
    "Azure ML pulls images from Azure Container Registry, MCR or Docker Hub; '{uri}' would fail when a job or "
    "deployment starts"
)


def _unreadable(spec: Spec) -> Iterator[Problem]:
    """Data and images Azure reads only when a job runs: the plan is still made, so these are warnings."""
    for gi, group in enumerate(spec.registry.model_groups):
        for vi, version in enumerate(group.versions):
            if version.image and not pullable(version.image):
                yield ("registry", "model_groups", gi, "versions", vi, "image"), _UNPULLABLE.format(uri=version.image)
    for mi, monitor in enumerate(spec.monitors):
        for key in ("baseline", "ground_truth"):
            uri = getattr(monitor, key)
            if uri and not uri.startswith(AZURE.source_schemes):
                yield ("monitors", mi, key), _UNREADABLE.format(uri=uri)
    for pi, pipeline in enumerate(spec.pipelines):
        if pipeline.data and not pipeline.data.startswith(AZURE.source_schemes):
            yield ("pipelines", pi, "data"), _UNREADABLE.format(uri=pipeline.data)
        if pipeline.image and not pullable(pipeline.image):
            yield ("pipelines", pi, "image"), _UNPULLABLE.format(uri=pipeline.image)
        for si, step in enumerate(pipeline.steps):
            if step.image and not pullable(step.image):
                yield ("pipelines", pi, "steps", si, "image"), _UNPULLABLE.format(uri=step.image)


def _small_instances(resolved: Resolved) -> Iterator[Problem]:
    """Variants served on an instance type Azure warns may be too small for a managed deployment (audit Z12)."""
    for ei, endpoint in enumerate(resolved.spec.endpoints):
        plan = resolved.endpoint_plan(endpoint)
        for variant in plan.variants:
            if variant.sku is not None and variant.sku.machine_type in SMALL_SERVING_SKUS:
                yield (
                    ("endpoints", ei, "compute") if endpoint.compute else ("endpoints", ei),
                    f"endpoint {endpoint.name}: variant {variant.name} is served on {variant.sku.machine_type}, which "
                    "Azure says may be too small for a managed online deployment (the container ends for lack of "
                    "memory or disk, or fails its probes); give it compute with more memory (e.g. memory_gb: 8)",
                )


def warnings(resolved: Resolved) -> list[Problem]:
    spec = resolved.spec
    found = [*_unreadable(spec), *_unreadable_sources(resolved), *_small_instances(resolved), *_rereads(spec)]
    for gi, group in enumerate(spec.registry.model_groups):
        if group.share_with:
            found.append(
                (
                    ("registry", "model_groups", gi, "share_with"),
                    f"model group {group.name}: share_with is not applied on Azure — grant the readers the "
                    "'AzureML Registry User' role on the registry (README: registry)",
                )
            )
    for bi, job in enumerate(spec.batch_jobs):
        if job.schedule and AZURE.batch_schedule_gap:
            found.append((("batch_jobs", bi, "schedule"), f"batch job {job.name}: {AZURE.batch_schedule_gap}"))
    for mi, monitor in enumerate(spec.monitors):
        for ai, action in enumerate(monitor.actions):
            if action.type == "rollback":
                found.append(
                    (
                        ("monitors", mi, "actions", ai),
                        f"monitor {monitor.name}: a rollback action has no target on Azure once a rollout has "
                        "ended (the replaced deployment is gone); rollouts roll back on the endpoint's own alarms "
                        "(README: rollback)",
                    )
                )
    return found
