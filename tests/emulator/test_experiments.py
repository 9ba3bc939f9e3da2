"""Experiment tracking, lineage and the audit trail on the local emulator, over real HTTP and the CLI."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from mlstack.emulator.errors import BadRequest
from tests.emulator.conftest import STEPS, cli, write_spec

SPEC = """
    apiVersion: mlstack/v1
    name: lineage-demo
    owner: tests@example.com
    registry:
      model_groups:
        - name: clf
          approval: manual
    feature_store:
      entities:
        - name: customer
          join_keys: [{name: customer_id, dtype: int64}]
      views:
        - name: stats
          entity: customer
          source: {uri: stats.parquet, timestamp_field: ts}
          features:
            - {name: spend, dtype: float64}
            - {name: visits, dtype: int64}
    pipelines:
      - name: train
        data: labels.parquet
        feature_views: [stats]
        steps:
          - name: train
            kind: training
            entrypoint: {steps}/train_logged.py
            parameters: {epochs: 4}
          - name: evaluate
            kind: evaluation
            entrypoint: {steps}/evaluate.py
            parameters: {accuracy: 0.9}
            gates:
              - metric: accuracy
                min: 0.8
          - name: register
            kind: registration
            model_group: clf
            aliases: [champion]
    endpoints:
      - name: scorer
        model: {group: clf, alias: champion}
        compute: {vcpus: 1}
"""


def _git(folder: Path, *args: str) -> str:
    command = ["git", "-C", str(folder), "-c", "user.email=t@example.com", "-c", "user.name=t", *args]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A spec in a git checkout, with its labels and a feature view's source."""
    now = pd.Timestamp.now(tz="UTC").tz_localize(None)
    pd.DataFrame({"customer_id": [1, 2], "ts": [now, now], "spend": [1.0, 2.0], "visits": [3, 4]}).to_parquet(
        tmp_path / "stats.parquet"
    )
    pd.DataFrame({"customer_id": [1, 2], "event_timestamp": [now, now], "churned": [0, 1]}).to_parquet(
        tmp_path / "labels.parquet"
    )
    spec = write_spec(tmp_path, SPEC)
    (tmp_path / ".gitignore").write_text(".mlstack/\n")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-qm", "the platform")
    return spec


def test_lineage_of_a_served_endpoint_names_run_data_commit_features_and_approver(emulator, project, monkeypatch):
    assert emulator.apply(project)["status"] == "succeeded"
    endpoint = next(e for e in emulator.client.get("/v1/endpoints") if e["name"] == "scorer")
    assert endpoint["status"] == "waiting"  # v1 is pending: manual approval

    monkeypatch.setenv("MLSTACK_ACTOR", "alice@example.com")
    approved = cli("registry", "approve", "clf", "1", "-f", str(project))
    assert approved.returncode == 0, approved.stderr
    answer = emulator.client.post("/endpoints/scorer/invocations", {"instances": [[0.0, 0.0]]})
    assert answer["predictions"] == [1]

    shown = cli("lineage", "scorer", "-f", str(project), "--json")
    assert shown.returncode == 0, shown.stderr
    (served,) = json.loads(shown.stdout)["serving"]
    (run,) = emulator.client.get("/v1/runs", pipeline="train")
    assert served["group"] == "clf" and served["version"] == 1 and served["variant"] == "primary"
    assert served["run"]["id"] == run["id"]
    assert served["data"]["sha256"] == hashlib.sha256((project.parent / "labels.parquet").read_bytes()).hexdigest()
    assert served["code"]["commit"] == _git(project.parent, "rev-parse", "HEAD")
    assert served["code"]["dirty"] is False
    train_file = STEPS / "train_logged.py"
    assert served["code"]["steps"]["train"] == hashlib.sha256(train_file.read_bytes()).hexdigest()
    assert served["features"] == [
        {
            "view": "stats",
            "entity": "customer",
            "features": ["spend", "visits"],
            "source": str(project.parent / "stats.parquet"),
            "applied": True,
        }
    ]
    assert served["approver"]["who"] == "alice@example.com" and served["approver"]["action"] == "approve"

    text = cli("lineage", "clf@1", "-f", str(project))
    assert text.returncode == 0, text.stderr
    assert f"run: {run['id']}" in text.stdout
    assert "approver: alice@example.com" in text.stdout
    assert "features: stats (customer: spend, visits)" in text.stdout
    bad = cli("lineage", "clf@x", "-f", str(project))
    assert bad.returncode == 1 and "is not MODEL@VERSION" in bad.stderr and "Traceback" not in bad.stderr
    missing = cli("lineage", "nope", "-f", str(project))
    assert missing.returncode == 1 and "no endpoint 'nope'" in missing.stderr


def test_runs_record_params_metric_series_artifacts_and_compare(emulator, project, tmp_path):
    assert emulator.apply(project)["status"] == "succeeded"
    started = emulator.client.post("/v1/pipelines/train/runs", {"parameters": {"epochs": 6}})
    emulator.client.follow(started["operation"]["id"], lambda event: None)

    listed = emulator.client.get("/v1/experiments/runs", pipeline="train")
    assert [r["params"]["epochs"] for r in listed] == ["6", "4"]  # newest first; the run's parameter wins
    assert [r["metrics"] for r in listed] == [
        {"loss": pytest.approx(1 / 6), "accuracy": 0.9},  # the last value of the series: epoch 5
        {"loss": pytest.approx(1 / 4), "accuracy": 0.9},
    ]

    record = emulator.client.get(f"/v1/experiments/runs/{started['run_id']}")
    loss = [(m["series"], m["value"]) for m in record["metrics_by_step"] if m["key"] == "loss"]
    assert loss == [(epoch, pytest.approx(1 / (epoch + 1))) for epoch in range(6)]
    logged = {p["key"]: p["value"] for p in record["params_by_step"] if p["logged"]}
    assert logged == {"optimizer": "sgd", "epochs": "6"}
    artifacts = {(a["step"], a["path"]) for a in record["artifacts"]}
    assert {("train", "model.joblib"), ("evaluate", "metrics.json")} <= artifacts
    model = emulator.state.runs / started["run_id"] / "train" / "output" / "model.joblib"
    digest = next(a["sha256"] for a in record["artifacts"] if a["path"] == "model.joblib")
    assert digest == hashlib.sha256(model.read_bytes()).hexdigest()
    assert record["registered"] == [{"group": "clf", "version": 2, "approval": "pending"}]
    assert record["lineage"]["image"].startswith("local: ") and record["lineage"]["image_digest"] is None

    compared = cli("runs", "compare", "-f", str(project), "--json")
    assert compared.returncode == 0, compared.stderr
    matrix = json.loads(compared.stdout)
    assert matrix["params"]["epochs"] == ["4", "6"]  # oldest first, left to right
    svg = tmp_path / "loss.svg"
    plotted = cli("runs", "compare", "-f", str(project), "--plot", "loss", "-o", str(svg))
    assert plotted.returncode == 0, plotted.stderr
    assert svg.read_text().lstrip().startswith("<?xml") and started["run_id"] in svg.read_text()
    unknown = cli("runs", "compare", "-f", str(project), "--plot", "recall", "-o", str(svg))
    assert unknown.returncode == 1 and "no run logged metric 'recall'" in unknown.stderr
    assert "accuracy, loss" in unknown.stderr
    shown = cli("runs", "show", "latest", "-f", str(project))
    assert shown.returncode == 0, shown.stderr
    assert started["run_id"] in shown.stdout and "optimizer" in shown.stdout


def test_a_step_that_logs_a_bad_metric_fails_with_the_line(emulator, tmp_path):
    step = tmp_path / "bad.py"
    step.write_text(
        "import os, joblib\n"
        "from sklearn.dummy import DummyClassifier\n"
        "joblib.dump(DummyClassifier().fit([[0]], [0]), os.environ['MLSTACK_MODEL_FILE'])\n"
        "open(os.environ['MLSTACK_METRICS_LOG'], 'a').write('{\"metric\": \"loss\", \"value\": \"high\"}\\n')\n"
    )
    spec = write_spec(
        tmp_path,
        f"""
        apiVersion: mlstack/v1
        name: bad
        owner: tests@example.com
        pipelines:
          - name: p
            steps:
              - name: train
                kind: training
                entrypoint: {step}
        """,
    )
    assert emulator.apply(spec)["status"] == "succeeded"
    started = emulator.client.post("/v1/pipelines/p/runs", {})
    emulator.client.follow(started["operation"]["id"], lambda event: None)
    run = emulator.client.get(f"/v1/runs/{started['run_id']}")
    assert run["status"] == "failed"
    assert "tracking.jsonl line 1: metric loss must be a finite number, not 'high'" in run["message"]


def test_audit_trail_records_who_what_why_and_refuses_to_change(emulator, project, monkeypatch):
    assert emulator.apply(project)["status"] == "succeeded"
    monkeypatch.setenv("MLSTACK_ACTOR", "bob")
    assert cli("registry", "reject", "clf", "1", "-f", str(project)).returncode == 0
    records = emulator.client.get("/v1/audit")
    actions = [(r["action"], r["what"]) for r in records]
    assert actions[0] == ("apply", "lineage-demo")
    assert ("create", "endpoint scorer") in actions and ("run", "train") in actions
    (rejected,) = [r for r in records if r["action"] == "reject"]
    assert rejected["what"] == "clf v1" and rejected["who"] == "bob"
    # The endpoint waiting for a servable version was looked at again, on bob's request.
    assert (records[-1]["action"], records[-1]["who"]) == ("deploy", "bob")
    assert [r["id"] for r in records] == sorted(r["id"] for r in records)

    only = cli("audit", "-f", str(project), "--action", "reject", "--json")
    assert only.returncode == 0, only.stderr
    assert [(r["who"], r["what"]) for r in json.loads(only.stdout)] == [("bob", "clf v1")]
    later = cli("audit", "-f", str(project), "--since", str(records[-1]["at"] + 1), "--json")
    assert json.loads(later.stdout) == []
    bad = cli("audit", "-f", str(project), "--since", "yesterday")
    assert bad.returncode == 1 and "is not a span" in bad.stderr

    with pytest.raises(BadRequest, match="x-mlstack-actor"):
        emulator.client.request("GET", "/v1/audit", headers={"X-Mlstack-Actor": "eve; DROP TABLE audit"})
    conn = sqlite3.connect(emulator.state.database)
    for sql in ("UPDATE audit SET who = 'mallory'", "DELETE FROM audit"):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute(sql)
    conn.close()
    assert len(emulator.client.get("/v1/audit")) == len(records)
