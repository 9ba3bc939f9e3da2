"""The real Pulumi engine: the CLI built by scripts/install-pulumi.sh (cached after its first build),
`mlstack deploy|destroy|refresh` in subprocesses, the emulator as the cloud."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from mlstack.emulator import process
from mlstack.emulator.client import Client
from mlstack.emulator.layout import StateDir

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def pulumi_bin() -> Path:
    """The directory of the Pulumi CLI and the dynamic-provider shim."""
    done = subprocess.run(
        ["bash", str(REPO / "scripts" / "install-pulumi.sh")], capture_output=True, text=True, timeout=3600
    )
    if done.returncode != 0:
        if "Go is needed" in done.stderr:
            pytest.skip("the Pulumi CLI is not installed and Go is not here to build it (CI installs both)")
        pytest.fail(f"scripts/install-pulumi.sh failed:\n{done.stderr[-3000:]}")
    return Path(done.stdout.strip().splitlines()[-1])


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[Path]:
    """This repository's real Pulumi project (Pulumi.yaml, its program, stacks/Pulumi.local.yaml) and the
    quickstart spec it names, copied so that the emulator's and Pulumi's state land in tmp_path."""
    root = tmp_path / "platform"
    for relative in ("Pulumi.yaml", "stacks/Pulumi.local.yaml", "specs/quickstart.yaml"):
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / relative, root / relative)
    main = yaml.safe_load((REPO / "Pulumi.yaml").read_text())["main"]
    shutil.copytree(REPO / main, root / main, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(
        REPO / "specs" / "quickstart", root / "specs" / "quickstart", ignore=shutil.ignore_patterns("__pycache__")
    )
    yield root
    process.stop(StateDir(root / "specs" / ".mlstack"), timeout=10)


# a drift monitor on the quickstart's endpoint
IRIS_MONITOR = {
    "name": "iris-drift",
    "kind": "data_drift",
    "endpoint": "iris",
    "baseline": "quickstart/iris.csv",
    "features": ["petal_length", "petal_width"],
    "metric": "jensen_shannon",
    "threshold": 0.2,
    "schedule": "0 * * * *",
    "actions": [{"type": "alert", "to": ["you@example.com"]}],
}


def environment(pulumi_bin: Path | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("MLSTACK_DEBUG", "PULUMI_BACKEND_URL")}
    if pulumi_bin is not None:
        env["PATH"] = f"{pulumi_bin}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    env["COLUMNS"] = "250"
    return env


def mlstack(pulumi_bin: Path | None, cwd: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mlstack", *args],
        cwd=cwd,
        env=environment(pulumi_bin),
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def client(state: Path) -> Client:
    return Client.for_state(StateDir(state))


def invoke(state: Path, url: str, instances: list[list[float]], timeout: float = 30) -> httpx.Response:
    """A request to an endpoint, with the emulator's token."""
    token = StateDir(state).read_token()
    return httpx.post(url, json={"instances": instances}, headers={"Authorization": f"Bearer {token}"}, timeout=timeout)


def resources(state: Path) -> list[tuple[str, str]]:
    """(kind, name) of everything applied in the emulator."""
    with_client = client(state)
    try:
        return sorted((r["kind"], r["name"]) for r in with_client.get("/v1/resources"))
    finally:
        with_client.close()


def edit(spec: Path, change: Any) -> None:
    data = yaml.safe_load(spec.read_text())
    change(data)
    spec.write_text(yaml.safe_dump(data, sort_keys=False))
