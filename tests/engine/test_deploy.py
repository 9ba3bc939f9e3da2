"""`mlstack deploy|refresh|destroy` through the real Pulumi engine, over this repository's own Pulumi
project and stacks/Pulumi.local.yaml: every step the local provider has (create, diff, update, read,
delete) is driven by the engine, and the emulator is checked after each."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from mlstack.emulator import process
from mlstack.emulator.layout import StateDir
from mlstack.errors import MlstackError
from tests.engine.conftest import IRIS_MONITOR, client, edit, environment, invoke, mlstack, resources

pytestmark = pytest.mark.engine

VIRGINICA = [[6.7, 3.0, 5.2, 2.3]]
EVERYTHING = [("endpoint", "iris"), ("model_group", "iris-classifier"), ("pipeline", "train-iris")]


def _summary(output: str) -> list[str]:
    """The lines of mlstack's own summary (after the engine's progress)."""
    tail = output[output.rindex("\n\n") :] if "\n\n" in output else output
    return [line.strip() for line in tail.splitlines() if line.strip()][1:]  # after the title


def _endpoint_url(state: Path) -> str:
    with_client = client(state)
    try:
        (endpoint,) = with_client.get("/v1/endpoints")
        return endpoint["url"]
    finally:
        with_client.close()


def _canary(percent: int):
    def change(spec: dict) -> None:
        spec["endpoints"][0]["strategy"] = {"type": "canary", "percent": percent, "bake_time": "1m"}

    return change


def _monitor(spec: dict) -> None:
    spec["monitors"] = [IRIS_MONITOR]


def test_preview_up_no_change_exact_update_and_destroy(pulumi_bin: Path, repo: Path) -> None:
    spec = repo / "specs" / "quickstart.yaml"
    state = repo / "specs" / ".mlstack"
    edit(spec, _canary(10))

    preview = mlstack(pulumi_bin, repo, "deploy", "local", "--preview")
    assert preview.returncode == 0, preview.stdout + preview.stderr
    assert _summary(preview.stdout) == [
        "endpoint iris: to create",
        "model group iris-classifier: to create",
        "pipeline train-iris: to create",
        "3 cloud resources to change.",
    ]
    assert process.running(StateDir(state)) is None, "a preview changes nothing, not even by starting the emulator"

    # Without a terminal and without --yes nothing is applied; CI gets its own exit code.
    unconfirmed = mlstack(pulumi_bin, repo, "deploy", "local")
    assert unconfirmed.returncode == 4 and "pass --yes" in unconfirmed.stderr

    up = mlstack(pulumi_bin, repo, "deploy", "local", "--yes")
    assert up.returncode == 0, up.stdout + up.stderr
    assert "endpoint iris: created" in _summary(up.stdout)
    assert resources(state) == EVERYTHING
    answer = invoke(state, _endpoint_url(state), VIRGINICA).json()
    assert answer["predictions"] == [2] and answer["model"] == "iris-classifier v1"
    with_client = client(state)
    (version,) = with_client.get("/v1/registry/groups/iris-classifier/versions")
    with_client.close()
    # through the engine's wire (numbers as doubles) the spec's `max_iter: 200` still reaches train.py as 200
    assert version["params"]["max_iter"] == 200 and isinstance(version["params"]["max_iter"], int)

    again = mlstack(pulumi_bin, repo, "deploy", "local", "--yes")
    assert again.returncode == 0, again.stdout + again.stderr
    assert _summary(again.stdout)[0] == "No changes."

    edit(spec, _canary(20))
    edit(spec, _monitor)
    change = mlstack(pulumi_bin, repo, "deploy", "local", "--preview")
    assert change.returncode == 0, change.stdout + change.stderr
    assert _summary(change.stdout) == [
        "endpoint iris: to update",
        "config.strategy.percent: 10 → 20",
        "monitor iris-drift: to create",
        "2 cloud resources to change.",
    ]
    applied = mlstack(pulumi_bin, repo, "deploy", "local", "--yes")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert resources(state) == sorted([*EVERYTHING, ("monitor", "iris-drift")])
    with_client = client(state)
    assert with_client.get("/v1/resources/endpoint/iris")["config"]["strategy"]["percent"] == 20
    with_client.close()

    # refresh reads every resource back (the provider's read): nothing drifted, nothing changes
    refreshed = mlstack(pulumi_bin, repo, "refresh", "local")
    assert refreshed.returncode == 0, refreshed.stdout + refreshed.stderr
    assert _summary(refreshed.stdout) == ["No changes."]

    destroyed = mlstack(pulumi_bin, repo, "destroy", "local", "--yes")
    assert destroyed.returncode == 0, destroyed.stdout + destroyed.stderr
    assert "endpoint iris: deleted" in _summary(destroyed.stdout)
    assert resources(state) == []


def test_a_model_version_change_rolls_out_without_a_failed_request(pulumi_bin: Path, repo: Path) -> None:
    spec = repo / "specs" / "quickstart.yaml"
    state = repo / "specs" / ".mlstack"
    edit(spec, lambda s: s["endpoints"][0].__setitem__("model", {"group": "iris-classifier", "version": 1}))
    up = mlstack(pulumi_bin, repo, "deploy", "local", "--yes")
    assert up.returncode == 0, up.stdout + up.stderr
    url = _endpoint_url(state)

    # a second training run registers v2; the spec then moves the endpoint to it
    with_client = client(state)
    started = with_client.post("/v1/pipelines/train-iris/runs")
    assert with_client.follow(started["operation"]["id"], lambda _event: None)["status"] == "succeeded"
    with_client.close()
    edit(spec, lambda s: s["endpoints"][0]["model"].__setitem__("version", 2))

    failures: list[str] = []
    served: set[str] = set()
    stop = threading.Event()

    def probe() -> None:
        token = StateDir(state).read_token()
        with httpx.Client(timeout=10, headers={"Authorization": f"Bearer {token}"}) as http:
            while not stop.is_set():
                try:
                    response = http.post(url, json={"instances": VIRGINICA})
                    if response.status_code != 200:
                        failures.append(f"HTTP {response.status_code}: {response.text[:200]}")
                    else:
                        served.add(response.json()["model"])
                except httpx.HTTPError as exc:
                    failures.append(repr(exc))
                time.sleep(0.02)

    prober = threading.Thread(target=probe)
    prober.start()
    try:
        rolled = mlstack(pulumi_bin, repo, "deploy", "local", "--yes")
    finally:
        time.sleep(0.5)
        stop.set()
        prober.join()
    assert rolled.returncode == 0, rolled.stdout + rolled.stderr
    assert "config.variants" in rolled.stdout and "endpoint iris: updated" in _summary(rolled.stdout)
    assert failures == []
    assert "iris-classifier v2" in served
    assert invoke(state, url, VIRGINICA, timeout=10).json()["model"] == "iris-classifier v2"


def test_kill_9_of_the_cli_mid_up_then_refresh_and_up_converge(pulumi_bin: Path, repo: Path) -> None:
    state = repo / "specs" / ".mlstack"
    deploy = subprocess.Popen(
        [sys.executable, "-m", "mlstack", "deploy", "local", "--yes"],
        cwd=repo,
        env=environment(pulumi_bin),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    # kill the Pulumi CLI while the endpoint's create waits for the pipeline it runs
    killed = False
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and deploy.poll() is None:
        if process.running(StateDir(state)) is not None and ("pipeline", "train-iris") in _applied(state):
            cli = _pulumi_pid(deploy.pid)
            if cli is not None:
                os.kill(cli, signal.SIGKILL)
                killed = True
                break
        time.sleep(0.05)
    output, _ = deploy.communicate(timeout=300)
    assert killed, output
    assert deploy.returncode == 1, output

    refreshed = mlstack(pulumi_bin, repo, "refresh", "local", "--clear-pending-creates")
    assert refreshed.returncode == 0, refreshed.stdout + refreshed.stderr
    up = mlstack(pulumi_bin, repo, "deploy", "local", "--yes")
    assert up.returncode == 0, up.stdout + up.stderr
    assert resources(state) == EVERYTHING  # nothing orphaned, nothing twice
    with_client = client(state)
    assert len(with_client.get("/v1/registry/groups")) == 1
    with_client.close()
    assert invoke(state, _endpoint_url(state), VIRGINICA).json()["predictions"] == [2]
    again = mlstack(pulumi_bin, repo, "deploy", "local", "--yes")
    assert _summary(again.stdout)[0] == "No changes.", again.stdout

    destroyed = mlstack(pulumi_bin, repo, "destroy", "local", "--yes")
    assert destroyed.returncode == 0, destroyed.stdout + destroyed.stderr
    assert resources(state) == []


def _applied(state: Path) -> list[tuple[str, str]]:
    try:
        return resources(state)
    except MlstackError:  # the emulator is starting: not yet
        return []


def _pulumi_pid(parent: int) -> int | None:
    """The `pulumi` CLI process started (through the Automation API) by the deploy process."""
    listing = subprocess.run(["ps", "-eo", "pid=,ppid=,comm="], capture_output=True, text=True, check=True).stdout
    for line in listing.splitlines():
        pid, ppid, command = line.split(None, 2)
        if int(ppid) == parent and command.strip() == "pulumi":
            return int(pid)
    return None
