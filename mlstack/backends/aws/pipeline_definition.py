"""A spec pipeline as a SageMaker Pipelines definition, rendered from templates/sagemaker/pipeline.json.j2.

Step kinds map to step types: data_validation, processing, evaluation and deployment run as Processing
jobs, training as a Training job, registration as RegisterModel, batch_scoring as a Transform step (the
batch job's own CreateTransformJob arguments, mlstack.backends.aws.batch; the steps after it wait for it
and read the job's declared output, not a pipeline input). An evaluation step with gates is
followed by a Condition step over its evaluation report (the flat `metrics.json`, `<name>`): the
steps that come after the evaluation run in its IfSteps, a Fail step in its ElseSteps.

Code runs from the step's image through mlstack's step adapter (`python3 -m mlstack.runtime.step`, the
one step contract of mlstack/runtime/contract.py), given SageMaker's paths: a processing step's inputs
under /opt/ml/processing/input/<step>, its output in /opt/ml/processing/<output>; a training step's
channels under /opt/ml/input/data/<channel>, its hyperparameters file, its model folder /opt/ml/model.
Data flows between steps through S3: each step's outputs land under
`s3://<bucket>/pipelines/<pipeline>/<execution id>/<step>/` and the steps that depend on it receive
them as inputs named after it. Gates read the evaluation's flat metrics.json, as on every target.

Pure (Jinja2 and json only): tests render it without Pulumi."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from mlstack.paths import TEMPLATES as TEMPLATES_ROOT
from mlstack.resolve.gates import ResolvedGate
from mlstack.resolve.pipelines import ancestors, dependencies
from mlstack.runtime.contract import CODE_KINDS
from mlstack.spec.models import Pipeline, Step

TEMPLATE = TEMPLATES_ROOT / "sagemaker" / "pipeline.json.j2"
TRIGGER_PARAMETER = "MlstackTrigger"
EVALUATION_REPORT = "EvaluationReport"
EVALUATION_FILE = "metrics.json"  # the contract's flat metrics file
CONTENT_TYPES = ["text/csv", "application/json"]
VOLUME_GB = 30
PROCESSING_ROOT = "/opt/ml/processing"
TRAINING_ROOT = "/opt/ml/input"
MODEL_DIR = "/opt/ml/model"
ADAPTER = ["python3", "-m", "mlstack.runtime.step"]

Expr = str | dict[str, Any]


@dataclass(frozen=True)
class Registration:
    group: str  # vendor name of the model package group
    image: str  # serving image recorded in the model package
    approval: str  # PendingManualApproval | Approved
    stage: str | None = None  # ModelLifeCycle.Stage a new version starts in (the group's first promotion stage)
    serves: str | None = None  # the stage this environment deploys from, when only promoted versions may be


@dataclass(frozen=True)
class Settings:
    """Everything the definition needs beyond the spec pipeline, as plain values."""

    bucket: str
    role_arn: str
    images: dict[str, str]  # step name -> container image
    instance_types: dict[str, str]  # step name -> instance type
    registrations: dict[str, Registration] = field(default_factory=dict)  # registration step name ->
    endpoints: dict[str, str] = field(default_factory=dict)  # deployment step name -> endpoint vendor name
    transforms: dict[str, dict[str, Any]] = field(default_factory=dict)  # batch_scoring step -> Transform Arguments
    champions: dict[str, float] = field(default_factory=dict)  # metric -> the champion's declared value
    feature_groups: list[str] = field(default_factory=list)
    feature_database: str | None = None
    kms_key: str | None = None
    network: dict[str, list[str]] | None = None  # {"subnets": [...], "security_groups": [...]}
    tracking: dict[str, str] = field(default_factory=dict)  # MLflow's variables for the code steps


def _join(*values: Expr) -> dict[str, Any]:
    """An S3 path from parts, flattening parts that are paths themselves."""
    flat: list[Expr] = []
    for value in values:
        inner = value.get("Std:Join") if isinstance(value, dict) else None
        flat.extend(inner["Values"] if inner and inner["On"] == "/" else [value])
    return {"Std:Join": {"On": "/", "Values": flat}}


def _as_text(value: Expr) -> Expr:
    return {"Std:Join": {"On": "", "Values": [value]}}


def _parameter_type(value: object) -> str:
    if isinstance(value, bool):
        return "Boolean"
    if isinstance(value, int):
        return "Integer"
    if isinstance(value, float):
        return "Float"
    return "String"


def _input_options(inputs: list[dict[str, Any]], local_path: Callable[[str], str]) -> list[str]:
    """The adapter's --input/--data options for the inputs SageMaker places at `local_path(name)`."""
    options = []
    for item in inputs:
        name = item["name"]
        options += ["--data", local_path(name)] if name == "data" else ["--input", f"{name}={local_path(name)}"]
    return options


def _adapter(pipeline: Pipeline, step: Step, output: str) -> list[str]:
    assert step.entrypoint is not None  # the spec models require it on code steps
    names = ("--kind", step.kind, "--pipeline", pipeline.name, "--step", step.name, "--output", output)
    return [*ADAPTER, step.entrypoint, *names]


def _champion_parameter(metric: str) -> str:
    return f"champion_{metric}"


class _Builder:
    def __init__(self, pipeline: Pipeline, settings: Settings) -> None:
        self.pipeline = pipeline
        self.settings = settings
        self.kinds = {s.name: s.kind for s in pipeline.steps}
        self.parameters: list[dict[str, Any]] = [
            {"name": name, "type": _parameter_type(value), "default": value}
            for name, value in sorted(pipeline.parameters.items())
        ]
        self.parameters.append({"name": TRIGGER_PARAMETER, "type": "String", "default": "manual"})

    def prefix(self, step: str) -> dict[str, Any]:
        root = f"s3://{self.settings.bucket}/pipelines/{self.pipeline.name}"
        return _join(root, {"Get": "Execution.PipelineExecutionId"}, step)

    def output_of(self, step: str) -> Expr:
        if self.kinds[step] == "training":
            return {"Get": f"Steps.{step}.ModelArtifacts.S3ModelArtifacts"}
        name = "evaluation" if self.kinds[step] == "evaluation" else "output"
        return {"Get": f"Steps.{step}.ProcessingOutputConfig.Outputs['{name}'].S3Output.S3Uri"}

    def inputs(self, index: int) -> list[dict[str, Any]]:
        deps = dependencies(self.pipeline, index)
        found = [
            {"name": dep, "uri": self.output_of(dep), "local_path": f"{PROCESSING_ROOT}/input/{dep}"}
            for dep in deps
            if self.kinds[dep] in CODE_KINDS
        ]
        if self.pipeline.data:  # every code step reads the pipeline's data (MLSTACK_DATA in the contract)
            found.append({"name": "data", "uri": self.pipeline.data, "local_path": f"{PROCESSING_ROOT}/input/data"})
        return found

    def arguments(self, step: Step) -> dict[str, Expr]:
        """Pipeline parameters (overridable per run) and the step's own, as strings."""
        values: dict[str, Expr] = {
            name: _as_text({"Get": f"Parameters.{name}"}) for name in sorted(self.pipeline.parameters)
        }
        values.update({name: str(value) for name, value in sorted(step.parameters.items())})
        return values

    def environment(self, step: Step) -> dict[str, Expr]:
        env: dict[str, Expr] = {
            "MLSTACK_PIPELINE": self.pipeline.name,
            "MLSTACK_STEP": step.name,
            "MLSTACK_TRIGGER": {"Get": f"Parameters.{TRIGGER_PARAMETER}"},
        }
        if self.settings.feature_groups:
            env["MLSTACK_FEATURE_GROUPS"] = ",".join(self.settings.feature_groups)
        if self.settings.feature_database:
            env["MLSTACK_FEATURE_DATABASE"] = self.settings.feature_database
        if step.kind in CODE_KINDS:
            env.update(self.settings.tracking)
        return env

    def base(self, index: int) -> dict[str, Any]:
        step = self.pipeline.steps[index]
        return {"name": step.name, "depends_on": dependencies(self.pipeline, index)}

    def processing(self, index: int) -> dict[str, Any]:
        step = self.pipeline.steps[index]
        out = "evaluation" if step.kind == "evaluation" else "output"
        view = {
            **self.base(index),
            "type": "Processing",
            "image": self.settings.images[step.name],
            "instance_type": self.settings.instance_types[step.name],
            "timeout": step.timeout,
            "environment": self.environment(step),
            "inputs": self.inputs(index),
            "outputs": [
                {"name": out, "uri": _join(self.prefix(step.name), out), "local_path": f"{PROCESSING_ROOT}/{out}"}
            ],
            "property_files": [],
        }
        if step.kind == "deployment":
            view["entrypoint"] = ["python3", "-m", "mlstack.deploy_job"]
            view["arguments"] = ["--endpoint", self.settings.endpoints[step.name], *self.deployed_model(index)]
            view["inputs"] = []
        else:
            view["entrypoint"] = _adapter(self.pipeline, step, f"{PROCESSING_ROOT}/{out}")
            view["arguments"] = [
                *_input_options(view["inputs"], lambda name: f"{PROCESSING_ROOT}/input/{name}"),
                "--run-id",
                {"Get": "Execution.PipelineExecutionId"},
                "--",
                *(part for k, v in self.arguments(step).items() for part in (f"--{k}", v)),
            ]
        if step.kind == "evaluation":
            view["property_files"] = [{"name": EVALUATION_REPORT, "output": out, "path": EVALUATION_FILE}]
        return view

    def deployed_model(self, index: int) -> list[Expr]:
        registrations = [j for j in ancestors(self.pipeline, index) if self.pipeline.steps[j].kind == "registration"]
        if not registrations:
            return []
        step = self.pipeline.steps[registrations[-1]]
        stage = self.settings.registrations[step.name].serves
        return [
            "--model-package",
            {"Get": f"Steps.{step.name}.ModelPackageArn"},
            *(["--stage", stage] if stage else []),
        ]

    def training(self, index: int) -> dict[str, Any]:
        step = self.pipeline.steps[index]
        inputs = self.inputs(index)
        channels = _input_options(inputs, lambda name: f"{TRAINING_ROOT}/data/{name}")
        return {
            **self.base(index),
            "type": "Training",
            "image": self.settings.images[step.name],
            "entrypoint": [
                *_adapter(self.pipeline, step, MODEL_DIR),
                *("--hyperparameters", f"{TRAINING_ROOT}/config/hyperparameters.json", *channels),
            ],
            "instance_type": self.settings.instance_types[step.name],
            "timeout": step.timeout,
            "output_path": self.prefix(step.name),
            "hyperparameters": self.arguments(step),
            "environment": self.environment(step),
            "inputs": inputs,
        }

    def registration(self, index: int) -> dict[str, Any]:
        step = self.pipeline.steps[index]
        before = ancestors(self.pipeline, index)
        trained = [j for j in before if self.pipeline.steps[j].kind == "training"]
        evaluated = [j for j in before if self.pipeline.steps[j].kind == "evaluation"]
        registration = self.settings.registrations[step.name]
        view = {
            **self.base(index),
            "type": "RegisterModel",
            "group": registration.group,
            "approval": registration.approval,
            "image": registration.image,
            "model_data": self.output_of(self.pipeline.steps[trained[-1]].name),
            "metadata": self.lineage(trained[-1]),
            "statistics": None,
        }
        if registration.stage:
            view["life_cycle"] = {"Stage": registration.stage, "StageStatus": "Registered"}
        if step.aliases:  # the deploy job (or a person approving) moves these aliases to the new version
            view["metadata"]["mlstack:aliases"] = ",".join(step.aliases)
        if evaluated:
            view["statistics"] = _join(self.output_of(self.pipeline.steps[evaluated[-1]].name), EVALUATION_FILE)
        return view

    def lineage(self, trainer: int) -> dict[str, Expr]:
        """What the model package records of where it came from (CustomerMetadataProperties): the
        pipeline and its execution (which SageMaker links to every step's job, inputs and outputs), the
        training image (tagged by content), the data and the feature groups of the spec's feature views.
        Values keep to the API's character set: names are joined with spaces, not commas."""
        found: dict[str, Expr] = {
            "mlstack:pipeline": self.pipeline.name,
            "mlstack:execution": {"Get": "Execution.PipelineExecutionId"},
            "mlstack:training-image": self.settings.images[self.pipeline.steps[trainer].name],
        }
        if self.pipeline.data:
            found["mlstack:data"] = self.pipeline.data
        if self.pipeline.feature_views:
            found["mlstack:feature-views"] = " ".join(self.pipeline.feature_views)
        return found

    def conditions(self, step: Step) -> list[dict[str, Any]]:
        report = {"Get": f"Steps.{step.name}.PropertyFiles.{EVALUATION_REPORT}"}
        found = []
        for gate in step.gates:
            value = {"Std:JsonGet": {"PropertyFile": report, "Path": gate.metric}}
            if gate.min is not None:
                found.append({"type": "GreaterThanOrEqualTo", "left": value, "right": gate.min})
            if gate.max is not None:
                found.append({"type": "LessThanOrEqualTo", "left": value, "right": gate.max})
            if gate.beat_champion and gate.metric in self.settings.champions:
                # The champion's declared value, moved by the tolerance on the metric's side
                # (mlstack.resolve.gates), as an overridable parameter: a run started after the champion
                # changed can pass the new one. No champion: nothing to beat, the first model passes.
                resolved = ResolvedGate.of(gate)
                name = _champion_parameter(gate.metric)
                if all(p["name"] != name for p in self.parameters):
                    default = resolved.champion_bound(self.settings.champions[gate.metric])
                    self.parameters.append({"name": name, "type": "Float", "default": round(default, 12)})
                found.append(
                    {
                        "type": "LessThanOrEqualTo" if resolved.lower_is_better else "GreaterThanOrEqualTo",
                        "left": value,
                        "right": {"Get": f"Parameters.{name}"},
                    }
                )
        return found

    def transform(self, index: int) -> dict[str, Any]:
        step = self.pipeline.steps[index]
        return {**self.base(index), "type": "Transform", "arguments": self.settings.transforms[step.name]}

    def view(self, index: int) -> dict[str, Any]:
        kind = self.pipeline.steps[index].kind
        if kind == "batch_scoring":
            return self.transform(index)
        if kind == "training":
            return self.training(index)
        if kind == "registration":
            return self.registration(index)
        return self.processing(index)

    def gate_of(self, index: int) -> int | None:
        """The nearest gated evaluation a step waits for: the step runs inside that gate's IfSteps."""
        gated = [j for j in ancestors(self.pipeline, index) if self.pipeline.steps[j].gates]
        return gated[-1] if gated else None

    def place(self, owner: int | None) -> list[dict[str, Any]]:
        views = []
        for index, step in enumerate(self.pipeline.steps):
            if self.gate_of(index) != owner:
                continue
            views.append(self.view(index))
            if step.gates:
                conditions = self.conditions(step)
                failed = "; ".join(_describe(c) for c in conditions)
                views.append(
                    {
                        "name": f"{step.name}-gates",
                        "type": "Condition",
                        "depends_on": [step.name],
                        "conditions": conditions,
                        "if_steps": self.place(index),
                        "else_steps": [
                            {
                                "name": f"{step.name}-gates-failed",
                                "type": "Fail",
                                "message": f"{step.name}: quality gates not met ({failed})",
                            }
                        ],
                    }
                )
        return views


def _describe(condition: dict[str, Any]) -> str:
    metric = condition["left"]["Std:JsonGet"]["Path"]
    right = condition["right"]
    bound = right["Get"].removeprefix("Parameters.") if isinstance(right, dict) else right
    return f"{metric} {'>=' if condition['type'] == 'GreaterThanOrEqualTo' else '<='} {bound}"


@cache
def _template() -> Any:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(loader=FileSystemLoader(TEMPLATE.parent), undefined=StrictUndefined, autoescape=False)
    env.policies["json.dumps_kwargs"] = {"sort_keys": False}
    return env.get_template(TEMPLATE.name)


def render(pipeline: Pipeline, settings: Settings) -> str:
    """The definition as compact JSON with sorted keys (stable across runs, so plans diff cleanly)."""
    builder = _Builder(pipeline, settings)
    top = builder.place(None)
    text = _template().render(
        parameters=builder.parameters,
        top_steps=top,
        role_arn=settings.role_arn,
        kms_key=settings.kms_key,
        network=settings.network,
        volume_gb=VOLUME_GB,
        content_types=CONTENT_TYPES,
    )
    return json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"))
