"""Logging params and metrics from a step (mlstack.runtime.tracking): the file contract, and the cloud
adapter forwarding it to a real MLflow tracking store (mlflow-skinny, a file store on disk)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mlstack.runtime import tracking

REPO = Path(__file__).resolve().parents[2]

STEP = """
    import json, os
    from pathlib import Path
    from mlstack.runtime import tracking

    tracking.log_params({"optimizer": "adam", "layers": 3})
    for epoch in range(4):
        tracking.log_metric("loss", 1.0 / (epoch + 1), step=epoch)
    Path(os.environ["MLSTACK_METRICS_FILE"]).write_text(json.dumps({"auc": 0.91}))
"""


def _adapter(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    (tmp_path / "evaluate.py").write_text(textwrap.dedent(STEP))
    argv = [sys.executable, "-m", "mlstack.runtime.step", "evaluate.py", "--kind=evaluation", "--pipeline=train"]
    argv += ["--step=evaluate", f"--output={tmp_path / 'out'}", "--run-id=exec-42"]
    full = {**os.environ, "PYTHONPATH": str(REPO), **env}
    return subprocess.run(argv, cwd=tmp_path, env=full, capture_output=True, text=True, timeout=120)


def test_the_adapter_forwards_what_a_step_logged_to_mlflow(tmp_path, monkeypatch):
    mlflow = pytest.importorskip("mlflow")  # mlstack[test] installs mlflow-skinny
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow 3 keeps the file store for tests like this
    store = f"file://{tmp_path / 'mlruns'}"
    done = _adapter(
        tmp_path,
        {"MLFLOW_TRACKING_URI": store, "MLFLOW_EXPERIMENT_NAME": "fraud"},
    )
    assert done.returncode == 0, done.stderr
    assert "tracking logged to MLflow run" in done.stdout
    client = mlflow.MlflowClient(tracking_uri=store)
    (run,) = client.search_runs([client.get_experiment_by_name("fraud").experiment_id])
    assert run.info.run_name == "exec-42/evaluate"
    assert run.data.params == {"optimizer": "adam", "layers": "3"}
    assert run.data.tags["mlstack.pipeline"] == "train" and run.data.tags["mlstack.run_id"] == "exec-42"
    history = client.get_metric_history(run.info.run_id, "loss")
    assert [(m.step, m.value) for m in history] == [(e, pytest.approx(1 / (e + 1))) for e in range(4)]
    assert run.data.metrics["auc"] == 0.91  # the evaluation's metrics.json goes along
    # The file stays in the step's output on every target.
    logged = tracking.read(tmp_path / "out" / tracking.TRACKING_FILE)
    assert logged.params == {"optimizer": "adam", "layers": "3"} and len(logged.metrics) == 4


def test_without_a_tracking_server_the_file_is_kept_and_said(tmp_path):
    done = _adapter(tmp_path, {"MLFLOW_TRACKING_URI": ""})
    assert done.returncode == 0, done.stderr
    assert "tracking kept in tracking.jsonl (no MLFLOW_TRACKING_URI" in done.stdout


def test_bad_calls_and_bad_lines_are_refused_with_the_reason(tmp_path, monkeypatch):
    log = tmp_path / tracking.TRACKING_FILE
    monkeypatch.setenv(tracking.ENV, str(log))
    with pytest.raises(tracking.TrackingError, match="finite number"):
        tracking.log_metric("loss", float("nan"))
    with pytest.raises(tracking.TrackingError, match="MLflow's rule"):
        tracking.log_metric("loss,val", 1.0)
    with pytest.raises(tracking.TrackingError, match="whole number >= 0"):
        tracking.log_metric("loss", 1.0, step=-1)
    tracking.log_metric("loss", 0.5, step=0)
    log.write_text(log.read_text() + json.dumps({"metric": "loss", "value": True}) + "\n")
    with pytest.raises(tracking.TrackingError, match=r"tracking\.jsonl line 2: metric loss must be a finite number"):
        tracking.read(log)
    monkeypatch.delenv(tracking.ENV)
    with pytest.raises(tracking.TrackingError, match="MLSTACK_METRICS_LOG is not set"):
        tracking.log_param("a", 1)


def test_under_azure_ml_a_step_logs_into_its_own_jobs_run(tmp_path, monkeypatch):
    """Azure ML sets MLFLOW_TRACKING_URI and the job's MLFLOW_RUN_ID in every job: what the step logged
    lands on that run (the job, in the pipeline's experiment), not on a new one, and the job keeps its name."""
    mlflow = pytest.importorskip("mlflow")
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    store = f"file://{tmp_path / 'mlruns'}"
    client = mlflow.MlflowClient(tracking_uri=store)
    experiment = client.create_experiment("fraud-detection-train-fraud")
    job = client.create_run(experiment, run_name="evaluate_job_1")
    done = _adapter(tmp_path, {"MLFLOW_TRACKING_URI": store, "MLFLOW_RUN_ID": job.info.run_id})
    assert done.returncode == 0, done.stderr
    assert f"tracking logged to MLflow run {job.info.run_id}" in done.stdout
    (run,) = client.search_runs([experiment])
    assert run.info.run_id == job.info.run_id and run.info.run_name == "evaluate_job_1"
    assert run.data.params == {"optimizer": "adam", "layers": "3"} and run.data.metrics["auc"] == 0.91
    assert len(client.get_metric_history(run.info.run_id, "loss")) == 4


def test_under_vertex_a_step_is_one_run_of_the_pipelines_experiment(monkeypatch):
    """The plan's MLSTACK_VERTEX_* variables send a step's params and last metric values to Vertex AI
    Experiments through the aiplatform SDK, called as its own signatures allow (autospec)."""
    from unittest import mock

    from google.cloud import aiplatform

    sdk = mock.create_autospec(aiplatform, instance=True)
    monkeypatch.setattr(sys.modules["google.cloud"], "aiplatform", sdk)
    monkeypatch.setitem(sys.modules, "google.cloud.aiplatform", sdk)
    for key, value in tracking.vertex_environment("fraud-prod", "us-central1", "fraud-detection-train-fraud").items():
        monkeypatch.setenv(key, value)
    logged = tracking.Tracked(
        params={"optimizer": "adam"},
        metrics=[{"key": "loss", "value": v, "step": i, "t": 0.0} for i, v in enumerate((0.9, 0.4))],
    )
    said = tracking.forward(logged, {"auc": 0.91}, run_name="Train-Fraud-20261203_0800/evaluate", tags={})
    assert said == "logged to Vertex AI experiment fraud-detection-train-fraud run train-fraud-20261203-0800-evaluate"
    sdk.init.assert_called_once_with(project="fraud-prod", location="us-central1", experiment="fraud-detection-train-fraud")
    sdk.start_run.assert_called_once_with("train-fraud-20261203-0800-evaluate")
    sdk.log_params.assert_called_once_with({"optimizer": "adam"})
    sdk.log_metrics.assert_called_once_with({"loss": 0.4, "auc": 0.91})
    sdk.end_run.assert_called_once_with()

    sdk.start_run.side_effect = PermissionError("403 aiplatform.metadataStores.get")
    refused = tracking.forward(logged, {}, run_name="x/evaluate", tags={})
    assert refused == f"kept in {tracking.TRACKING_FILE}: Vertex AI Experiments refused it (PermissionError: 403 aiplatform.metadataStores.get)"


def test_vertex_run_names_fit_the_experiments_run_id():
    long = tracking.vertex_run_name("e" * 100, "A_" * 80 + "/evaluate")
    assert len("e" * 100 + "-" + long) <= tracking.VERTEX_ID_MAX and long.endswith("-evaluate")
    assert tracking.vertex_run_name("exp", "///") == "run"
