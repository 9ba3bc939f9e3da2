"""The README's command table is true as written: it lists every command, each synopsis names options
the command has, and each example runs as written (in a copy of specs/), or, where it needs git
history, a cloud account or a feature store's data, parses as valid usage and its --help works."""

from __future__ import annotations

import json
import re
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mlstack.cli import command
from mlstack.emulator import process
from mlstack.emulator.layout import StateDir
from tests.cli.conftest import REPO, leaves, mlstack

# Examples that need what a test machine has not: why, per command.
NEEDS = {
    ("diff",): "git history (REV:path)",
    ("import",): "an AWS account",
    ("features", "materialize"): "a feature view's source data",
    ("features", "get"): "a feature view's source data",
    ("monitor", "run"): "captured traffic",
    ("monitor", "report"): "captured traffic",
    ("feedback",): "captured traffic and labels",
    ("batch", "run"): "its spec brought up (tests/emulator/test_batch.py runs it)",
    ("batch", "runs"): "its spec brought up (tests/emulator/test_batch.py runs it)",
    ("deploy",): "a Pulumi stack and the Pulumi CLI (tests/engine deploys one)",
    ("destroy",): "a Pulumi stack and the Pulumi CLI (tests/engine destroys one)",
    ("refresh",): "a Pulumi stack and the Pulumi CLI (tests/engine refreshes one)",
}


@dataclass(frozen=True)
class Row:
    synopsis: str
    description: str
    example: str


def _cells(line: str) -> list[str]:
    # Split on the table's bars, not on the escaped ones (\|) inside code.
    return [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]


def _code(cell: str) -> str:
    match = re.fullmatch(r"`(.+)`", cell)
    assert match, f"expected one code span, got {cell!r}"
    return match.group(1)


def table() -> list[Row]:
    text = (REPO / "README.md").read_text()
    section = text[text.index("## Commands") :]
    section = section[: section.index("\n## ", 1)]
    rows = [_cells(line) for line in section.splitlines() if line.startswith("| `mlstack")]
    return [Row(_code(synopsis), description, _code(example)) for synopsis, description, example in rows]


ROOT = command()


def path_of(words: list[str]) -> tuple[tuple[str, ...], Any]:
    """The command a line of words names (after `mlstack`), and its click command."""
    assert words[0] == "mlstack"
    cmd, path = ROOT, ()
    for word in words[1:]:
        commands = getattr(cmd, "commands", None)
        if commands is None or word not in commands:
            break
        cmd, path = commands[word], (*path, word)
    return path, cmd


def synopsis_paths(synopsis: str) -> list[tuple[str, ...]]:
    """`mlstack registry approve|reject GROUP VERSION` names two commands."""
    words = synopsis.split()
    alternatives = [w.split("|") if "|" in w and not w.startswith(("-", "[")) else [w] for w in words[:3]]
    found = []
    for first in alternatives[1] if len(alternatives) > 1 else [""]:
        for second in alternatives[2] if len(alternatives) > 2 else [""]:
            path, _ = path_of(["mlstack", first, second, *words[3:]])
            found.append(path)
    return sorted(set(found))


def _options(cmd: Any) -> set[str]:
    return {opt for param in cmd.params for opt in (*getattr(param, "opts", ()), *getattr(param, "secondary_opts", ()))}


ROWS = table()


def test_the_table_lists_every_command_once():
    listed = [path for row in ROWS for path in synopsis_paths(row.synopsis)]
    assert sorted(listed) == sorted(path for path, _ in leaves(ROOT))


@pytest.mark.parametrize("row", ROWS, ids=[r.example.split(" -")[0] for r in ROWS])
def test_synopsis_and_example_are_valid_usage(row: Row):
    for path in synopsis_paths(row.synopsis):
        cmd = path_of(["mlstack", *path])[1]
        flags = {w.strip("[]…") for w in row.synopsis.split() if w.lstrip("[").startswith("-")}
        assert flags <= _options(cmd), f"{row.synopsis}: {flags - _options(cmd)} are not options of {path}"
    words = shlex.split(row.example)
    path, cmd = path_of(words)
    assert path in synopsis_paths(row.synopsis), f"the example {row.example!r} runs another command"
    # Parsing checks every option, argument and choice without running the command.
    context = cmd.make_context(f"mlstack {' '.join(path)}", words[1 + len(path) :])
    context.close()


def test_every_example_runs_as_written(tmp_path: Path):
    shutil.copytree(REPO / "specs", tmp_path / "specs", ignore=shutil.ignore_patterns("__pycache__", ".mlstack"))
    state = StateDir(tmp_path / "specs" / ".mlstack")
    outputs: dict[tuple[str, ...], str] = {}
    try:
        for row in ROWS:
            words = shlex.split(row.example)
            path, _ = path_of(words)
            if path in NEEDS:
                result = mlstack(*path, "--help", cwd=tmp_path)
                assert result.returncode == 0, result.stderr
                assert (
                    f"Example: {row.example}" in result.stdout or f"Example: mlstack {' '.join(path)}" in result.stdout
                )
                continue
            result = mlstack(*words[1:], cwd=tmp_path)
            assert result.returncode == 0, f"{row.example}\n{result.stdout}\n{result.stderr}"
            assert "Traceback" not in result.stderr
            outputs[path] = result.stdout
    finally:
        process.stop(state, timeout=10)
    # What the examples did, checked where their output is plain to read.
    assert json.loads(outputs[("invoke",)])["predictions"] == [2]
    assert "endpoint iris: primary: iris-classifier v2" in outputs[("pipeline", "run")]
    assert outputs[("graph",)].startswith("flowchart LR")
    assert (tmp_path / ".github" / "workflows" / "mlstack-review.yml").is_file()
    assert (tmp_path / "fraud-gcp.yaml").is_file() and (tmp_path / "schema.json").is_file()
    assert not state.root.exists()  # the last example purged it
