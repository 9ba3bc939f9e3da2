"""batch_jobs -> a Vertex batch prediction job, started by a one-task KFP pipeline (runtime `batch`) that is
stored in the platform bucket and run on the job's schedule (a Vertex schedule, as pipelines are).

The task resolves the model reference at run time (an alias follows the registry; a version number is the
Vertex version labelled with it), creates the BatchPredictionJob described by `job_request` and waits for
it. A pipeline's batch_scoring step is the same task in that pipeline (pipelines.py). `job_request` is
pure: tests build `aiplatform_v1.BatchPredictionJob` from it. Data capture of batch
jobs has no Vertex counterpart here (rules: monitors over a batch job)."""

from __future__ import annotations

import functools
import json
from typing import Any

from mlstack.resolve.batch import BatchJobPlan

INSTANCES_FORMAT = {"csv": "csv"}  # Vertex reads CSV, JSON Lines, TFRecord, file lists and BigQuery
PREDICTIONS_FORMAT = "jsonl"  # what custom-trained models write: each instance with its prediction


def job_request(
    plan: BatchJobPlan, model: str, display_name: str, service_account: str, labels: dict[str, str], kms_key: str | None
) -> dict[str, Any]:
    """The BatchPredictionJob (aiplatform_v1 field names) a run creates; `model` is the version resource name."""
    job = plan.job
    assert job.input.uri is not None  # rules: a cloud batch job reads files
    machine: dict[str, Any] = {"machine_type": plan.sku.machine_type}
    if plan.sku.accelerator_type:
        machine["accelerator_type"] = plan.sku.accelerator_type
        machine["accelerator_count"] = plan.sku.accelerator_count
    request: dict[str, Any] = {
        "display_name": display_name,
        "model": model,
        "input_config": {"instances_format": INSTANCES_FORMAT[job.format], "gcs_source": {"uris": [job.input.uri]}},
        "output_config": {
            "predictions_format": PREDICTIONS_FORMAT,
            "gcs_destination": {"output_uri_prefix": job.output},
        },
        "dedicated_resources": {
            "machine_spec": machine,
            "starting_replica_count": job.instance_count,
            "max_replica_count": job.instance_count,
        },
        "service_account": service_account,
        "labels": labels,
    }
    if kms_key:
        request["encryption_spec"] = {"kms_key_name": kms_key}
    return request


def batch_task(ctx: Any, plan: BatchJobPlan, task: str, account: str, after: list[str] | None = None) -> Any:
    """The task that runs one batch job: runtime `batch` with the job's request. A batch job's own pipeline
    is this task alone; a pipeline's batch_scoring step is this task among its others."""
    from mlstack.backends.gcp.kfp import Task
    from mlstack.backends.gcp.registry import model_id

    job = plan.job
    model = f"projects/{ctx.project}/locations/{ctx.region}/models/{model_id(ctx, job.model.group)}"
    selector = {"alias": job.model.alias} if job.model.alias else {"version": str(job.model.version)}
    display = ctx.name(f"batch-{job.name}", max_length=128)
    request = job_request(plan, model, display, account, ctx.labels, ctx.kms_key)
    options = {"request": json.dumps(request, sort_keys=True), "region": ctx.region, **selector}
    return Task.system(task, "batch", options, after)


def _pipeline_spec(ctx: Any, plan: BatchJobPlan, name: str, account: str) -> str:
    """The one-task pipeline of a batch job."""
    from mlstack.backends.gcp import pipelines

    task = batch_task(ctx, plan, "score", account)
    return pipelines.system_pipeline(ctx, name, f"Batch job {plan.name}: {plan.job.model.describe()}", task)


def build_batch_jobs(ctx: Any) -> None:
    import pulumi

    from mlstack.backends.components import SpecComponent
    from mlstack.backends.gcp import pipelines

    assert ctx.platform is not None
    for plan in ctx.resolved.batch_jobs:
        job = plan.job
        component = SpecComponent("batch_job", job.name)
        name = f"batch-{job.name}"
        spec_json = ctx.platform.accounts.email("pipelines").apply(functools.partial(_pipeline_spec, ctx, plan, name))
        stored = pipelines.store(ctx, component, name, spec_json)
        if job.schedule:
            pipelines.schedule(ctx, component, name, job.schedule, spec_json, "pipelines")
        component.done({"spec": pulumi.Output.concat("gs://", stored.bucket, "/", stored.name)})
