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


def test_a_batch_job_moves_exactly_where_the_destination_runs_it_as_written(tmp_path):
    changes = migrated(tmp_path, "aws")
    job = changes["batch_jobs[0]"]
    assert job["grade"] == "exact" and "SageMaker Batch Transform" in job["what"] and "batch runner" in job["what"]


@pytest.mark.parametrize(("to", "instead"), [("gcp", "Vertex batch prediction"), ("azure", "Azure ML batch")])
def test_data_capture_the_destination_drops_is_graded_approximate(tmp_path, to, instead):
    changes = migrated(tmp_path, to)
    assert "batch_jobs[0]" not in changes  # not exact: one of its fields is not applied
    capture = changes["batch_jobs[0].data_capture"]
    assert capture["grade"] == "approximate" and instead in capture["why"] and "nothing is captured" in capture["why"]


@pytest.mark.parametrize(
    ("to", "step"),
    [
        ("aws", "Transform step"),
        ("gcp", "Vertex batch prediction job in the KFP pipeline"),
        ("azure", "invoking the Azure ML batch endpoint"),
    ],
)
def test_a_batch_scoring_step_is_graded_by_what_runs_it_on_each_side(tmp_path, to, step):
    changes = migrated(tmp_path, to)
    graded = changes["pipelines[0].steps[1]"]
    assert graded["grade"] == "exact" and step in graded["what"] and "emulator's batch runner" in graded["what"]


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
    assert monitor["grade"] == "unsupported" and "model_monitoring_config, exists only in the v1beta1" in monitor["decide"]
