"""`mlstack migrate` of batch jobs: graded by what each destination runs them with; a format, a
feature-view input, a schedule or a monitor the destination cannot take is said, located."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlstack.spec import load
from tests.migrate.test_cli import run

EXAMPLE = "specs/batch-scoring.yaml"


def migrated(tmp_path: Path, to: str, spec: str = EXAMPLE) -> dict:
    out, js = tmp_path / f"{to}.yaml", tmp_path / f"{to}.json"
    result = run("migrate", spec, "--to", to, "-o", str(out), "--json-report", str(js), "--no-plan")
    assert result.returncode == 0, result.stderr
    assert load(out).spec.batch_jobs[0].name == "nightly-scores"
    return {c["path"]: c for c in json.loads(js.read_text())["changes"]}


@pytest.mark.parametrize(
    ("to", "service"),
    [("aws", "SageMaker Batch Transform"), ("gcp", "Vertex batch prediction job")],
)
def test_a_batch_job_moves_exactly_where_the_destination_runs_it_as_written(tmp_path, to, service):
    changes = migrated(tmp_path, to)
    job = changes["batch_jobs[0]"]
    assert job["grade"] == "exact" and service in job["what"] and "batch runner" in job["what"]


def test_azure_says_its_schedule_is_not_applied(tmp_path):
    changes = migrated(tmp_path, "azure")
    schedule = changes["batch_jobs[0].schedule"]
    assert schedule["grade"] == "approximate"
    assert "schedules start pipeline jobs, not batch endpoint invocations" in schedule["why"]


def test_what_a_cloud_cannot_take_is_unsupported_and_located(tmp_path):
    text = (Path(EXAMPLE).read_text()).replace("format: csv", "format: parquet")
    text += """
monitors:
  - name: scores-drift
    kind: data_drift
    batch_job: nightly-scores
    baseline: baselines/training.csv
    metric: jensen_shannon
"""
    spec = tmp_path / "batch.yaml"
    spec.write_text(text)
    out, js = tmp_path / "gcp.yaml", tmp_path / "gcp.json"
    result = run("migrate", str(spec), "--to", "gcp", "-o", str(out), "--json-report", str(js), "--no-plan")
    assert result.returncode == 1  # the written spec does not validate on gcp until these are decided
    assert "Traceback" not in result.stderr
    changes = {c["path"]: c for c in json.loads(js.read_text())["changes"]}
    assert changes["batch_jobs[0].format"]["grade"] == "unsupported"
    assert "scores csv files" in changes["batch_jobs[0].format"]["decide"]
    monitor = changes["monitors[0].batch_job"]
    assert monitor["grade"] == "unsupported" and "model_monitoring_config is the closest" in monitor["decide"]
