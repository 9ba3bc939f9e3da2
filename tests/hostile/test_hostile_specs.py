"""Hostile specs through every command: exit 1 with a location, or valid and then working on every
target. Never `internal error`, never a hang.

The commands run in this process (typer's runner) so that the whole set stays quick; an exception
that `mlstack.cli.main` would print as `internal error` fails the test here."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mlstack.cli import app, report
from mlstack.errors import MlstackError, SpecInvalid

REPO = Path(__file__).resolve().parents[2]
QUICKSTART = (REPO / "specs" / "quickstart.yaml").read_text()

# (name, text to replace in the quickstart, its replacement)
HOSTILE = [
    ("bad-int-tag", "max_iter: 200", "max_iter: !!int 12abc"),
    ("bad-float-tag", "max_iter: 200", "max_iter: !!float abc"),
    ("bad-date", "max_iter: 200", "max_iter: 2024-13-45"),
    ("5000-digits", "max_iter: 200", "max_iter: " + "9" * 5000),
    ("4000-digits", "max_iter: 200", "max_iter: " + "9" * 4000),
    ("nan-gate", "min: 0.8", "min: .nan"),
    ("inf-gate", "min: 0.8", "min: .inf"),
    ("huge-timeout", "max_iter: 200", "max_iter: 200\n        timeout: 99999999999999d"),
    ("largest-timeout", "max_iter: 200", "max_iter: 200\n        timeout: 2147483647"),
    (
        "huge-instances",
        "compute:\n      vcpus: 1",
        "instance_count: 1000000000000000000000000000000\n    compute:\n      vcpus: 1",
    ),
    (
        "version-2-70",
        "approval: auto",
        "approval: auto\n      versions: [{version: 1180591620717411303424, artifact: x.joblib}]",
    ),
    ("dotdot-step", "- name: train\n", "- name: ../../../../x\n"),
    ("dotdot-group", "- name: iris-classifier", "- name: '..'"),
    ("secret-key", "approval: auto", "approval: auto\n      tags: {AKIAABCDEFGHIJKLMNOP: x}"),
    ("zero-width-name", "- name: train\n", "- name: tra\u200bin\n"),
    ("lookalike-name", "- name: train\n", "- name: tr\u0430in\n"),
]
TARGETS = ["aws", "gcp", "azure", "local"]


def _commands(spec: Path, out: Path) -> list[list[str]]:
    return [
        ["validate", str(spec)],
        ["validate", "--json", str(spec)],
        *(["plan", str(spec), "--target", t, "--json"] for t in TARGETS),
        ["diff", "/dev/null", str(spec)],
        *(["migrate", str(spec), "--to", t, "--no-plan", "-o", str(out / f"to-{t}.yaml")] for t in ("aws", "gcp")),
    ]


@pytest.mark.parametrize(("name", "old", "new"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_spec_through_every_command(tmp_path, name, old, new):
    assert old in QUICKSTART
    spec = tmp_path / "mlstack.yaml"
    spec.write_text(QUICKSTART.replace(old, new, 1))
    shutil.copytree(REPO / "specs" / "quickstart", tmp_path / "quickstart")
    runner = CliRunner()
    invalid = runner.invoke(app, ["validate", str(spec)]).exit_code == 1
    # `up` of a spec that validates starts an emulator: the emulator's own tests cover that path.
    for args in [*_commands(spec, tmp_path), *([["up", str(spec)]] if invalid else [])]:
        result = runner.invoke(app, args, env={"COLUMNS": "250"})
        exc = result.exception
        if isinstance(exc, SystemExit) or exc is None:
            assert result.exit_code in (0, 1, 2), (args, result.output[-2000:])
            if "--json" in args and args[0] == "validate":
                assert result.stdout.lstrip().startswith("{"), result.output[:500]  # JSON, valid or not
            continue
        assert isinstance(exc, SpecInvalid | MlstackError), (args, repr(exc))
        if isinstance(exc, SpecInvalid):
            # Located in the spec, or (migrate) in the spec it wrote.
            assert all(e.file.endswith(".yaml") and e.line >= 1 for e in exc.errors), (args, str(exc))
            assert report(exc) == 1
        if name in ("secret-key",):
            assert "AKIA" not in str(exc)


def test_diff_never_passes_a_revision_to_git_as_an_option(tmp_path, monkeypatch):
    import subprocess

    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "m.yaml").write_text(QUICKSTART)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["diff", "--", f"--output={tmp_path / 'written'}:m.yaml", "m.yaml"])
    assert isinstance(result.exception, MlstackError) and "cannot read m.yaml" in str(result.exception)
    assert not (tmp_path / "written").exists()
