"""Batch jobs on azure: a batch endpoint and its model batch deployment on a cluster of the job's size,
checked a second time against azure-ai-ml's own BatchEndpoint and ModelBatchDeployment turned into REST.
The schedule Azure cannot apply to a batch endpoint is a located warning."""

from __future__ import annotations

from azure.ai.ml.entities import BatchEndpoint, BatchRetrySettings, ModelBatchDeployment, ResourceConfiguration
from azure.ai.ml.entities._deployment.model_batch_deployment_settings import ModelBatchDeploymentSettings
from azure_plans import ROOT, Plan
from test_sdk_agreement import assert_agree

from mlstack.backends.azure import checks
from mlstack.plan import plan
from mlstack.resolve import resolve
from mlstack.spec import load

SPEC = ROOT / "specs" / "batch-scoring.yaml"


def example() -> Plan:
    resolved = resolve(load(SPEC, target="azure"))
    return Plan(resolved, plan(resolved))


def test_batch_endpoint_and_deployment_agree_with_azure_ai_ml():
    planned = example()
    (job,) = planned.resolved.batch_jobs
    endpoint = planned.inputs("BatchEndpoint", "nightly-scores-batch-endpoint")
    deployment = planned.inputs("BatchDeployment", "nightly-scores-batch-deployment")
    sdk_endpoint = BatchEndpoint(
        name=endpoint["endpointName"],
        auth_mode="aad_token",
        description=endpoint["properties"]["description"],
        defaults={"deployment_name": "default"},
        tags=endpoint["tags"],
    )._to_rest_batch_endpoint(planned.resolved.region)
    assert_agree(sdk_endpoint.as_dict(), endpoint, at_least=5)

    properties = deployment["properties"]
    sdk = ModelBatchDeployment(
        name="default",
        endpoint_name=endpoint["endpointName"],
        model=properties["model"]["assetId"],
        compute=properties["compute"],
        resources=ResourceConfiguration(instance_count=job.job.instance_count),
        settings=ModelBatchDeploymentSettings(
            mini_batch_size=10,
            max_concurrency_per_instance=1,
            output_action="append_row",
            output_file_name="predictions.csv",
            error_threshold=-1,
            retry_settings=BatchRetrySettings(max_retries=3, timeout=job.job.timeout),
            logging_level="info",
            environment_variables=properties["environmentVariables"],
        ),
        description=properties["description"],
        tags=deployment["tags"],
    )._to_rest_object(planned.resolved.region)
    rest = sdk.as_dict()["properties"]
    assert_agree(rest, properties, at_least=14)
    assert rest["retrySettings"] == properties["retrySettings"] == {"maxRetries": 3, "timeout": "P1D"}
    assert properties["resources"] == {"instanceCount": 2}

    # the cluster it runs on has the job's resolved size and room for its instances
    (cluster,) = planned.of("Compute")
    assert properties["compute"].endswith(cluster.inputs["computeName"])
    scale = cluster.inputs["properties"]["properties"]
    # room for its 2 instances and the checked-scores pipeline's batch_scoring step, which waits on it
    assert scale["vmSize"] == job.sku.machine_type and scale["scaleSettings"]["maxNodeCount"] == 3


def test_the_schedule_azure_cannot_apply_is_a_located_warning():
    resolved = resolve(load(SPEC, target="azure"))
    warned = [(path, message) for path, message in checks.warnings(resolved) if path[0] == "batch_jobs"]
    assert [path for path, _ in warned] == [("batch_jobs", 0, "schedule")]
    assert "schedules start pipeline jobs, not batch endpoint invocations" in warned[0][1]
