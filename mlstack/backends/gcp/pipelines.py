"""pipelines → a KFP pipeline spec (kfp.py) stored in the platform bucket and, when the pipeline has a
schedule, a Vertex schedule (`gcp.colab.Schedule`: pulumi_gcp 10.2 puts Vertex AI's Schedule API,
with `create_pipeline_job_request` and a cron, in its colab module; there is no `vertex.AiSchedule`).

Steps, in order, as the spec's kinds become tasks:
- data_validation / processing / training / evaluation: the step's entrypoint in its image, on the
  catalog SKU's vCPUs, memory and accelerators;
- an evaluation step's gates: a `<step>-gates` task after it (runtime `gate`); a failed gate fails the
  run before registration;
- registration: runtime `register` uploads the nearest training step's output as a new version of the
  group (parent model, aliases moved), with the evaluation metrics imported as a model evaluation;
- deployment: runtime `deploy` rolls the registered version out on the endpoint with the endpoint's
  strategy (the same rollout code as the endpoint's Pulumi provider);
- batch_scoring: runtime `batch` creates the batch job's Vertex batch prediction job (its model
  reference resolved when the task runs) and waits for it (batch.py), as the batch job's own pipeline does.
Vertex has no per-task timeout for container tasks, so `timeout` is not enforced on this target.

The spec is also written to `gs://<bucket>/pipelines/<name>/pipeline.json`, which is what the retrain
workflow (monitors.py) submits when a monitor alerts."""

from __future__ import annotations

import json

import pulumi
import pulumi_gcp as gcp

from mlstack.backends.components import SpecComponent
from mlstack.backends.gcp import kfp
from mlstack.backends.gcp.batch import batch_task
from mlstack.backends.gcp.checks import CODE_STEPS, step_problem, upstream
from mlstack.backends.gcp.context import Gcp, label_part
from mlstack.backends.gcp.kfp import Task
from mlstack.backends.gcp.registry import model_id, serving_image
from mlstack.errors import MlstackError
from mlstack.resolve.pipelines import graph
from mlstack.runtime import tracking
from mlstack.spec.models import Pipeline, Step
from mlstack.targets import GCP


def _code_task(ctx: Gcp, pipeline: Pipeline, step: Step, after: list[str]) -> Task:
    image = step.image or pipeline.image
    assert image is not None and step.entrypoint is not None  # checks.step_problem ran first
    assert ctx.platform is not None
    args = [f"--kind={step.kind}", f"--pipeline={pipeline.name}", f"--step={step.name}"]
    args.append(f"--output={kfp.output_path()}")
    args += [f"--input={dep}={kfp.input_path(dep)}" for dep in after]
    if pipeline.data:
        args.append(f"--data={kfp.fuse_path(pipeline.data)}")
    args += [f"--run-id={kfp.pipeline_job_name()}", "--"]
    args += [f"--{name}={kfp.parameter(name)}" for name in sorted(pipeline.parameters)]
    args += [f"--{name}={value}" for name, value in sorted(step.parameters.items())]
    return Task(
        step.name,
        ctx.platform.step_image(image),
        [*kfp.ADAPTER, step.entrypoint],
        args,
        after=after,
        inputs=list(after),
        parameters=sorted(pipeline.parameters),
        resources=kfp.resources(ctx.resolved.step_sku(pipeline.name, step.name)),
        env=tracking.vertex_environment(ctx.project, ctx.region, ctx.name(pipeline.name))
        if ctx.resolved.spec.tracking.enabled
        else {},
    )


def pipeline_tasks(
    ctx: Gcp, pipeline: Pipeline, endpoints: dict[str, str], account: str | None = None
) -> list[Task]:
    """`account`: the service account batch prediction jobs run as (needed when a step is batch_scoring)."""
    deps = graph(pipeline)
    plans = {p.name: p for p in ctx.resolved.batch_jobs}
    gated: dict[str, str] = {}  # evaluation step -> its gate task
    tasks: list[Task] = []
    for step in pipeline.steps:
        if problem := step_problem(ctx.resolved.spec, pipeline, step):
            raise MlstackError(problem[1])
        after = list(deps[step.name])
        after += [gated[d] for d in deps[step.name] if d in gated]
        if step.kind in CODE_STEPS:
            tasks.append(_code_task(ctx, pipeline, step, deps[step.name]))
            tasks[-1].after = after
        elif step.kind == "registration":
            tasks.append(_register_task(ctx, pipeline, step, after))
        elif step.kind == "batch_scoring":
            assert step.batch_job is not None and account is not None  # the spec models; build_pipeline
            tasks.append(batch_task(ctx, plans[step.batch_job], step.name, account, after))
        else:
            assert step.endpoint is not None
            registered = upstream(pipeline, step, "registration")
            assert registered is not None  # checks.step_problem
            task = Task.system(
                step.name,
                "deploy",
                {
                    "endpoint": endpoints[step.endpoint],
                    "region": ctx.region,
                    "strategy": json.dumps(_strategy(ctx, step.endpoint), sort_keys=True),
                    "registered": kfp.input_path(registered),
                    **_serves_stage(ctx, pipeline),
                },
                after,
            )
            task.inputs = [registered]
            tasks.append(task)
        if step.gates:
            gate = f"{step.name}-gates"
            gated[step.name] = gate
            group = next((s.model_group for s in pipeline.steps if s.kind == "registration"), None)
            options = {
                "metrics": kfp.input_path(step.name),
                "gates": json.dumps([g.model_dump() for g in step.gates], sort_keys=True),
                "region": ctx.region,
            }
            if group:
                options["model"] = f"{ctx.parent}/models/{model_id(ctx, group)}"
            task = Task.system(gate, "gate", options, [step.name])
            task.inputs = [step.name]
            tasks.append(task)
    return tasks


def _strategy(ctx: Gcp, endpoint: str) -> dict[str, object]:
    spec = ctx.resolved.spec.endpoint(endpoint)
    assert spec is not None
    return spec.strategy.model_dump(exclude={"challenger", "variants", "compute", "instance_count"})


def lineage_labels(pipeline: Pipeline) -> dict[str, str]:
    """Labels a registered version carries of where it came from: the pipeline, its run (the Vertex
    pipeline job, which records every task's inputs and outputs in ML Metadata) and the feature views."""
    labels = {"mlstack-pipeline": label_part(pipeline.name), "mlstack-run": kfp.pipeline_job_name()}
    if pipeline.feature_views:
        labels["mlstack-features"] = label_part("_".join(pipeline.feature_views))
    return labels


def _serves_stage(ctx: Gcp, pipeline: Pipeline) -> dict[str, str]:
    """The deploy task's `--stage`: in a later promotion stage's environment, only versions promoted to it."""
    group = next((s.model_group for s in pipeline.steps if s.kind == "registration"), None)
    found = ctx.resolved.spec.model_group(group) if group else None
    promotion = ctx.resolved.spec.registry.promotion_of(found) if found else None
    if promotion is None or not promotion.gated(ctx.resolved.environment):
        return {}
    return {"stage": promotion.stage_of(ctx.resolved.environment)}


def _register_task(ctx: Gcp, pipeline: Pipeline, step: Step, after: list[str]) -> Task:
    assert step.model_group is not None
    group = ctx.resolved.spec.model_group(step.model_group)
    trained = upstream(pipeline, step, "training")
    assert group is not None and group.versions and trained is not None  # checks.step_problem
    latest = max(group.versions, key=lambda v: v.version)
    options = {
        "project": ctx.project,
        "region": ctx.region,
        "model-id": model_id(ctx, group.name),
        "display-name": group.name,
        "artifact": kfp.input_uri(trained),
        "image": serving_image(ctx, latest, group.name),
        "aliases": ",".join(step.aliases),
        "approval": group.approval,
        "output": kfp.output_path(),
        "lineage": json.dumps(lineage_labels(pipeline)),
        "trained": kfp.input_path(trained),
    }
    promotion = ctx.resolved.spec.registry.promotion_of(group)
    if promotion:
        options["stage"] = promotion.stages[0]  # every version starts in the first stage
    card = {
        "description": group.description,
        "intended_use": group.intended_use,
        "limitations": group.limitations,
        "framework": latest.framework,
        "stages": promotion.stages if promotion else [],
    }
    options["card"] = json.dumps(card, sort_keys=True)
    inputs = [trained]
    if evaluated := upstream(pipeline, step, "evaluation"):
        options["metrics"] = kfp.input_path(evaluated)
        inputs.append(evaluated)
    if ctx.kms_key:
        options["kms-key"] = ctx.kms_key
    task = Task.system(step.name, "register", options, after)
    task.inputs = inputs
    return task


def job_request(ctx: Gcp, name: str, spec_json: pulumi.Input[str], account: str) -> dict[str, object]:
    """`create_pipeline_job_request` of a schedule."""
    assert ctx.platform is not None
    job: dict[str, object] = {
        "display_name": ctx.name(name, max_length=128),
        "pipeline_spec": spec_json,
        "runtime_config": {"gcs_output_directory": ctx.platform.gcs("pipelines", name, "runs")},
        "service_account": ctx.platform.accounts.email(account),
        "labels": ctx.labels,
    }
    if ctx.kms_key:
        job["encryption_spec"] = {"kms_key_name": ctx.kms_key}
    return {"parent": ctx.parent, "pipeline_job": job}


def schedule(
    ctx: Gcp, component: SpecComponent, name: str, cron: str, spec_json: pulumi.Input[str], account: str
) -> None:
    assert ctx.platform is not None
    gcp.colab.Schedule(
        f"{name}-schedule",
        display_name=ctx.name(name, max_length=128),
        location=ctx.region,
        project=ctx.project,
        cron=cron,
        desired_state="PAUSED" if ctx.resolved.development else None,  # a developer's copy runs when asked
        max_concurrent_run_count="1",
        allow_queueing=False,
        create_pipeline_job_request=job_request(ctx, name, spec_json, account),
        opts=ctx.opts(component, depends_on=ctx.platform.images_pushed()),
    )


def system_pipeline_name(ctx: Gcp, name: str) -> str:
    """The pipeline's name (pipelineInfo.name), which labels its runs' state-change log entries."""
    return ctx.name(name)


def system_pipeline(ctx: Gcp, name: str, description: str, task: Task) -> str:
    assert ctx.platform is not None
    return kfp.render(
        system_pipeline_name(ctx, name),
        description,
        ctx.platform.gcs("pipelines", name),
        {},
        [task],
        ctx.platform.runtime_image(),
    )


def replay_schedule(
    ctx: Gcp, component: SpecComponent, endpoint: str, log_table: str | None, shadow_endpoint: str, share: float
) -> None:
    """Shadow emulation: every hour, send the shadow share of last hour's logged requests to the challenger."""
    assert log_table is not None
    task = Task.system(
        "replay",
        "replay",
        {"table": log_table, "endpoint": shadow_endpoint, "region": ctx.region, "share": f"{share:.4f}", "hours": "1"},
    )
    spec_json = system_pipeline(ctx, f"{endpoint}-replay", f"Shadow replay for endpoint {endpoint}", task)
    assert GCP.shadow_replay_cron is not None
    schedule(ctx, component, f"{endpoint}-replay", GCP.shadow_replay_cron, spec_json, "pipelines")


def store(ctx: Gcp, component: SpecComponent, name: str, spec_json: pulumi.Input[str]) -> gcp.storage.BucketObject:
    """The pipeline spec at gs://<bucket>/pipelines/<name>/pipeline.json (what retraining submits)."""
    assert ctx.platform is not None
    return gcp.storage.BucketObject(
        f"{name}-spec",
        bucket=ctx.platform.bucket.name,
        name=f"pipelines/{name}/pipeline.json",
        content=spec_json,
        content_type="application/json",
        opts=ctx.opts(component, depends_on=ctx.platform.images_pushed()),
    )


def build_pipeline(ctx: Gcp, pipeline: Pipeline, endpoints: dict[str, str]) -> gcp.storage.BucketObject:
    assert ctx.platform is not None
    component = SpecComponent("pipeline", pipeline.name)

    def render(account: str | None) -> str:
        assert ctx.platform is not None
        return kfp.render(
            ctx.name(pipeline.name),
            pipeline.description,
            ctx.platform.gcs("pipelines", pipeline.name),
            pipeline.parameters,
            pipeline_tasks(ctx, pipeline, endpoints, account),
            ctx.platform.runtime_image(),
        )

    spec_json: pulumi.Input[str]
    if any(s.kind == "batch_scoring" for s in pipeline.steps):  # its batch prediction jobs name their account
        for step in pipeline.steps:  # a step Vertex cannot run fails the plan here, not inside an apply
            if problem := step_problem(ctx.resolved.spec, pipeline, step):
                raise MlstackError(problem[1])
        spec_json = ctx.platform.accounts.email("pipelines").apply(render)
    else:
        spec_json = render(None)
    stored = store(ctx, component, pipeline.name, spec_json)
    if pipeline.schedule:
        schedule(ctx, component, pipeline.name, pipeline.schedule, spec_json, "pipelines")
    component.done({"spec": pulumi.Output.concat("gs://", stored.bucket, "/", stored.name)})
    return stored
