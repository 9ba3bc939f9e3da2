"""A spec pipeline as a KFP pipeline spec (IR JSON) for Vertex AI Pipelines, rendered from
templates/vertex/pipeline.json.j2.

Each step is a container task; code steps run their entrypoint in the step's image with the pipeline
parameters as `--name=value` arguments, `--output=<dir>` for what they produce and `--input-<step>=<dir>`
for each step they depend on. mlstack's own steps (quality gates, registration, deployment, monitoring,
shadow replay) run `python3 -m mlstack.backends.gcp.runtime` in a stock Python image that installs
mlstack first (from where the planning mlstack came from: mlstack.source), the way KFP's lightweight
components install the KFP SDK."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import mlstack
from mlstack.catalog import Sku
from mlstack.paths import TEMPLATES as TEMPLATES_ROOT
from mlstack.source import runtime_requirement

TEMPLATES = TEMPLATES_ROOT / "vertex"
SYSTEM_IMAGE = "python:3.11-slim"
SYSTEM_REQUIREMENT = runtime_requirement("gcp")  # the mlstack running this plan, never PyPI's `mlstack`
SYSTEM_COMMAND = [
    "sh",
    "-c",
    'python3 -m pip install --quiet --no-warn-script-location "$0" && exec python3 -m mlstack.backends.gcp.runtime "$@"',
    SYSTEM_REQUIREMENT,
]
# How a `module:function` entrypoint is started (a .py file runs as a script).
FUNCTION_LAUNCHER = (
    "import importlib, sys; module, function = sys.argv.pop(1).split(':'); "
    "getattr(importlib.import_module(module), function)()"
)
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

    @staticmethod
    def system(name: str, subcommand: str, options: dict[str, str], after: list[str] | None = None) -> Task:
        args = [subcommand, *(f"--{key}={value}" for key, value in options.items())]
        return Task(name, SYSTEM_IMAGE, list(SYSTEM_COMMAND), args, after=list(after or []))


def entrypoint_command(entrypoint: str) -> list[str]:
    if entrypoint.endswith(".py"):
        return ["python3", entrypoint]
    return ["python3", "-c", FUNCTION_LAUNCHER, entrypoint]


def output_path() -> str:
    return "{{$.outputs.artifacts['output'].path}}"


def input_path(task: str) -> str:
    return f"{{{{$.inputs.artifacts['{task}'].path}}}}"


def input_uri(task: str) -> str:
    return f"{{{{$.inputs.artifacts['{task}'].uri}}}}"


def parameter(name: str) -> str:
    return f"{{{{$.inputs.parameters['{name}']}}}}"


def resources(sku: Sku | None) -> dict[str, Any] | None:
    if sku is None:
        return None
    spec: dict[str, Any] = {"resourceCpuLimit": str(sku.vcpus), "resourceMemoryLimit": f"{sku.memory_gb:g}G"}
    if sku.accelerator_type:
        spec["accelerator"] = {"resourceType": sku.accelerator_type, "resourceCount": str(sku.accelerator_count)}
    return spec


def parameter_type(value: object) -> str:
    return PARAMETER_TYPES[type(value)]


@cache
def _template() -> Any:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined, autoescape=False)
    env.policies["json.dumps_kwargs"] = {"sort_keys": True}
    return env.get_template("pipeline.json.j2")


def render(name: str, description: str, pipeline_root: str, parameters: dict[str, Any], tasks: list[Task]) -> str:
    """The pipeline spec as compact JSON (parsed and re-dumped, so the text is stable and valid)."""
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
