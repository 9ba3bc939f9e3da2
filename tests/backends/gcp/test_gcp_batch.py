"""Batch jobs on gcp: a one-task KFP pipeline on a Vertex schedule whose task creates the batch prediction
job — the request built as `aiplatform_v1.BatchPredictionJob` — and the runtime task run against the fake
Vertex, resolving the model reference and waiting for the job."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from google.cloud import aiplatform_v1 as v1
from google.protobuf import json_format
from kfp.pipeline_spec import pipeline_spec_pb2
from test_runtime import MODEL, register

from mlstack.backends.gcp import runtime
from mlstack.plan import plan
from mlstack.resolve import resolve
from mlstack.spec import load

SPEC = Path(__file__).resolve().parents[3] / "specs" / "batch-scoring.yaml"


class Example:
    def __init__(self) -> None:
        self.resources = plan(resolve(load(SPEC, target="gcp")))

    def inputs(self, type_: str, name: str) -> dict:
        (found,) = [r for r in self.resources if r.type == type_ and r.name == name]
        return found.inputs


@pytest.fixture(scope="module")
def example() -> Example:
    return Example()


def unsecret(value):
    """The text inside Pulumi's secret envelope (BucketObject.content is a secret input)."""
    return value["value"] if isinstance(value, dict) else value


def task_options(example: Example) -> dict[str, str]:
    stored = example.inputs("gcp:storage/bucketObject:BucketObject", "batch-nightly-scores-spec")
    assert stored["name"] == "pipelines/batch-nightly-scores/pipeline.json"
    spec = json.loads(unsecret(stored["content"]))
    (executor,) = spec["deploymentSpec"]["executors"].values()
    command, args = executor["container"]["command"], executor["container"]["args"]
    assert command == ["python3", "-m", "mlstack.backends.gcp.runtime"] and args[0] == "batch"
    return dict(a.removeprefix("--").split("=", 1) for a in args[1:])


def test_the_pipeline_task_carries_a_valid_batch_prediction_job(example):
    options = task_options(example)
    assert options["alias"] == "champion" and options["region"] == "us-central1"
    job = v1.BatchPredictionJob(json.loads(options["request"]))  # unknown fields or wrong types raise here
    assert job.model == "projects/fraud-platform-prod/locations/us-central1/models/batch-scoring-fraud-model"
    assert job.input_config.instances_format == "csv"
    assert list(job.input_config.gcs_source.uris) == ["gs://fraud-platform-data/baselines/training.csv"]
    assert (
        job.output_config.gcs_destination.output_uri_prefix == "gs://fraud-platform-data/batch-output/nightly-scores/"
    )
    resources = job.dedicated_resources
    assert resources.starting_replica_count == resources.max_replica_count == 2
    assert resources.machine_spec.machine_type == resolve(load(SPEC, target="gcp")).batch_jobs[0].sku.machine_type
    # the prediction job runs as the account the pipeline job runs as
    schedule = example.inputs("gcp:colab/schedule:Schedule", "batch-nightly-scores-schedule")
    assert job.service_account == schedule["createPipelineJobRequest"]["pipelineJob"].get("serviceAccount", "")


def test_the_schedule_runs_the_stored_pipeline(example):
    schedule = example.inputs("gcp:colab/schedule:Schedule", "batch-nightly-scores-schedule")
    assert schedule["cron"] == "0 2 * * *"
    stored = example.inputs("gcp:storage/bucketObject:BucketObject", "batch-nightly-scores-spec")
    spec = unsecret(schedule["createPipelineJobRequest"]["pipelineJob"]["pipelineSpec"])
    assert spec == unsecret(stored["content"])


REQUEST = {
    "display_name": "scores",
    "model": MODEL,
    "input_config": {"instances_format": "csv", "gcs_source": {"uris": ["gs://in/rows.csv"]}},
    "output_config": {"predictions_format": "jsonl", "gcs_destination": {"output_uri_prefix": "gs://out/"}},
    "dedicated_resources": {
        "machine_spec": {"machine_type": "n2-standard-4"},
        "starting_replica_count": 1,
        "max_replica_count": 1,
    },
}


@pytest.mark.parametrize(("selector", "version"), [("--alias=champion", "champion"), ("--version=1", None)])
def test_the_runtime_creates_the_job_on_the_version_named_and_waits(vertex, tmp_path, monkeypatch, selector, version):
    monkeypatch.setattr(runtime, "BATCH_POLL_SECONDS", 0)
    register(tmp_path, "run1")
    register(tmp_path, "run2")  # now the champion, as version 2
    argv = ["batch", f"--request={json.dumps(REQUEST)}", "--region=us-central1", selector]
    assert runtime.main(argv) == 0
    (created,) = vertex.sent("create_batch_prediction_job")
    assert created.parent == "projects/p-123456/locations/us-central1"
    # an alias follows the registry at run time; a spec version number is the Vertex version labelled with it
    assert created.batch_prediction_job.model == f"{MODEL}@{version or '1'}"
    assert len(vertex.sent("get_batch_prediction_job")) == 2  # running, then succeeded


def test_a_failed_job_fails_the_task_with_its_reason(vertex, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(runtime, "BATCH_POLL_SECONDS", 0)
    register(tmp_path, "run1")
    vertex.batch_outcome = v1.JobState.JOB_STATE_FAILED
    assert runtime.main(["batch", f"--request={json.dumps(REQUEST)}", "--region=us-central1", "--version=1"]) == 1
    assert "JOB_STATE_FAILED" in capsys.readouterr().err
    assert runtime.main(["batch", f"--request={json.dumps(REQUEST)}", "--region=us-central1", "--version=7"]) == 1
    assert "has no version labelled mlstack-version=7" in capsys.readouterr().err


def test_a_batch_scoring_step_is_the_jobs_batch_prediction_task_inside_the_pipeline(example):
    stored = example.inputs("gcp:storage/bucketObject:BucketObject", "checked-scores-spec")
    spec = json.loads(unsecret(stored["content"]))
    json_format.ParseDict(spec, pipeline_spec_pb2.PipelineSpec())  # KFP's own type, unknown fields rejected
    assert spec["root"]["dag"]["tasks"]["score"]["dependentTasks"] == ["check-input"]
    container = spec["deploymentSpec"]["executors"]["exec-score"]["container"]
    assert container["command"] == ["python3", "-m", "mlstack.backends.gcp.runtime"] and container["args"][0] == "batch"
    options = dict(a.removeprefix("--").split("=", 1) for a in container["args"][1:])
    # the same request as the job's own pipeline: same model, input, output, machines and account
    assert options == task_options(example)
    job = v1.BatchPredictionJob(json.loads(options["request"]))
    assert job.service_account == "batch-scoring-pipelines@fraud-platform-prod.iam.gserviceaccount.com"
    assert job.dedicated_resources.starting_replica_count == 2
