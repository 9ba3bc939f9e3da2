"""Pipelines on a real server: the step contract, gates, registration, approval, alerts, schedules."""

from __future__ import annotations

import collections
import json
import time

import pytest

from mlstack.emulator.scheduler import Scheduler
from mlstack.errors import MlstackError
from tests.emulator.conftest import cli, pipeline_spec, write_spec


def _run(emulator, pipeline: str, **parameters) -> dict:
    started = emulator.client.post(f"/v1/pipelines/{pipeline}/runs", {"parameters": parameters})
    emulator.client.follow(started["operation"]["id"], lambda event: None)
    return emulator.client.get(f"/v1/runs/{started['run_id']}")


def _versions(emulator, group: str = "clf") -> list[dict]:
    return emulator.client.get(f"/v1/registry/groups/{group}/versions")


def test_steps_receive_the_documented_contract(emulator, tmp_path):
    (tmp_path / "rows.csv").write_text("a,b\n1,2\n3,4\n")
    spec = write_spec(
        tmp_path,
        """
        apiVersion: mlstack/v1
        name: contract
        owner: tests@example.com
        pipelines:
          - name: p
            data: rows.csv
            parameters: {shared: 1, overridden: pipeline}
            steps:
              - name: first
                kind: processing
                entrypoint: {steps}/record.py
                parameters: {overridden: step}
              - name: second
                kind: processing
                entrypoint: {steps}/record.py
        """,
    )
    assert emulator.apply(spec)["status"] == "succeeded"
    run = _run(emulator, "p", extra="run")
    assert run["status"] == "succeeded", run["message"]
    outputs = emulator.state.runs / run["id"]
    first = json.loads((outputs / "first" / "output" / "seen.json").read_text())
    second = json.loads((outputs / "second" / "output" / "seen.json").read_text())
    assert json.loads(first["env"]["MLSTACK_PARAMS"]) == {"shared": 1, "overridden": "step", "extra": "run"}
    assert sorted(first["argv"]) == ["--extra=run", "--overridden=step", "--shared=1"]
    assert first["env"]["MLSTACK_DATA"] == str((tmp_path / "rows.csv").resolve())
    assert first["env"]["MLSTACK_INPUT_DIR"] == ""
    assert first["env"]["MLSTACK_OUTPUT_DIR"] == str(outputs / "first" / "output")
    assert first["env"]["MLSTACK_MODEL_FILE"] == str(outputs / "first" / "output" / "model.joblib")
    assert first["env"]["MLSTACK_METRICS_FILE"] == str(outputs / "first" / "output" / "metrics.json")
    assert first["env"]["MLSTACK_STEP_KIND"] == "processing"
    assert first["cwd"] == str(tmp_path.resolve())
    assert second["env"]["MLSTACK_INPUT_DIR"] == str(outputs / "first" / "output")
    assert json.loads(second["env"]["MLSTACK_INPUTS"]) == {"first": str(outputs / "first" / "output")}
    assert run["lineage"]["data_rows"] == 2


def test_a_failing_step_fails_the_run_and_registers_nothing(emulator, tmp_path):
    spec = write_spec(tmp_path, pipeline_spec(train_params="{fail: 1}"))
    applied = emulator.apply(spec)
    assert applied["status"] == "failed"
    assert "endpoint scorer needs clf@champion: step train failed: exited with status 3" in applied["message"]
    assert "the data is cursed" in applied["message"]  # the log's tail comes with the failure
    (run,) = emulator.client.get("/v1/runs")
    assert [s["status"] for s in run["steps"]] == ["failed", "skipped", "skipped"]
    assert _versions(emulator) == []
    kinds = {r["kind"] for r in emulator.client.get("/v1/resources")}
    assert "endpoint" not in kinds  # not half-made: the endpoint does not exist until it can serve
    # The next plan shows the endpoint to create again, with the run it needs.
    plan = emulator.plan(spec)
    assert plan["runs"] == [{"pipeline": "train", "reason": "endpoint scorer needs clf@champion"}]


def test_gates_stop_registration_and_compare_with_the_champion(emulator, tmp_path):
    spec = write_spec(
        tmp_path,
        pipeline_spec().replace(
            "- metric: accuracy\n                    min: 0.8",
            "- metric: accuracy\n                    min: 0.8\n"
            "                  - metric: accuracy\n                    beat_champion: true\n"
            "                    tolerance: 0.05",
        ),
    )
    applied = emulator.apply(spec)
    assert applied["status"] == "succeeded", applied["message"]  # v1 at accuracy 0.9 is the champion
    close = _run(emulator, "train", accuracy=0.86)  # within the tolerance of the champion's 0.9
    assert close["status"] == "succeeded", close["message"]
    low = _run(emulator, "train", accuracy=0.7)
    assert low["status"] == "failed"
    assert "accuracy = 0.7 is below the minimum 0.8" in low["message"]
    assert "accuracy = 0.7 does not beat the champion's 0.86 (higher is better, tolerance 0.05)" in low["message"]
    versions = _versions(emulator)
    assert [(v["version"], v["metrics"]["accuracy"], v["aliases"]) for v in versions] == [
        (1, 0.9, []),
        (2, 0.86, ["champion"]),
    ]
    assert versions[1]["params"]["accuracy"] == 0.86
    assert versions[1]["lineage"]["run_id"] == close["id"]
    assert len(versions[1]["lineage"]["code_sha256"]) == 64


def test_manual_approval_gates_deployment_until_approved(emulator, tmp_path):
    spec = write_spec(tmp_path, pipeline_spec(approval="manual"))
    assert emulator.apply(spec)["status"] == "succeeded"
    (endpoint,) = emulator.client.get("/v1/endpoints")
    assert endpoint["status"] == "waiting"
    assert "mlstack registry approve clf 1" in endpoint["message"]
    with pytest.raises(MlstackError, match="no endpoint 'scorer' is serving"):
        emulator.client.post("/endpoints/scorer/invocations", {"instances": [[1.0, 1.0]]})
    assert emulator.plan(spec)["counts"]["update"] == 0  # waiting is not a change to make
    approved = cli("registry", "approve", "clf", "1", "-f", str(spec))
    assert approved.returncode == 0, approved.stderr
    assert approved.stdout.splitlines() == ["clf v1 is approved", "endpoint scorer: primary: clf v1"]
    answer = emulator.client.post("/endpoints/scorer/invocations", {"instances": [[1.0, 1.0]]})
    assert {k: answer[k] for k in ("predictions", "model", "variant")} == {
        "predictions": [1],
        "model": "clf v1",
        "variant": "primary",
    }


def test_a_run_that_moves_the_champion_rolls_the_endpoint_with_its_strategy(emulator, tmp_path):
    canary = (
        "compute: {vcpus: 1}\n            strategy: {type: canary, percent: 50, bake_time: 20s, termination_wait: 1s}"
    )
    spec = write_spec(tmp_path, pipeline_spec().replace("compute: {vcpus: 1}", canary))
    assert emulator.apply(spec)["status"] == "succeeded"
    ran = cli("pipeline", "run", "train", "-f", str(spec), "-p", "accuracy=0.95")
    assert ran.returncode == 0, ran.stderr
    assert "endpoint scorer updating: canary from clf v1 to clf v2" in ran.stdout
    # Over HTTP while the canary bakes (long enough for 80 requests on a loaded machine): both versions answer,
    # split about half and half.
    served = collections.Counter(
        emulator.client.post("/endpoints/scorer/invocations", {"instances": [[0, 0]]})["model"] for _ in range(80)
    )
    assert set(served) == {"clf v1", "clf v2"}
    assert 20 < served["clf v2"] < 60
    deadline = time.monotonic() + 60
    while emulator.client.get("/v1/endpoints")[0]["status"] != "ready" and time.monotonic() < deadline:
        time.sleep(0.2)
    answers = {
        emulator.client.post("/endpoints/scorer/invocations", {"instances": [[0, 0]]})["model"] for _ in range(20)
    }
    assert answers == {"clf v2"}
    assert emulator.plan(spec)["counts"]["update"] == 0  # `up` has nothing left to do


def test_a_run_moving_an_alias_no_endpoint_follows_changes_no_endpoint(emulator, tmp_path):
    spec = write_spec(tmp_path, pipeline_spec().replace("aliases: [champion]", "aliases: [challenger]"))
    spec.write_text(spec.read_text().replace("model: {group: clf, alias: champion}", "model: {group: clf, version: 1}"))
    assert emulator.apply(spec)["status"] == "succeeded"
    assert _run(emulator, "train", accuracy=0.95)["status"] == "succeeded"
    (endpoint,) = emulator.client.get("/v1/endpoints")
    assert [s["version"] for s in endpoint["serving"]] == [1]
    assert emulator.client.post("/endpoints/scorer/invocations", {"instances": [[0, 0]]})["model"] == "clf v1"


def test_a_monitor_alert_starts_the_pipelines_that_retrain_on_it(emulator, tmp_path):
    (tmp_path / "baseline.csv").write_text("x\n1\n")
    extra = """
        monitors:
          - name: drift
            kind: data_drift
            endpoint: scorer
            baseline: baseline.csv
            metric: psi
            actions:
              - {type: retrain, pipeline: train}
    """
    body = pipeline_spec(extra=extra).replace(
        "compute: {vcpus: 1}", "compute: {vcpus: 1}\n            data_capture: {sampling_percent: 100}"
    )
    spec = write_spec(tmp_path, body)
    assert emulator.apply(spec)["status"] == "succeeded"
    answer = emulator.client.post("/v1/monitors/drift/alerts", {"detail": "psi 0.4 > 0.2"})
    (run_id,) = answer["runs"]
    run = emulator.client.get(f"/v1/runs/{run_id}")
    assert run["trigger"] == "alert:drift"


def test_step_timeout_stops_the_step(emulator, tmp_path):
    spec = write_spec(
        tmp_path,
        """
        apiVersion: mlstack/v1
        name: slow
        owner: tests@example.com
        pipelines:
          - name: p
            steps:
              - name: train
                kind: training
                entrypoint: {steps}/train.py
                parameters: {sleep: 30}
                timeout: 1s
        """,
    )
    assert emulator.apply(spec)["status"] == "succeeded"
    run = _run(emulator, "p")
    assert run["status"] == "failed"
    assert "timed out after 1s" in run["message"]


def test_scheduler_runs_jobs_when_cron_says_and_not_before():
    now = [1_700_000_000.0]  # 2023-11-14 22:13:20 UTC
    fired: list[str] = []
    scheduler = Scheduler(clock=lambda: now[0])
    scheduler.set("pipeline/p", "*/15 * * * *", lambda: fired.append("p"))
    assert scheduler.jobs()["pipeline/p"] == 1_700_000_100.0  # 22:15:00
    now[0] = 1_700_000_099.0
    assert scheduler.tick() == [] and fired == []
    now[0] = 1_700_000_100.0
    assert scheduler.tick() == ["pipeline/p"] and fired == ["p"]
    assert scheduler.jobs()["pipeline/p"] == 1_700_001_000.0  # 22:30:00
    scheduler.set("pipeline/p", "*/15 * * * *", lambda: fired.append("again"))  # unchanged cron keeps its time
    assert scheduler.jobs()["pipeline/p"] == 1_700_001_000.0
    scheduler.remove("pipeline/p")
    now[0] = 1_700_009_000.0
    assert scheduler.tick() == []


def test_schedules_are_registered_from_the_spec(emulator, tmp_path):
    spec = write_spec(tmp_path, pipeline_spec(schedule="'0 3 * * *'"))
    assert emulator.apply(spec)["status"] == "succeeded"
    (job,) = emulator.client.get("/v1/status")["schedules"]
    assert job["job"] == "pipeline/train"
    assert job["next"] % 86400 == 3 * 3600
