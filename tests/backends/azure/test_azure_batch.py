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


def test_a_batch_scoring_step_invokes_the_jobs_batch_endpoint():
    import shlex

    from mlstack.backends.azure import batch_step

    planned = example()
    component = planned.inputs("ComponentVersion", "checked-scores-score-version")["properties"]["componentSpec"]
    command = shlex.split(component["command"])
    assert command[:3] == ["python", "-m", "mlstack.backends.azure.batch_step"]
    # the command is one the step's own parser accepts, naming the batch endpoint this stack creates
    args = batch_step._parser().parse_args(command[3:])
    endpoint = planned.inputs("BatchEndpoint", "nightly-scores-batch-endpoint")
    assert (args.endpoint, args.deployment) == (endpoint["endpointName"], "default")
    assert args.workspace_id.endswith("/workspaces/fraud-ml") and batch_step.workspace_of(args.workspace_id)[2] == "fraud-ml"
    assert args.input == "azureml://datastores/workspaceblobstore/paths/fraud/baselines/training.csv"
    assert args.input_type == "uri_file" and args.record == "${{outputs.output}}"


class FakeJobs:
    def __init__(self, failure: Exception | None = None) -> None:
        self.failure = failure
        self.streamed: list[str] = []

    def stream(self, name: str) -> None:
        self.streamed.append(name)
        if self.failure:
            raise self.failure

    def get(self, name: str):
        from types import SimpleNamespace

        return SimpleNamespace(name=name, status="Completed")


class FakeEndpoints:
    def __init__(self) -> None:
        self.calls: list[dict] = []

    def invoke(self, **kwargs):
        from types import SimpleNamespace

        self.calls.append(kwargs)
        return SimpleNamespace(name=kwargs["job_name"])


class FakeClient:
    def __init__(self, failure: Exception | None = None) -> None:
        self.batch_endpoints = FakeEndpoints()
        self.jobs = FakeJobs(failure)


SOURCE = "azureml://datastores/workspaceblobstore/paths/in/rows.csv"
ARGS = [
    "--workspace-id",
    "/subscriptions/00000000-1111-2222-3333-444444444444/resourceGroups/rg/providers/"
    "Microsoft.MachineLearningServices/workspaces/ws",
    "--endpoint",
    "nightly-scores-bb3f",
    "--deployment",
    "default",
    "--input",
    SOURCE,
    "--input-type",
    "uri_file",
    "--output",
    "azureml://datastores/workspaceblobstore/paths/out/",
]


def test_the_step_invokes_with_azure_ai_ml_inputs_waits_and_records(tmp_path):
    import json

    from azure.ai.ml import Input, Output

    from mlstack.backends.azure import batch_step

    client = FakeClient()
    assert batch_step.main([*ARGS, "--record", str(tmp_path)], client=client) == 0
    (call,) = client.batch_endpoints.calls
    assert (call["endpoint_name"], call["deployment_name"]) == ("nightly-scores-bb3f", "default")
    source, score = call["inputs"]["input"], call["outputs"]["score"]
    assert isinstance(source, Input) and (source.type, source.path) == ("uri_file", SOURCE)
    # every run its own folder, named after the scoring job it waited for
    assert isinstance(score, Output) and score.path == f"azureml://datastores/workspaceblobstore/paths/out/{call['job_name']}/"
    assert client.jobs.streamed == [call["job_name"]]
    record = json.loads((tmp_path / batch_step.RECORD).read_text())
    assert record == {"job": call["job_name"], "endpoint": "nightly-scores-bb3f", "input": SOURCE, "output": score.path}


def test_a_failed_scoring_job_fails_the_step_with_its_reason(tmp_path, capsys):
    from azure.ai.ml.exceptions import JobException

    from mlstack.backends.azure import batch_step

    failure = JobException(message="Execution failed: 3 mini batches failed", no_personal_data_message="failed")
    assert batch_step.main([*ARGS, "--record", str(tmp_path)], client=FakeClient(failure)) == 1
    assert "failed: Execution failed: 3 mini batches failed" in capsys.readouterr().err
    assert not (tmp_path / batch_step.RECORD).exists()
