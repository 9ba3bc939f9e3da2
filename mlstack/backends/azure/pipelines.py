"""Pipelines as Azure ML pipeline jobs: the steps as command components (ComponentVersion), the job
rendered from templates/azureml/pipeline_job.yaml.j2, a Schedule with a cron trigger when the spec gives
one, and a Logic App that submits the same job when a monitor alerts (mlstack.backends.azure.events).
A batch_scoring step invokes its batch job's batch endpoint and waits for it (batch_step.py), on the
batch job's cluster."""

from __future__ import annotations

import io
import json
import logging
import shlex
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
import pulumi
import yaml
from pulumi_azure_native import machinelearningservices as ml

from mlstack.backends.azure.batch import DEPLOYMENT, batch_endpoint_name
from mlstack.backends.azure.checks import RUNTIME_STEPS, step_problem
from mlstack.backends.azure.context import Azure, short_hash
from mlstack.backends.azure.endpoints import Deployment, endpoint_arm_id, rollback_rule_ids
from mlstack.backends.azure.environments import Environments
from mlstack.backends.azure.iam import grant
from mlstack.backends.azure.rollout import rollout_of
from mlstack.backends.azure.workspace import runtime_images
from mlstack.backends.components import SpecComponent
from mlstack.errors import MlstackError
from mlstack.paths import TEMPLATES as TEMPLATES_ROOT
from mlstack.resolve.gates import ResolvedGate
from mlstack.resolve.pipelines import ancestors, dependencies
from mlstack.runtime.images import runtime_image, step_image
from mlstack.spec.models import Gate, Pipeline, Step

TEMPLATE = TEMPLATES_ROOT / "azureml" / "pipeline_job.yaml.j2"
# Deployment steps run mlstack's Azure runtime (mlstack.backends.azure.deploy_job) in the image the stack
# builds; the key stands for it among the steps' images.
RUNTIME = "mlstack:runtime"
RUNTIME_IMAGE = runtime_image("azure")
# azure-ai-ml announces each experimental class it loads; a plan is no place for that
logging.getLogger("azure.ai.ml._utils._experimental").setLevel(logging.ERROR)
_INPUT_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string"}


@cache
def _template() -> jinja2.Template:
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True)
    env.filters["shell"] = lambda value: shlex.quote(str(value))
    return env.from_string(TEMPLATE.read_text())


def job_id(step: str) -> str:
    """A pipeline node name: Azure allows letters, digits and underscores."""
    return step.replace("-", "_")


def component_name(ctx: Azure, pipeline: str, step: str) -> str:
    return "_".join(p.replace("-", "_") for p in (ctx.spec_name, pipeline, step))


def _gates(ctx: Azure, pipeline: Pipeline, gates: list[Gate]) -> list[dict[str, Any]]:
    """Gates as metric bounds, the champion's declared metric folded in on the metric's side
    (mlstack.resolve.gates); with no champion there is nothing to beat and the bound is left out."""
    champion = ctx.resolved.champion_metrics(pipeline)
    out = []
    for gate in gates:
        low, high = ResolvedGate.of(gate).bounds(champion.get(gate.metric))
        out.append({"metric": gate.metric, "min": low, "max": high})
    return out


def _upstream_training(pipeline: Pipeline, index: int) -> str:
    trained = next((j for j in reversed(ancestors(pipeline, index)) if pipeline.steps[j].kind == "training"), None)
    assert trained is not None  # checks.step_problem
    return job_id(pipeline.steps[trained].name)


@dataclass
class PipelineJob:
    """The rendered job: components (name -> YAML spec) and the pipeline job YAML, plus their REST forms."""

    components: dict[str, dict[str, Any]]
    job: dict[str, Any]

    def rest_components(self) -> dict[str, dict[str, Any]]:
        from azure.ai.ml import load_component

        return {
            name: load_component(io.StringIO(yaml.safe_dump(spec)))._to_rest_object().properties.component_spec
            for name, spec in self.components.items()
        }

    def rest_job(self) -> dict[str, Any]:
        """The pipeline job as azure-ai-ml sends it (`properties` of a Job resource)."""
        from azure.ai.ml import load_job

        rest = load_job(io.StringIO(yaml.safe_dump(self.job)))._to_rest_object()
        return json.loads(json.dumps(rest.as_dict()["properties"]))


def render(ctx: Azure, pipeline: Pipeline, context: dict[str, Any]) -> PipelineJob:
    text = _template().render(**context)
    document = yaml.safe_load(text)
    return PipelineJob(components=document["components"], job=document["pipeline"])


def template_context(
    ctx: Azure,
    pipeline: Pipeline,
    *,
    environments: dict[str, str],
    computes: dict[str, str],
    deployments: dict[str, Deployment],
    feature_sets: dict[str, str],
) -> dict[str, Any]:
    """Everything the template needs, as plain strings: environments and computes are ARM ids."""
    resolved = ctx.resolved
    steps = []
    for index, step in enumerate(pipeline.steps):
        sku = resolved.step_sku(pipeline.name, step.name)
        if problem := step_problem(pipeline, index):
            raise MlstackError(problem[1])
        image = RUNTIME if step.kind in RUNTIME_STEPS else step.image or pipeline.image
        deps = [job_id(d) for d in dependencies(pipeline, index)]
        parameters = {
            **{
                k: {"type": _INPUT_TYPES[type(v)], "value": v, "from_pipeline": True}
                for k, v in pipeline.parameters.items()
            },
            **{
                k: {"type": _INPUT_TYPES[type(v)], "value": v, "from_pipeline": False}
                for k, v in step.parameters.items()
            },
        }
        if step.kind not in ("data_validation", "processing", "training", "evaluation"):
            parameters = {}
        entry = {
            "job": job_id(step.name),
            "name": step.name,
            "kind": step.kind,
            "entrypoint": step.entrypoint,
            "environment": environments[image],
            "compute": computes.get(sku.sku) if sku else None,
            "timeout": step.timeout,
            "deps": deps,
            "dep_steps": {job_id(d): d for d in dependencies(pipeline, index)},  # node name -> step name
            "data": bool(pipeline.data) and step.kind in ("data_validation", "processing", "training", "evaluation"),
            "parameters": parameters,
            "gates": _gates(ctx, pipeline, step.gates),
            "env": {"MLSTACK_FEATURE_SETS": ",".join(v for _, v in sorted(feature_sets.items()))}
            if pipeline.feature_views
            else {},
        }
        if step.kind == "registration":
            entry |= {"model_group": step.model_group, "model_from": _upstream_training(pipeline, index)}
        if step.kind == "deployment":
            entry["deploy"] = _deploy_target(ctx, pipeline, step, deployments)
        if step.kind == "batch_scoring":
            entry["batch"] = _batch_target(ctx, step)
        spec_version = short_hash(json.dumps(entry, sort_keys=True, default=str), digits=12)
        name = component_name(ctx, pipeline.name, step.name)
        entry["component"] = {
            "name": name,
            "version": spec_version,
            "id": ctx.asset_id("components", name, spec_version),
        }
        steps.append(entry)
    data = None
    if pipeline.data:
        data = {"uri": pipeline.data, "type": "uri_file" if Path(pipeline.data).suffix else "uri_folder"}
    return {
        "pipeline": {
            "name": pipeline.name,
            "description": pipeline.description,
            "experiment": f"{ctx.spec_name}-{pipeline.name}",
        },
        "tags": ctx.tags,
        "parameters": dict(pipeline.parameters),
        "data": data,
        "default_compute": None,
        "steps": steps,
    }


def _deploy_target(ctx: Azure, pipeline: Pipeline, step: Step, deployments: dict[str, Deployment]) -> dict[str, Any]:
    """What mlstack.backends.azure.deploy_job needs to roll the endpoint's production variant to the newest
    servable version of the model the pipeline registers: the endpoint's own rollout and rollback rules,
    and the model group's approval policy."""
    endpoint = ctx.resolved.spec.endpoint(step.endpoint or "")
    primary = next((d for d in deployments.values() if d.variant.role == "production"), None)
    if endpoint is None or primary is None:
        raise MlstackError(f"pipeline {pipeline.name} step {step.name}: no endpoint {step.endpoint} to deploy to")
    group = (
        next((s.model_group for s in pipeline.steps if s.kind == "registration"), None) or primary.variant.model.group
    )
    spec_group = ctx.resolved.spec.model_group(group)
    promotion = ctx.resolved.spec.registry.promotion_of(spec_group) if spec_group else None
    gated = promotion is not None and promotion.gated(ctx.resolved.environment)
    rollout = rollout_of(ctx.resolved.endpoint_plan(endpoint).traffic)
    deps = dependencies(pipeline, pipeline.steps.index(step))
    return {
        "endpoint_id": endpoint_arm_id(ctx, endpoint),
        "model_id": f"{ctx.workspace_arm_id()}/models/{group}",
        "variant": primary.variant.name,
        "approval": spec_group.approval if spec_group else "manual",
        "rollout": json.dumps(rollout.as_dict(), sort_keys=True),
        "rules": rollback_rule_ids(ctx, endpoint, primary.variant.name),
        "stage": promotion.stage_of(ctx.resolved.environment) if promotion and gated else None,
        # the registration step this step follows: its output holds the lineage tags of the version it made
        "lineage_from": next(
            (job_id(s.name) for s in pipeline.steps if s.kind == "registration" and s.name in deps),
            None,
        ),
    }


def _batch_target(ctx: Azure, step: Step) -> dict[str, str]:
    """What mlstack.backends.azure.batch_step needs to run the step's batch job once: its batch endpoint
    (batch.py) and the job's input and output."""
    job = ctx.resolved.spec.batch_job(step.batch_job or "")
    assert job is not None and job.input.uri is not None  # the rules: the job exists and reads files here
    return {
        "workspace_id": ctx.workspace_arm_id(),
        "endpoint": batch_endpoint_name(ctx, job.name),
        "deployment": DEPLOYMENT,
        "input": job.input.uri,
        "input_type": "uri_file" if Path(job.input.uri).suffix else "uri_folder",
        "output": job.output,
    }


def _grant_deployment_steps(ctx: Azure, pipeline: Pipeline, component: SpecComponent) -> None:
    """A deployment step's cluster may retarget the endpoint's rollback rules (Monitoring Contributor on
    each rule) and read the alerts they fire, whose targets are the endpoint's deployments and the Log
    Analytics workspace (Monitoring Reader on both)."""
    assert ctx.platform is not None
    for step in (s for s in pipeline.steps if s.kind == "deployment"):
        sku = ctx.resolved.step_sku(pipeline.name, step.name)
        endpoint = ctx.resolved.spec.endpoint(step.endpoint or "")
        principal = ctx.platform.principals.get(sku.sku) if sku else None
        if principal is None or endpoint is None:
            continue
        label = f"{pipeline.name}-{step.name}"
        scopes: list[tuple[str, pulumi.Input[str], str]] = [
            ("Monitoring Reader", endpoint_arm_id(ctx, endpoint), f"endpoint-{endpoint.name}"),
            ("Monitoring Reader", ctx.platform.log_analytics_id, "logs"),
        ]
        for variant in ctx.resolved.endpoint_plan(endpoint).variants:
            for rule in rollback_rule_ids(ctx, endpoint, variant.name):
                scopes.append(("Monitoring Contributor", ctx.platform.rules[rule], rule.rsplit("/", 1)[-1]))
        for role, scope, key in scopes:
            grant(ctx, component, f"{label}-{key}", principal_id=principal, role=role, scope=scope, scope_key=key)


def job_definition(rest: dict[str, Any]) -> ml.PipelineJobArgs:
    """The REST pipeline job as the Schedule's job definition."""
    inputs: dict[str, Any] = {}
    for name, value in (rest.get("inputs") or {}).items():
        kind = value["jobInputType"]
        if kind == "literal":
            inputs[name] = ml.LiteralJobInputArgs(job_input_type="literal", value=value["value"])
        elif kind == "uri_file":
            inputs[name] = ml.UriFileJobInputArgs(job_input_type="uri_file", uri=value["uri"])
        else:
            inputs[name] = ml.UriFolderJobInputArgs(job_input_type="uri_folder", uri=value["uri"])
    return ml.PipelineJobArgs(
        job_type="Pipeline",
        display_name=rest.get("displayName"),
        description=rest.get("description"),
        experiment_name=rest.get("experimentName"),
        jobs=rest["jobs"],
        inputs=inputs or None,
        settings=rest.get("settings"),
        tags=rest.get("tags"),
    )


@dataclass
class BuiltPipeline:
    name: str
    component: SpecComponent
    rest: pulumi.Output[dict[str, Any]]  # the REST job, for whatever else submits it


def build_pipeline(
    ctx: Azure,
    pipeline: Pipeline,
    environments: Environments,
    clusters: dict[str, pulumi.Output[str]],
    deployments: dict[str, dict[str, Deployment]],
    feature_sets: dict[str, pulumi.Output[str]],
) -> BuiltPipeline:
    assert ctx.platform is not None
    component = ctx.component("pipeline", pipeline.name)
    images = sorted(
        {RUNTIME if s.kind in RUNTIME_STEPS else (s.image or pipeline.image or "") for s in pipeline.steps} - {""}
    )
    # each step runs an image this stack built: the CLI with its extension, or the step's image with mlstack
    if ctx.platform.images is None:
        ctx.platform.images = runtime_images(ctx, ctx.platform)
    built = {i: ctx.platform.images.uri(RUNTIME_IMAGE if i == RUNTIME else step_image(i)) for i in images}
    env_ids = {image: environments.of(image, serving=False, built=built[image]) for image in images}
    target = next((s.endpoint for s in pipeline.steps if s.kind == "deployment"), None)
    views = {v: feature_sets[v] for v in pipeline.feature_views if v in feature_sets}

    def make(args: list[Any]) -> PipelineJob:
        envs = dict(zip(images, args[: len(images)], strict=True))
        computes = dict(zip(sorted(clusters), args[len(images) : len(images) + len(clusters)], strict=True))
        sets = dict(zip(sorted(views), args[len(images) + len(clusters) :], strict=True))
        context = template_context(
            ctx,
            pipeline,
            environments=envs,
            computes=computes,
            deployments=deployments.get(target or "", {}),
            feature_sets=sets,
        )
        return render(ctx, pipeline, context)

    inputs = [
        *(env_ids[i] for i in images),
        *(clusters[s] for s in sorted(clusters)),
        *(views[v] for v in sorted(views)),
    ]
    job = pulumi.Output.all(*inputs).apply(make)
    versions = []
    for step in pipeline.steps:
        name = component_name(ctx, pipeline.name, step.name)
        spec = job.apply(lambda j, name=name: j.rest_components()[name])
        container = ml.ComponentContainer(
            f"{pipeline.name}-{step.name}",
            name=name,
            properties=ml.ComponentContainerPropertiesArgs(
                description=f"{step.kind} step of {pipeline.name}", tags=ctx.tags
            ),
            **ctx.in_workspace(),
            opts=component.child(),
        )
        versions.append(
            ml.ComponentVersion(
                f"{pipeline.name}-{step.name}-version",
                name=name,
                version=spec.apply(lambda s: s["version"]),
                properties=ml.ComponentVersionPropertiesArgs(component_spec=spec, tags=ctx.tags),
                **ctx.in_workspace(),
                opts=component.child(depends_on=[container]),
            )
        )
    _grant_deployment_steps(ctx, pipeline, component)
    rest = job.apply(lambda j: j.rest_job())
    if pipeline.schedule:
        ml.Schedule(
            f"{pipeline.name}-schedule",
            name=pipeline.name,
            properties=ml.SchedulePropertiesArgs(
                display_name=f"{pipeline.name} on {pipeline.schedule}",
                description=pipeline.description,
                is_enabled=not ctx.resolved.development,  # a developer's copy runs when asked
                tags=ctx.tags,
                trigger=ml.CronTriggerArgs(trigger_type="Cron", expression=pipeline.schedule, time_zone="UTC"),
                action=ml.JobScheduleActionArgs(action_type="CreateJob", job_definition=rest.apply(job_definition)),
            ),
            **ctx.in_workspace(),
            opts=component.child(depends_on=versions),
        )
    return BuiltPipeline(pipeline.name, component, rest)
