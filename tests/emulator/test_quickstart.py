"""The quickstart end to end through the real CLI: up, the printed curl line, idempotent up, down."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import time

import pytest

from mlstack.emulator import process
from mlstack.emulator.layout import StateDir
from tests.emulator.conftest import cli


@pytest.mark.slow
def test_quickstart_up_serves_then_down_purge_removes_everything(quickstart):
    started = time.monotonic()
    first = cli("up", str(quickstart), cwd=quickstart.parent)
    elapsed = time.monotonic() - started
    assert first.returncode == 0, first.stderr
    assert elapsed < 60
    assert re.search(r"\+ model_group\s+iris-classifier", first.stdout)
    assert "runs pipeline train-iris first" in first.stdout
    assert "registered iris-classifier v1 (approved), aliases champion" in first.stdout
    url = re.search(r"(http://127\.0\.0\.1:\d+/endpoints/iris/invocations)", first.stdout).group(1)

    # The printed curl line works as printed.
    curl_line = next(line.strip() for line in first.stdout.splitlines() if line.strip().startswith("curl "))
    answer = json.loads(subprocess.run(["bash", "-c", curl_line], capture_output=True, text=True, check=True).stdout)
    assert answer["model"] == "iris-classifier v1"
    assert answer["predictions"] == [0]  # the first iris row is a setosa, class 0

    second = cli("up", str(quickstart), cwd=quickstart.parent)
    assert second.returncode == 0, second.stderr
    assert "0 to create, 0 to update, 0 to delete, 3 unchanged." in second.stdout
    assert "No changes." in second.stdout
    assert url in second.stdout

    report = json.loads(cli("status", str(quickstart), "--json").stdout)
    assert [e["status"] for e in report["endpoints"]] == ["ready"]
    (version,) = report["registry"][0]["versions"]
    data = quickstart.parent / "quickstart" / "iris.csv"
    assert version["lineage"]["data_sha256"] == hashlib.sha256(data.read_bytes()).hexdigest()
    assert version["params"]["max_iter"] == 200
    assert version["metrics"]["accuracy"] >= 0.8
    assert len(report["runs"]) == 1 and report["runs"][0]["status"] == "succeeded"

    invoked = cli("invoke", "iris", "-f", str(quickstart), "--data", '{"instances": [[6.7, 3.0, 5.2, 2.3]]}')
    assert invoked.returncode == 0, invoked.stderr
    assert json.loads(invoked.stdout)["predictions"] == [2]  # a virginica

    state = StateDir(quickstart.parent / ".mlstack")
    pid = process.running(state).pid
    gone = cli("down", str(quickstart), "--purge", "--yes")
    assert gone.returncode == 0, gone.stderr
    assert "1 model versions, 1 pipeline runs" in gone.stdout  # said before deleting
    assert not state.root.exists()
    assert not process.lock_held(state)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and subprocess.run(["kill", "-0", str(pid)], capture_output=True).returncode == 0:
        time.sleep(0.1)
    assert subprocess.run(["kill", "-0", str(pid)], capture_output=True).returncode != 0
