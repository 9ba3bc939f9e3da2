"""batch_jobs -> an Azure ML batch endpoint with one model batch deployment, its default, on a compute
cluster of the job's resolved size (compute.py sizes the cluster for the job's instances).

The deployment scores the model version the registry holds, `mini_batch_size` files at a time, and
appends every prediction to one output file (`output_action: AppendRow`), as the local emulator writes
one file per run. A run is `az ml batch-endpoint invoke` with the job's input; the spec's schedule is
not applied on Azure (checks.warnings says so, located). Batch data capture has no Azure counterpart
(rules: monitors over a batch job)."""

from __future__ import annotations

import pulumi
from pulumi_azure_native import machinelearningservices as ml

from mlstack.backends.azure.context import Azure, after, iso_duration
from mlstack.backends.azure.environments import Environments
from mlstack.backends.azure.registry import Models
from mlstack.backends.components import SpecComponent
from mlstack.errors import MlstackError
from mlstack.resolve.batch import BatchJobPlan

DEPLOYMENT = "default"
MINI_BATCH_SIZE = 10  # files per scoring call: Azure's documented default
MAX_RETRIES = 3
OUTPUT_FILE = {"csv": "predictions.csv", "parquet": "predictions.csv"}  # AppendRow writes text rows


def batch_endpoint_name(ctx: Azure, job: str) -> str:
    """Batch endpoint names share the online endpoints' region-wide namespace and rule."""
    return ctx.endpoint_name(job)


def deployment_properties(
    plan: BatchJobPlan,
    model_id: pulumi.Input[str],
    compute_id: pulumi.Input[str],
    environment_id: pulumi.Input[str] | None,
) -> ml.BatchDeploymentPropertiesArgs:
    job = plan.job
    return ml.BatchDeploymentPropertiesArgs(
        description=f"batch job {job.name}: {job.model.describe()}",
        model=ml.IdAssetReferenceArgs(reference_type="Id", asset_id=model_id),
        compute=compute_id,
        environment_id=environment_id,
        resources=ml.DeploymentResourceConfigurationArgs(instance_count=job.instance_count),
        mini_batch_size=MINI_BATCH_SIZE,
        max_concurrency_per_instance=1,
        output_action="AppendRow",
        output_file_name=OUTPUT_FILE[job.format],
        error_threshold=-1,  # every failed file is reported, none stops the run
        retry_settings=ml.BatchRetrySettingsArgs(max_retries=MAX_RETRIES, timeout=iso_duration(job.timeout)),
        logging_level="Info",
        environment_variables={"MLSTACK_BATCH_JOB": job.name, "MLSTACK_BATCH_INPUT": job.input.uri or ""},
    )


def build_batch_jobs(
    ctx: Azure, models: Models, environments: Environments, clusters: dict[str, pulumi.Output[str]]
) -> None:
    for plan in ctx.resolved.batch_jobs:
        job = plan.job
        if plan.version is None:
            raise MlstackError(
                f"batch job {job.name}: {job.model.describe()} names no declared version; "
                "Azure batch deployments score a registered model version"
            )
        component = SpecComponent("batch_job", job.name)
        name = batch_endpoint_name(ctx, job.name)
        endpoint = ml.BatchEndpoint(
            f"{job.name}-batch-endpoint",
            endpoint_name=name,
            location=ctx.location,
            identity=ml.ManagedServiceIdentityArgs(type="SystemAssigned"),
            properties=ml.BatchEndpointPropertiesArgs(
                auth_mode="AADToken",
                description=f"mlstack batch job {job.name}: {job.model.describe()} over {job.input.uri}",
                defaults=ml.BatchEndpointDefaultsArgs(deployment_name=DEPLOYMENT),
            ),
            tags={**ctx.tags, **job.tags},
            **ctx.in_workspace(),
            opts=component.child(),
        )
        image = plan.version.image
        deployment = ml.BatchDeployment(
            f"{job.name}-batch-deployment",
            deployment_name=DEPLOYMENT,
            endpoint_name=after(endpoint, name),
            location=ctx.location,
            properties=deployment_properties(
                plan,
                models.id_of(job.model.group, plan.version.version),
                clusters[plan.sku.sku],
                environments.of(image, serving=True) if image else None,
            ),
            tags={**ctx.tags, **job.tags},
            **ctx.in_workspace(),
            opts=component.child(),
        )
        component.done({"endpoint": endpoint.name, "deployment": deployment.name})
