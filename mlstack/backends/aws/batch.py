"""batch_jobs -> SageMaker Batch Transform, as a one-step SageMaker pipeline (a `Transform` step) with
the model it scores with and an EventBridge Scheduler schedule when the job has one.

The Transform step's Arguments are a CreateTransformJob request without its name (SageMaker Pipelines
names the job): the model, the input prefix split by line, the output under
`<output>/<execution id>/` with each input row joined to its prediction (as the local emulator writes
them), the resolved instance type and count, and the batch data capture when the job captures.
A pipeline's `batch_scoring` step is the same Transform step (same arguments, same model) inside that
pipeline's definition (pipeline_definition.py). `definition` and `transform_arguments` are pure (json
only): tests check them against botocore's CreateTransformJob shape."""

from __future__ import annotations

import json
from typing import Any

import pulumi_aws as aws

from mlstack.backends.aws import iam
from mlstack.backends.aws.context import Aws
from mlstack.backends.aws.endpoints import container
from mlstack.backends.aws.pipeline_definition import TRIGGER_PARAMETER
from mlstack.backends.aws.pipelines import schedule
from mlstack.backends.aws.platform import Platform, role_policy
from mlstack.backends.components import SpecComponent
from mlstack.resolve import Variant
from mlstack.resolve.batch import BatchJobPlan
from mlstack.targets import aws as dialect

STEP = "score"
CONTENT_TYPE = "text/csv"


def output_path(plan: BatchJobPlan) -> dict[str, Any]:
    """`<output>/<execution id>`: every run writes its own folder, as every local run its own file."""
    return {"Std:Join": {"On": "/", "Values": [plan.job.output.rstrip("/"), {"Get": "Execution.PipelineExecutionId"}]}}


def capture_destination(plan: BatchJobPlan) -> str | None:
    """Where captured rows go: the job's destination, or beside its output."""
    if not plan.job.captures:
        return None
    chosen = plan.job.data_capture.destination if plan.job.data_capture else None
    return chosen or f"{plan.job.output.rstrip('/')}-capture/"


def transform_arguments(plan: BatchJobPlan, model_name: str, kms_key: str | None) -> dict[str, Any]:
    job = plan.job
    assert job.input.uri is not None  # checks.py: a cloud batch job reads files
    arguments: dict[str, Any] = {
        "ModelName": model_name,
        "BatchStrategy": "MultiRecord",
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": job.input.uri}},
            "ContentType": CONTENT_TYPE,
            "SplitType": "Line",
            "CompressionType": "None",
        },
        "TransformOutput": {"S3OutputPath": output_path(plan), "Accept": CONTENT_TYPE, "AssembleWith": "Line"},
        "TransformResources": {"InstanceType": plan.sku.sku, "InstanceCount": job.instance_count},
        # each output line is the input row followed by its prediction
        "DataProcessing": {"InputFilter": "$", "JoinSource": "Input", "OutputFilter": "$"},
        "Environment": {"MLSTACK_BATCH_JOB": job.name},
    }
    if kms_key:
        arguments["TransformOutput"]["KmsKeyId"] = kms_key
        arguments["TransformResources"]["VolumeKmsKeyId"] = kms_key
    destination = capture_destination(plan)
    if destination:
        capture: dict[str, Any] = {"DestinationS3Uri": destination, "GenerateInferenceId": True}
        if kms_key:
            capture["KmsKeyId"] = kms_key
        arguments["DataCaptureConfig"] = capture
    return arguments


def definition(plan: BatchJobPlan, model_name: str, kms_key: str | None) -> str:
    """The pipeline definition (schema 2020-12-01) with one Transform step, compact with sorted keys."""
    document = {
        "Version": "2020-12-01",
        "Metadata": {},
        "Parameters": [{"Name": TRIGGER_PARAMETER, "Type": "String", "DefaultValue": "manual"}],
        "PipelineExperimentConfig": {
            "ExperimentName": {"Get": "Execution.PipelineName"},
            "TrialName": {"Get": "Execution.PipelineExecutionId"},
        },
        "Steps": [{"Name": STEP, "Type": "Transform", "Arguments": transform_arguments(plan, model_name, kms_key)}],
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":"))


def build(ctx: Aws, platform: Platform) -> dict[str, aws.sagemaker.Model]:
    """Batch job name -> the SageMaker model it scores with (a pipeline's batch_scoring step runs the
    same model in its own Transform step)."""
    models = {}
    for plan in ctx.resolved.batch_jobs:
        job = plan.job
        component = SpecComponent("batch_job", job.name)
        vendor = ctx.names.sagemaker(f"batch-{job.name}", max_length=dialect.PIPELINE)
        variant = Variant("batch", "production", job.model, plan.version, plan.sku, job.instance_count, 100)
        primary = container(ctx, variant)
        writes = [f"{job.output.rstrip('/')}/", *filter(None, [capture_destination(plan)])]
        model_policy = role_policy(
            ctx,
            platform,
            "endpoint",
            f"batch-{ctx.names.sagemaker(job.name)}",
            [
                *iam.read_uris(ctx, [job.input.uri, plan.version.artifact if plan.version else None]),
                iam.allow(iam.S3_WRITE, sorted(ctx.s3_uri_arns(uri)[1] for uri in writes if uri.startswith("s3://"))),
                *iam.ecr_pull(ctx, [primary["image"]]),
                iam.logs(ctx, "/aws/sagemaker/TransformJobs"),
                *iam.kms(ctx),
            ],
            component,
        )
        model_name = ctx.names.versioned({"container": primary, "job": job.name}, job.name, "batch")
        model = aws.sagemaker.Model(
            f"{job.name}-batch-model",
            name=model_name,
            execution_role_arn=platform.role_arns["endpoint"],
            primary_container=primary,
            tags={**ctx.tags, **job.tags, "mlstack-model": job.model.describe()},
            opts=ctx.child(component, depends_on=[model_policy]),
        )
        pipeline_policy = role_policy(
            ctx,
            platform,
            "pipeline",
            f"pipeline-{vendor}",
            [
                iam.allow(
                    ["sagemaker:CreateTransformJob", "sagemaker:DescribeTransformJob", "sagemaker:StopTransformJob"],
                    [ctx.arn("sagemaker", "transform-job/*")],
                ),
                iam.allow(["sagemaker:AddTags"], [ctx.arn("sagemaker", "transform-job/*")]),
                iam.allow(
                    ["iam:PassRole"],
                    [platform.role_arns["endpoint"]],
                    StringEquals={"iam:PassedToService": "sagemaker.amazonaws.com"},
                ),
            ],
            component,
        )
        resource = aws.sagemaker.Pipeline(
            f"{job.name}-batch",
            pipeline_name=vendor,
            pipeline_display_name=vendor,
            pipeline_description=f"mlstack batch job {job.name}: {job.model.describe()} over {job.input.uri}",
            role_arn=platform.role_arns["pipeline"],
            pipeline_definition=model.name.apply(lambda name, p=plan: definition(p, name, ctx.kms_key)),
            tags={**ctx.tags, **job.tags},
            opts=ctx.child(component, depends_on=[pipeline_policy, model]),
        )
        arn = ctx.known(resource.arn, ctx.arn("sagemaker", f"pipeline/{vendor}"))
        if job.schedule:
            start = role_policy(
                ctx,
                platform,
                "pipeline-starter",
                f"start-{vendor}",
                [iam.allow(["sagemaker:StartPipelineExecution"], [arn])],
                component,
            )
            starter = platform.role_arns["pipeline-starter"]
            schedule(ctx, f"batch-{job.name}", job.schedule, arn, starter, ctx.child(component, depends_on=[start]))
        component.done({"pipeline": resource.pipeline_name, "arn": arn, "model": model.name})
        models[job.name] = model
    return models
