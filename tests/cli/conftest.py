"""Helpers for the command-line tests: the real `mlstack` in-process (help, usage) and in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]


def mlstack(*args: str, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """`python3 -m mlstack ARGS` as a user runs it, with this checkout first on the path."""
    env = {k: v for k, v in os.environ.items() if k != "MLSTACK_DEBUG"}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    env["COLUMNS"] = "200"  # keep rich from wrapping the lines the tests read
    return subprocess.run(
        [sys.executable, "-m", "mlstack", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


def leaves(root: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every runnable command of the click tree with its path (("registry", "approve"), command)."""
    commands = getattr(root, "commands", None)
    if commands is None:
        yield path, root
        return
    for name, sub in sorted(commands.items()):
        yield from leaves(sub, (*path, name))


@pytest.fixture
def help_of(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):
    """The --help text of a command path, rendered by the real command tree."""
    from mlstack.cli import command

    monkeypatch.setenv("COLUMNS", "200")
    root = command()

    def render(path: tuple[str, ...]) -> str:
        assert root.main(args=[*path, "--help"], prog_name="mlstack", standalone_mode=False) == 0
        return capsys.readouterr().out

    return render
