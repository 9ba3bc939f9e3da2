"""Faults with real processes: kill -9 mid-run and mid-write, busy ports, bad input, wrong tokens,
concurrent `up`s. Each ends in a clear message and nothing half-applied."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pandas as pd
import pytest

from mlstack.emulator import process, procs
from mlstack.emulator.layout import StateDir
from tests.emulator.conftest import cli, pipeline_spec, write_spec


def _wait_for(path: Path, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text():
            return path.read_text()
        time.sleep(0.05)
    raise AssertionError(f"{path} did not appear in {timeout}s")


def _integrity(database: Path) -> str:
    with sqlite3.connect(database) as conn:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]


def _up_in_background(spec: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "COLUMNS": "250"}
    return subprocess.Popen(
        [sys.executable, "-m", "mlstack", "up", str(spec)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


@pytest.fixture
def blocked(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A spec whose training step reports its pid to `marker` and waits while `block` exists."""
    marker, block = tmp_path / "step.pid", tmp_path / "block"
    block.touch()
    spec = write_spec(tmp_path, pipeline_spec(train_params=json.dumps({"marker": str(marker), "block": str(block)})))
    return spec, marker, block


def test_kill_during_a_run_fails_the_run_keeps_the_stores_and_up_resumes(blocked):
    spec, marker, block = blocked
    state = StateDir(spec.parent / ".mlstack")
    up = _up_in_background(spec)
    step_pid = int(_wait_for(marker))
    server = process.running(state)
    os.kill(server.pid, signal.SIGKILL)
    _, err = up.communicate(timeout=60)
    assert up.returncode == 1
    assert "cannot reach the emulator" in err and "Traceback" not in err
    assert procs.alive(step_pid)  # the step outlived its emulator...

    info = process.start(state)  # ...until the emulator restarts
    assert info.recovered["runs"] == 1 and info.recovered["orphaned_steps_killed"] == 1
    assert not procs.alive(step_pid) or Path(f"/proc/{step_pid}/stat").read_text().split()[2] == "Z"
    assert _integrity(state.database) == "ok" and _integrity(state.online_database) == "ok"
    report = json.loads(cli("status", str(spec), "--json").stdout)
    (run,) = report["runs"]
    assert run["status"] == "failed" and run["message"].startswith("interrupted: the emulator stopped")
    assert [s["status"] for s in run["steps"]] == ["failed", "skipped", "skipped"]
    assert report["registry"] == [{"name": "clf", "approval": "auto", "description": "", "tags": {}, "versions": []}]

    block.unlink()
    resumed = cli("up", str(spec))
    assert resumed.returncode == 0, resumed.stderr
    assert "registered clf v1" in resumed.stdout
    assert "serving clf v1" in resumed.stdout
    process.stop(state)


def test_kill_during_online_writes_keeps_every_acknowledged_write(emulator, tmp_path):
    pd.DataFrame({"k": [0], "ts": [pd.Timestamp.now()], "f": [0.0]}).to_parquet(tmp_path / "s.parquet")
    spec = write_spec(
        tmp_path,
        """
        apiVersion: mlstack/v1
        name: writes
        owner: tests@example.com
        feature_store:
          entities: [{name: e, join_keys: [{name: k, dtype: int64}]}]
          views:
            - name: v
              entity: e
              source: {uri: s.parquet, timestamp_field: ts}
              features: [{name: f, dtype: float64}]
        """,
    )
    assert emulator.apply(spec)["status"] == "succeeded"
    size, acknowledged, stop = 2000, [], threading.Event()
    url, headers = emulator.info.url, {"Authorization": f"Bearer {emulator.state.read_token()}"}

    def write() -> None:
        with httpx.Client(base_url=url, headers=headers, timeout=10) as client:
            for batch in range(10_000):
                rows = [{"k": batch * size + i, "f": float(batch)} for i in range(size)]
                try:
                    client.post("/v1/features/v/push", json={"rows": rows}).raise_for_status()
                except httpx.HTTPError:
                    stop.set()
                    return
                acknowledged.append(batch)

    writer = threading.Thread(target=write)
    writer.start()
    while len(acknowledged) < 5:
        time.sleep(0.01)
    emulator.kill()
    writer.join(timeout=30)
    assert stop.is_set()

    emulator.restart()
    assert _integrity(emulator.state.online_database) == "ok"
    with sqlite3.connect(emulator.state.online_database) as conn:
        count = conn.execute('SELECT COUNT(*) FROM "fv_v"').fetchone()[0]
    assert count % size == 0  # whole batches only: each push is one transaction
    assert count >= len(acknowledged) * size
    probe = [{"k": b * size + size - 1} for b in acknowledged]
    values = emulator.client.post("/v1/features/v/online", {"entities": probe})["values"]
    assert values == [{"f": float(b)} for b in acknowledged]


def test_port_in_use_is_reported_and_nothing_is_made(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        target = f"""
        target:
          local:
            port: {port}
        """
        spec = write_spec(tmp_path, pipeline_spec(extra=target))
        result = cli("up", str(spec))
    assert result.returncode == 1
    assert f"port {port} on 127.0.0.1 is in use by another program" in result.stderr
    state = StateDir(tmp_path / ".mlstack")
    assert not process.lock_held(state)
    assert not state.database.exists()


def test_missing_data_file_is_located_in_the_spec_before_anything_starts(tmp_path):
    spec = write_spec(tmp_path, pipeline_spec().replace("schedule: null", "schedule: null\n            data: gone.csv"))
    text = spec.read_text()
    assert "data: gone.csv" in text
    result = cli("up", str(spec))
    assert result.returncode == 1
    line = text.splitlines().index("    data: gone.csv") + 1
    assert f"{spec}:{line}:11: pipelines[0].data: data file gone.csv does not exist" in result.stderr
    assert not (tmp_path / ".mlstack").exists()


def test_a_failing_step_is_a_clear_message(tmp_path):
    spec = write_spec(tmp_path, pipeline_spec(train_params="{fail: 1}"))
    result = cli("up", str(spec))
    assert result.returncode == 1
    assert "step train failed: exited with status 3" in result.stderr
    assert "the data is cursed" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    process.stop(StateDir(tmp_path / ".mlstack"))


def test_a_wrong_token_is_a_clear_message(emulator, tmp_path):
    spec = write_spec(tmp_path, pipeline_spec())
    emulator.state.token_file.write_text("forged")
    result = cli("status", str(spec))
    assert result.returncode == 1
    assert "rejected the token in" in result.stderr and "wrong token" in result.stderr


def test_a_second_up_while_one_runs_is_refused(blocked):
    spec, marker, block = blocked
    first = _up_in_background(spec)
    _wait_for(marker)
    second = cli("up", str(spec))
    assert second.returncode == 1
    assert "the emulator is busy with applying demo" in second.stderr
    block.unlink()
    out, err = first.communicate(timeout=60)
    assert first.returncode == 0, err
    assert "serving clf v1" in out
    assert cli("up", str(spec)).stdout.count("No changes.") == 1
    process.stop(StateDir(spec.parent / ".mlstack"))


def test_a_restart_with_a_lost_artifact_keeps_the_rest_serving(emulator, tmp_path):
    spec = write_spec(tmp_path, pipeline_spec())
    assert emulator.apply(spec)["status"] == "succeeded"
    (version,) = emulator.client.get("/v1/registry/groups/clf/versions")
    emulator.kill()
    Path(version["artifact"]).unlink()
    emulator.restart()
    endpoint = emulator.client.get("/v1/resources/endpoint/scorer")
    assert endpoint["status"] == "failed"
    assert "cannot load clf v1" in endpoint["message"]
    assert emulator.client.get("/v1/resources/pipeline/train")["status"] == "ready"
