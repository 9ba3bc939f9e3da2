"""What Vertex AI lowering would refuse, found before any resource is declared.

`problems(resolved)` yields (spec path, message) for `mlstack validate`; the lowering modules call the
same functions (and raise their message), so plan finds nothing validate passed. No Pulumi or Google
SDK is imported here."""

from __future__ import annotations

from collections.abc import Iterator

from mlstack.backends import serving_images
from mlstack.backends.gcp.sources import bigquery_table
from mlstack.errors import Path
from mlstack.resolve import Resolved
from mlstack.resolve.pipelines import graph
from mlstack.spec.models import Autoscaling, ModelVersion, Monitor, Pipeline, Spec, Step
from mlstack.targets import GCP
from mlstack.targets.gcp import POSITIONAL_FRAMEWORKS, SERVING_IMAGES, VERTEX_DISTANCE

Problem = tuple[Path, str]

# spec autoscaling metric -> Vertex AutoscalingMetricSpec.metric_name (and whether its target is a %)
AUTOSCALING_METRICS = {
    "invocations_per_instance": ("aiplatform.googleapis.com/prediction/online/request_count", False),
    "cpu_utilization": ("aiplatform.googleapis.com/prediction/online/cpu/utilization", True),
    "gpu_utilization": ("aiplatform.googleapis.com/prediction/online/accelerator/duty_cycle", True),
}
CODE_STEPS = ("data_validation", "processing", "training", "evaluation")
NUMERIC = ("int32", "int64", "float32", "float64")


def _served(resolved: Resolved, version: ModelVersion) -> list[serving_images.Use]:
    return [u for u in serving_images.uses(resolved) if u.version is version]


def serving_image(resolved: Resolved, version: ModelVersion, group: str) -> tuple[str | None, str | None]:
    """(image URI, None) for a version, or (None, why not). A Vertex model version holds one image: the GPU
    image when any endpoint serving it runs on GPUs (Vertex's GPU images also run on CPU machines)."""
    if version.image:
        return version.image, None
    uses = sorted(_served(resolved, version), key=lambda u: not u.gpu)
    if uses:
        choice = serving_images.choose(SERVING_IMAGES, uses[0])
    else:
        gpu = serving_images.serves_on_gpu(resolved, group)
        choice = SERVING_IMAGES.choose(version.framework, version.framework_version, gpu)
        if isinstance(choice, str):
            choice = f"model group '{group}' version {version.version}: {choice}"
    if isinstance(choice, str):
        return None, choice
    return SERVING_IMAGES.uri(choice, resolved.region or ""), None


def autoscaling_problem(endpoint: str, scaling: Autoscaling) -> str | None:
    _, percent = AUTOSCALING_METRICS[scaling.metric]
    target = round(scaling.target)
    if percent and not 1 <= target <= 100:
        return f"endpoint '{endpoint}': Vertex autoscales {scaling.metric} to a target of 1-100 (%), not {target}"
    return None


def upstream(pipeline: Pipeline, step: Step, kind: str) -> str | None:
    """The nearest earlier step of `kind` that `step` (transitively) depends on."""
    deps = graph(pipeline)
    by_name = {s.name: s for s in pipeline.steps}
    seen, frontier = set(), [step.name]
    while frontier:
        current = frontier.pop(0)
        for dep in deps.get(current, []):
            if dep in seen or dep not in by_name:
                continue
            seen.add(dep)
            if by_name[dep].kind == kind:
                return dep
            frontier.append(dep)
    return None


def step_problem(spec: Spec, pipeline: Pipeline, step: Step) -> tuple[str, str] | None:
    """(field, message) for a step Vertex cannot run as written."""
    where = f"pipeline '{pipeline.name}' step '{step.name}'"
    if step.kind in CODE_STEPS and (step.image or pipeline.image) is None:
        return "image", f"{where}: Vertex runs steps in a container; set image"
    if step.kind == "registration":
        group = spec.model_group(step.model_group or "")
        if group is None or not group.versions or upstream(pipeline, step, "training") is None:
            return "kind", (
                f"{where}: on Vertex registration needs a training step before it "
                f"and a declared version of '{step.model_group}' to take the serving image from"
            )
    if step.kind == "deployment" and upstream(pipeline, step, "registration") is None:
        return "kind", (
            f"{where}: on Vertex a deployment step rolls out what a registration step before it registered; add one"
        )
    return None


def native(monitor: Monitor) -> bool:
    return monitor.kind == "data_drift" and monitor.metric in GCP.metrics


def feature_kind(spec: Spec, feature: str) -> str:
    dtypes = {f.name: f.dtype for v in spec.feature_store.views for f in v.features}
    return "numeric" if dtypes.get(feature, "float64") in NUMERIC else "categorical"


def distance_problem(spec: Spec, monitor: Monitor, feature: str) -> str | None:
    kind = feature_kind(spec, feature)
    if VERTEX_DISTANCE[kind] == monitor.metric:
        return None
    return (
        f"monitor '{monitor.name}': Vertex measures {kind} feature '{feature}' with "
        f"{VERTEX_DISTANCE[kind]}, not {monitor.metric}; split the monitor by feature type"
    )


def baselines_problem(endpoint: str, monitors: list[Monitor]) -> str | None:
    if len({m.baseline for m in monitors}) <= 1:
        return None
    return (
        f"endpoint '{endpoint}': its drift monitors ({', '.join(m.name for m in monitors)}) name different "
        "baselines, but Vertex runs one monitoring job per endpoint against one training dataset"
    )


def _models(resolved: Resolved) -> Iterator[Problem]:
    for gi, group in enumerate(resolved.spec.registry.model_groups):
        for vi, version in enumerate(group.versions):
            if message := serving_image(resolved, version, group.name)[1]:
                yield ("registry", "model_groups", gi, "versions", vi, "framework"), message


def _features(spec: Spec) -> Iterator[Problem]:
    for vi, view in enumerate(spec.feature_store.views):
        if view.source.uri.startswith(GCP.source_schemes) and bigquery_table(view.source.uri) is None:
            yield (
                ("feature_store", "views", vi, "source", "uri"),
                f"'{view.source.uri}': Vertex feature groups read a BigQuery table: bq://project.dataset.table",
            )


def _endpoints(spec: Spec) -> Iterator[Problem]:
    for ei, endpoint in enumerate(spec.endpoints):
        if endpoint.autoscaling and (message := autoscaling_problem(endpoint.name, endpoint.autoscaling)):
            yield ("endpoints", ei, "autoscaling", "target"), message


def _pipelines(spec: Spec) -> Iterator[Problem]:
    for pi, pipeline in enumerate(spec.pipelines):
        for si, step in enumerate(pipeline.steps):
            if found := step_problem(spec, pipeline, step):
                yield ("pipelines", pi, "steps", si, found[0]), found[1]


def positional(resolved: Resolved, endpoint: str) -> bool:
    """Whether the endpoint serves a model whose Vertex image takes unnamed (array) instances."""
    plan = next(p for p in resolved.endpoints if p.endpoint.name == endpoint)
    return any(v.version is not None and v.version.framework in POSITIONAL_FRAMEWORKS for v in plan.variants)


def instance_schema(resolved: Resolved, endpoint: str, monitors: list[Monitor]) -> dict[str, object] | None:
    """The analysis instance schema for an endpoint's monitoring job (OpenAPI object as Vertex reads it),
    or None when Vertex can name the features itself or no monitor names any. Array instances carry no
    names: the features the endpoint's drift monitors name, in spec order (monitors are split by feature
    type, so several may), are the model's inputs in request order."""
    named = list(dict.fromkeys(f for m in monitors for f in m.features))
    if not named or not positional(resolved, endpoint):
        return None
    spec = resolved.spec
    types = {f: "number" if feature_kind(spec, f) == "numeric" else "string" for f in named}
    return {"type": "array", "properties": {f: {"type": t} for f, t in types.items()}, "required": list(named)}


def _monitors(spec: Spec) -> Iterator[Problem]:
    native_by_endpoint: dict[str, list[Monitor]] = {}
    for mi, monitor in enumerate(spec.monitors):
        if not native(monitor):
            continue
        for fi, feature in enumerate(monitor.features):
            if message := distance_problem(spec, monitor, feature):
                yield ("monitors", mi, "features", fi), message
        group = native_by_endpoint.setdefault(monitor.endpoint, [])
        group.append(monitor)
        if message := baselines_problem(monitor.endpoint, group):
            yield ("monitors", mi, "baseline"), message


def psc_network(spec: Spec) -> str | None:
    """The VPC network private endpoints are reached from, as projects/P/global/networks/N: target.gcp.network,
    else target.network.vpc."""
    settings, network = spec.target.gcp, spec.target.network
    name = (settings.network if settings else None) or (network.vpc if network else None)
    if not name or settings is None:
        return None
    return name if name.startswith("projects/") else f"projects/{settings.project}/global/networks/{name}"


def _subnet_name(spec: Spec) -> str | None:
    settings, network = spec.target.gcp, spec.target.network
    return (settings.subnet if settings else None) or (network.subnets[0] if network and network.subnets else None)


def psc_subnet(spec: Spec, region: str) -> str | None:
    """The subnet holding the online store's forwarding rule address: target.gcp.subnet, else the first of
    target.network.subnets, as projects/P/regions/R/subnetworks/S."""
    name, settings = _subnet_name(spec), spec.target.gcp
    if not name or settings is None:
        return None
    return name if name.startswith("projects/") else f"projects/{settings.project}/regions/{region}/subnetworks/{name}"


def private_online_store(spec: Spec) -> bool:
    """Whether the online store is served through Private Service Connect (Bigtable stores have no PSC endpoint)."""
    network = spec.target.network
    optimized = spec.feature_store.online_store == "optimized"
    return optimized and any(v.online for v in spec.feature_store.views) and (network is None or network.private_endpoints)


def _unreachable(spec: Spec) -> Iterator[Problem]:
    """A Private Service Connect endpoint is served only through a forwarding rule in a VPC network: with no
    network named, nothing could ever reach it. With one, Vertex creates each endpoint's forwarding rule there
    (PSC automation) and mlstack the online store's (to its service attachment, at an address in the subnet)."""
    network = psc_network(spec)
    how = (
        "Vertex serves it only through a Private Service Connect forwarding rule in a VPC network "
        "(https://cloud.google.com/vertex-ai/docs/predictions/private-service-connect)"
    )
    for ei, endpoint in enumerate(spec.endpoints):
        if not endpoint.public and network is None:
            yield (
                ("endpoints", ei, "public"),
                f"endpoint '{endpoint.name}' is private and nothing could reach it: {how}. Name the network in "
                "target.gcp.network (e.g. ml-vpc; Vertex then creates the forwarding rule there), or set public: true",
            )
    if private_online_store(spec) and (network is None or _subnet_name(spec) is None):
        lacking = " and ".join(f"target.gcp.{k}" for k, v in (("network", network), ("subnet", _subnet_name(spec))) if not v)
        path: Path = ("target", "network", "private_endpoints") if spec.target.network else ("feature_store",)
        yield (
            path,
            f"the online feature store is private and nothing could reach it: {how}. Set {lacking} (mlstack then "
            "creates the forwarding rule to the store's service attachment there), or "
            "target.network.private_endpoints: false",
        )


def _automation_policy(spec: Spec) -> Iterator[Problem]:
    """PSC automation creates forwarding rules only in a network with a service connection policy for Vertex AI
    in the region, which the network's administrator makes (it governs who may create endpoints in the network)."""
    network = psc_network(spec)
    if network is None or all(e.public for e in spec.endpoints):
        return
    settings = spec.target.gcp
    path: Path = ("target", "gcp", "network") if settings and settings.network else ("target", "network", "vpc")
    yield (
        path,
        f"Vertex creates the private endpoints' forwarding rules in {network} through Private Service Connect "
        "automation, which needs a service connection policy for Vertex AI in that network and region "
        "(https://cloud.google.com/vpc/docs/about-service-connection-policies); without one the endpoint's "
        "pscAutomationConfigs state is PSC_AUTOMATION_STATE_FAILED and only a forwarding rule you create reaches it",
    )


def _timeouts(spec: Spec) -> Iterator[Problem]:
    """Vertex pipeline container tasks have no per-task timeout: a step's timeout that the spec sets (other
    than the default every step has) is not enforced there, so say so where it is set."""
    default = Step.model_fields["timeout"].default
    for pi, pipeline in enumerate(spec.pipelines):
        for si, step in enumerate(pipeline.steps):
            if step.timeout != default:
                yield (
                    ("pipelines", pi, "steps", si, "timeout"),
                    f"step '{step.name}': Vertex runs pipeline tasks without a per-task timeout, so this one is "
                    "not enforced; the pipeline run stops only when cancelled",
                )


def warnings(resolved: Resolved) -> list[Problem]:
    """Where the platform works only once something outside the stack exists, or does less than the spec."""
    return [*_automation_policy(resolved.spec), *_timeouts(resolved.spec)]


def _batch_jobs(spec: Spec) -> Iterator[Problem]:
    for bi, job in enumerate(spec.batch_jobs):
        path: Path = ("batch_jobs", bi)
        if job.format not in GCP.batch_formats:
            yield (
                (*path, "format"),
                "Vertex batch prediction reads CSV, JSON Lines, TFRecord or BigQuery: use format: csv",
            )
        for where, uri in ((("input", "uri"), job.input.uri), (("output",), job.output)):
            if uri is not None and not uri.startswith("gs://"):
                yield (*path, *where), "Vertex batch prediction reads and writes Cloud Storage: give a gs:// URI"


def problems(resolved: Resolved) -> list[Problem]:
    spec = resolved.spec
    return [
        *_models(resolved),
        *_features(spec),
        *_endpoints(spec),
        *_pipelines(spec),
        *_monitors(spec),
        *_batch_jobs(spec),
        *_unreachable(spec),
    ]
