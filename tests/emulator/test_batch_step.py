"""A pipeline's batch_scoring step on the local emulator, through the real CLI and HTTP: the example's
checked-scores pipeline checks the input, then runs the nightly-scores batch job as a step — the rows
really scored with the registered model, the batch run recorded as started by the pipeline run — and a
batch job that cannot run fails the step with its reason and skips nothing silently."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from mlstack.emulator import process
from mlstack.emulator.client import Client
from mlstack.emulator.layout import StateDir
from tests.emulator.conftest import REPO, cli


@pytest.fixture
def batch_spec(tmp_path: Path):
    for folder in ("models", "baselines", "batch"):
        shutil.copytree(REPO / "specs" / folder, tmp_path / folder)
    spec = tmp_path / "batch-scoring.yaml"
    shutil.copy(REPO / "specs" / "batch-scoring.yaml", spec)
    yield spec
    process.stop(StateDir(tmp_path / ".mlstack-batch"), timeout=10)


def _client(spec: Path) -> Client:
    return Client.for_state(StateDir(spec.parent / ".mlstack-batch"))


@pytest.mark.slow
def test_the_pipeline_step_runs_the_batch_job_and_records_the_run(batch_spec: Path):
    folder = batch_spec.parent
    up = cli("up", "-f", str(batch_spec), cwd=folder, timeout=300)
    assert up.returncode == 0, up.stdout + up.stderr

    ran = cli("pipeline", "run", "checked-scores", "-f", str(batch_spec), cwd=folder, timeout=300)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "step check-input succeeded" in ran.stdout and "step score succeeded" in ran.stdout, ran.stdout
    assert "scored 3000/3000 rows" in ran.stdout  # the batch runner's progress, shown under the step

    client = _client(batch_spec)
    (run,) = client.get("/v1/runs")
    assert run["status"] == "succeeded"
    steps = {s["name"]: s for s in client.get(f"/v1/runs/{run['id']}")["steps"]}
    assert steps["score"]["kind"] == "batch_scoring" and steps["score"]["status"] == "succeeded"

    # The batch run the step started: recorded like any other, triggered by the pipeline run.
    (batch,) = client.get("/v1/batch-runs", job="nightly-scores")
    assert batch["trigger"] == f"pipeline:{run['id']}" and batch["status"] == "succeeded"
    assert batch["rows"] == 3000 and steps["score"]["message"].startswith(f"batch run {batch['id']} scored 3000")
    scored = pd.read_csv(batch["output"])
    rows = pd.read_csv(folder / "baselines" / "training.csv")
    assert len(scored) == len(rows) and scored["amount"].tolist() == rows["amount"].tolist()
    assert scored["prediction"].isin([0, 1]).all()
    state = StateDir(folder / ".mlstack-batch")
    recorded = json.loads((state.runs / run["id"] / "score" / "output" / "batch_run.json").read_text())
    assert recorded["id"] == batch["id"]


@pytest.mark.slow
def test_a_batch_job_that_cannot_run_fails_its_step_with_the_reason(batch_spec: Path):
    folder = batch_spec.parent
    assert cli("up", "-f", str(batch_spec), cwd=folder, timeout=300).returncode == 0
    # the check passes on the pipeline's data, but the job's own input is gone
    batch_spec.write_text(batch_spec.read_text().replace("      uri: baselines/training.csv", "      uri: gone.csv"))
    (folder / "gone.csv").write_text("amount\n1\n")
    assert cli("up", "-f", str(batch_spec), cwd=folder, timeout=300).returncode == 0
    (folder / "gone.csv").unlink()

    ran = cli("pipeline", "run", "checked-scores", "-f", str(batch_spec), cwd=folder, timeout=300)
    assert ran.returncode != 0
    client = _client(batch_spec)
    (run,) = client.get("/v1/runs")
    steps = {s["name"]: s for s in client.get(f"/v1/runs/{run['id']}")["steps"]}
    assert steps["check-input"]["status"] == "succeeded"
    assert steps["score"]["status"] == "failed"
    assert "gone.csv does not exist" in steps["score"]["message"]
    (batch,) = client.get("/v1/batch-runs", job="nightly-scores")
    assert batch["status"] == "failed" and "gone.csv does not exist" in batch["message"]
