"""A spec pipeline as a KFP pipeline spec (IR JSON) for Vertex AI Pipelines, rendered from
templates/vertex/pipeline.json.j2.

Each step is a container task; code steps run mlstack's step adapter (`python3 -m mlstack.runtime.step`,
the one step contract of mlstack/runtime/contract.py) in the step's image with mlstack added, given the
task's artifact paths: `--output=<dir>` for what it produces, `--input=<step>=<dir>` for each step it
depends on, the pipeline data through Cloud Storage FUSE (/gcs/<bucket>/...) and, after `--`, the
parameters as `--name=value`. mlstack's own steps (quality gates, registration, deployment, monitoring,
shadow replay) run `python3 -m mlstack.backends.gcp.runtime` in mlstack's runtime image. The stack
builds both kinds of image from the installed mlstack and pushes them to its Artifact Registry
repository (platform.py); nothing is installed when a task runs."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import mlstack
from mlstack.catalog import Sku
from mlstack.paths import TEMPLATES as TEMPLATES_ROOT

TEMPLATES = TEMPLATES_ROOT / "vertex"
RUNTIME = ""  # the image of mlstack's own tasks: the runtime image, filled in by `render`
SYSTEM_COMMAND = ["python3", "-m", "mlstack.backends.gcp.runtime"]
ADAPTER = ["python3", "-m", "mlstack.runtime.step"]
GCS_FUSE = "/gcs/"  # where Vertex custom jobs mount Cloud Storage buckets
PARAMETER_TYPES = {bool: "BOOLEAN", int: "NUMBER_INTEGER", float: "NUMBER_DOUBLE", str: "STRING"}


@dataclass
class Task:
    name: str
    image: str
    command: list[str]
    args: list[str] = field(default_factory=list)
    after: list[str] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)  # producer tasks whose `output` artifact this task reads
    parameters: list[str] = field(default_factory=list)  # pipeline parameters passed in
    resources: dict[str, Any] | None = None
    env: dict[str, str] = field(default_factory=dict)  # the container's environment variables

    @staticmethod
    def system(name: str, subcommand: str, options: dict[str, str], after: list[str] | None = None) -> Task:
        args = [subcommand, *(f"--{key}={value}" for key, value in options.items())]
        return Task(name, RUNTIME, list(SYSTEM_COMMAND), args, after=list(after or []))


def fuse_path(uri: str) -> str:
    """A gs:// URI as the path Vertex mounts it at in a job's container; other paths unchanged."""
    return GCS_FUSE + uri.removeprefix("gs://") if uri.startswith("gs://") else uri


def pipeline_job_name() -> str:
    return "{{$.pipeline_job_name}}"


def output_path() -> str:
    return "{{$.outputs.artifacts['output'].path}}"


def input_path(task: str) -> str:
    return f"{{{{$.inputs.artifacts['{task}'].path}}}}"


def input_uri(task: str) -> str:
    return f"{{{{$.inputs.artifacts['{task}'].uri}}}}"


def parameter(name: str) -> str:
    return f"{{{{$.inputs.parameters['{name}']}}}}"


def resources(sku: Sku | None) -> dict[str, Any] | None:
    """A task's machine in both forms of the KFP ResourceSpec, as the KFP SDK compiles it: the string fields
    and the older numeric ones (cpuLimit, memoryLimit in GB, accelerator type/count), which backends that
    read only those still honour (kubeflow/pipelines#11500, audit G10)."""
    if sku is None:
        return None
    spec: dict[str, Any] = {
        "cpuLimit": float(sku.vcpus),
        "memoryLimit": float(sku.memory_gb),
        "resourceCpuLimit": str(sku.vcpus),
        "resourceMemoryLimit": f"{sku.memory_gb:g}G",
    }
    if sku.accelerator_type:
        spec["accelerator"] = {
            "type": sku.accelerator_type,
            "count": str(sku.accelerator_count),
            "resourceType": sku.accelerator_type,
            "resourceCount": str(sku.accelerator_count),
        }
    return spec


def parameter_type(value: object) -> str:
    return PARAMETER_TYPES[type(value)]


@cache
def _template() -> Any:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined, autoescape=False)
    env.policies["json.dumps_kwargs"] = {"sort_keys": True}
    return env.get_template("pipeline.json.j2")


def render(
    name: str, description: str, pipeline_root: str, parameters: dict[str, Any], tasks: list[Task], runtime_image: str
) -> str:
    """The pipeline spec as compact JSON (parsed and re-dumped, so the text is stable and valid); mlstack's
    own tasks run `runtime_image`."""
    for task in tasks:
        if task.image == RUNTIME:
            task.image = runtime_image
    text = _template().render(
        name=name,
        description=description,
        pipeline_root=pipeline_root,
        sdk_version=f"mlstack-{mlstack.__version__}",
        parameters=[{"name": k, "type": parameter_type(v), "default": v} for k, v in sorted(parameters.items())],
        parameter_types={k: parameter_type(v) for k, v in parameters.items()},
        tasks=tasks,
    )
    return json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"))
