"""Fixtures for the emulator's integration tests: real server processes on ephemeral ports, the
real CLI in subprocesses, specs written to temporary folders."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mlstack.emulator import desired, process
from mlstack.emulator.client import Client
from mlstack.emulator.layout import StateDir
from mlstack.spec import load

REPO = Path(__file__).resolve().parents[2]
STEPS = Path(__file__).resolve().parent / "steps"


def cli(*args: str, cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "MLSTACK_DEBUG"}
    env["COLUMNS"] = "250"  # keep rich from wrapping the lines the tests read
    return subprocess.run(
        [sys.executable, "-m", "mlstack", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


def write_spec(folder: Path, body: str, name: str = "mlstack.yaml") -> Path:
    """A spec file whose `{steps}` placeholders point at the test step scripts."""
    path = folder / name
    path.write_text(textwrap.dedent(body).replace("{steps}", str(STEPS)))
    return path


def pipeline_spec(
    platform: str = "demo", approval: str = "auto", train_params: str = "{}", extra: str = "", schedule: str = "null"
) -> str:
    """A spec with one train/evaluate/register pipeline and an endpoint serving its champion."""
    return f"""
        apiVersion: mlstack/v1
        name: {platform}
        owner: tests@example.com
        registry:
          model_groups:
            - name: clf
              approval: {approval}
        pipelines:
          - name: train
            schedule: {schedule}
            steps:
              - name: train
                kind: training
                entrypoint: {{steps}}/train.py
                parameters: {train_params}
              - name: evaluate
                kind: evaluation
                entrypoint: {{steps}}/evaluate.py
                parameters: {{accuracy: 0.9}}
                gates:
                  - metric: accuracy
                    min: 0.8
              - name: register
                kind: registration
                model_group: clf
                aliases: [champion]
        endpoints:
          - name: scorer
            model: {{group: clf, alias: champion}}
            compute: {{vcpus: 1}}
        {extra}
    """


@dataclass
class Emulator:
    state: StateDir
    info: process.ServerInfo
    client: Client

    def desired(self, spec: Path) -> dict[str, Any]:
        return desired.build(load(spec, target="local"))

    def plan(self, spec: Path) -> dict[str, Any]:
        return self.client.post("/v1/plan", self.desired(spec))

    def apply(self, spec: Path) -> dict[str, Any]:
        op = self.client.post("/v1/apply", self.desired(spec))
        return self.client.follow(op["id"], lambda event: None)

    def kill(self) -> None:
        os.kill(self.info.pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.info.pid, 0)

    def restart(self) -> None:
        self.info = process.start(self.state)
        self.client = Client(self.info.url, self.state.read_token(), state=self.state)


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[Emulator]:
    state = StateDir(tmp_path / ".mlstack")
    info = process.start(state)
    emu = Emulator(state, info, Client(info.url, state.read_token(), state=state))
    try:
        yield emu
    finally:
        emu.client.close()
        if not process.stop(emu.state, timeout=10) and process.lock_held(emu.state):
            emu.kill()


@pytest.fixture
def quickstart(tmp_path: Path) -> Iterator[Path]:
    """The shipped quickstart, copied so its state lands in a temporary folder."""
    shutil.copy(REPO / "specs" / "quickstart.yaml", tmp_path / "quickstart.yaml")
    shutil.copytree(
        REPO / "specs" / "quickstart", tmp_path / "quickstart", ignore=shutil.ignore_patterns("__pycache__")
    )
    yield tmp_path / "quickstart.yaml"
    process.stop(StateDir(tmp_path / ".mlstack"), timeout=10)
