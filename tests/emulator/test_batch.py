"""Batch scoring on the local emulator through the real CLI and HTTP: the example spec comes up, a run
scores every input row with the registered model (checked against the model itself), is recorded, and
its captured rows feed a drift monitor that names the batch job."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import joblib
import pandas as pd
import pytest

from mlstack.emulator import process
from mlstack.emulator.client import Client
from mlstack.emulator.layout import StateDir
from tests.emulator.conftest import REPO, cli

EXTRA = """
  - name: shifted-scores
    model: {group: fraud-model, version: 3}
    input: {uri: shifted/transactions.parquet}
    output: batch-output/shifted/
    format: parquet
    compute: batch-cpu
    data_capture: {sampling_percent: 50}

monitors:
  - name: nightly-drift
    kind: data_drift
    batch_job: nightly-scores
    baseline: baselines/training.csv
    metric: psi
    threshold: 0.2
  - name: shifted-drift
    kind: data_drift
    batch_job: shifted-scores
    baseline: baselines/training.csv
    features: [amount]
    metric: psi
    threshold: 0.2
"""


@pytest.fixture
def batch_spec(tmp_path: Path):
    for folder in ("models", "baselines", "batch"):
        shutil.copytree(REPO / "specs" / folder, tmp_path / folder)
    spec = tmp_path / "batch-scoring.yaml"
    spec.write_text((REPO / "specs" / "batch-scoring.yaml").read_text() + EXTRA)
    shifted = pd.read_csv(tmp_path / "baselines" / "training.csv")
    shifted["amount"] = shifted["amount"] * 8 + 500  # far outside what the model was trained on
    (tmp_path / "shifted").mkdir()
    shifted.to_parquet(tmp_path / "shifted" / "transactions.parquet", index=False)
    yield spec
    process.stop(StateDir(tmp_path / ".mlstack-batch"), timeout=10)


@pytest.mark.slow
def test_batch_run_scores_every_row_records_the_run_and_feeds_monitors(batch_spec: Path):
    folder = batch_spec.parent
    up = cli("up", "-f", str(batch_spec), cwd=folder, timeout=300)
    assert up.returncode == 0, up.stdout + up.stderr
    assert "batch_job nightly-scores created: scheduled 0 2 * * * (UTC)" in up.stdout

    # The schedule is registered with the emulator's scheduler, like a pipeline's.
    status = json.loads(cli("status", "-f", str(batch_spec), "--json").stdout)
    assert "batch_job/nightly-scores" in [s["job"] for s in status["schedules"]]

    ran = cli("batch", "run", "nightly-scores", "-f", str(batch_spec), cwd=folder)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "scoring 3000 rows of" in ran.stdout and "scored 3000/3000 rows" in ran.stdout
    summary = ran.stdout.strip().splitlines()[-1]
    assert summary.startswith("scored 3000 rows in ")
    output = Path(summary.split(" -> ")[1])
    assert output.parent == folder / "batch-output" / "nightly-scores" and output.suffix == ".csv"

    # Every row scored, with the predictions the registered model itself gives.
    scored = pd.read_csv(output)
    source = pd.read_csv(folder / "baselines" / "training.csv")
    model = joblib.load(folder / "models" / "fraud-model" / "3" / "model.joblib")
    assert len(scored) == len(source) == 3000
    assert scored["prediction"].tolist() == model.predict(source).tolist()
    assert scored["score"].to_numpy() == pytest.approx(model.predict_proba(source)[:, 1])
    pd.testing.assert_frame_equal(scored[list(source.columns)], source)

    runs = json.loads(cli("batch", "runs", "nightly-scores", "-f", str(batch_spec), "--json").stdout)
    assert [(r["status"], r["trigger"], r["rows"], r["output"]) for r in runs] == [
        ("succeeded", "manual", 3000, str(output))
    ]
    assert runs[0]["duration_s"] > 0

    shifted = cli("batch", "run", "shifted-scores", "-f", str(batch_spec), cwd=folder)
    assert shifted.returncode == 0, shifted.stdout + shifted.stderr
    assert len(pd.read_parquet(Path(shifted.stdout.strip().splitlines()[-1].split(" -> ")[1]))) == 3000

    # The captured inputs of each job feed the monitor that names it: the same rows as the baseline
    # do not drift, the shifted amounts do (50% sampled, still well past the threshold).
    same = json.loads(cli("monitor", "run", "nightly-drift", "-f", str(batch_spec), "--json").stdout)
    assert same["status"] == "ok", same
    assert same["value"] == pytest.approx(0.0, abs=1e-6)
    drifted = json.loads(cli("monitor", "run", "shifted-drift", "-f", str(batch_spec), "--json").stdout)
    assert drifted["status"] == "alert", drifted
    assert [(r["column"], r["breached"]) for r in drifted["results"]] == [("amount", True)]
    assert drifted["value"] > 0.2


@pytest.mark.slow
def test_batch_errors_are_clear_and_recorded(batch_spec: Path):
    folder = batch_spec.parent
    assert cli("up", "-f", str(batch_spec), cwd=folder, timeout=300).returncode == 0

    unknown = cli("batch", "run", "nightly-score", "-f", str(batch_spec), cwd=folder)
    assert unknown.returncode == 1
    assert "no batch job 'nightly-score' is applied (did you mean 'nightly-scores'?)" in unknown.stderr
    assert "Traceback" not in unknown.stderr

    client = Client.for_state(StateDir(folder / ".mlstack-batch"))
    for method, path, status, error in (
        ("GET", "/v1/batch-runs/nope", 404, "no batch run 'nope'"),
        ("POST", "/v1/batch-jobs/nope/runs", 404, "no batch job 'nope' is applied; applied: nightly-scores, "),
    ):
        response = client.http.request(method, path)
        assert response.status_code == status
        assert response.json()["error"].startswith(error)

    # An input that is gone by run time: the run fails, says why, is recorded, and writes no output.
    (folder / "shifted" / "transactions.parquet").unlink()
    failed = cli("batch", "run", "shifted-scores", "-f", str(batch_spec), cwd=folder)
    assert failed.returncode == 1
    assert "the input" in failed.stderr and "does not exist" in failed.stderr
    (run,) = json.loads(cli("batch", "runs", "shifted-scores", "-f", str(batch_spec), "--json").stdout)
    assert run["status"] == "failed" and run["rows"] == 0 and "does not exist" in run["message"]
    assert not (folder / "batch-output" / "shifted").exists()


def test_a_due_schedule_runs_the_batch_job_and_records_it_as_scheduled(batch_spec: Path):
    """In process: the emulator's scheduler, with its clock moved past 02:00 UTC, starts the job."""
    import time

    from mlstack.emulator import desired
    from mlstack.emulator.core import Emulator
    from mlstack.spec import load

    core = Emulator(StateDir(batch_spec.parent / ".mlstack-batch"))
    try:
        for item in desired.build(load(batch_spec))["resources"]:
            core.put(item["kind"], item["name"], item["config"])
        assert core.batch.runs("nightly-scores") == []
        core.scheduler.clock = lambda: time.time() + 2 * 86400  # at least one 02:00 UTC has passed
        assert "batch_job/nightly-scores" in core.scheduler.tick()
        deadline = time.monotonic() + 120
        while (runs := core.batch.runs("nightly-scores"))[0]["status"] == "running" and time.monotonic() < deadline:
            time.sleep(0.2)
        (run,) = runs
        assert (run["status"], run["trigger"], run["rows"]) == ("succeeded", "schedule", 3000), run
        assert len(pd.read_csv(run["output"])) == 3000
        # shifted-scores has no schedule: nothing of it ran
        assert core.batch.runs("shifted-scores") == []
    finally:
        core.close()
