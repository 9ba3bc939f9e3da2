"""One CLI surface: the spec is `-f/--file` (default ./mlstack.yaml) on every command, `--version`,
help without type noise and with an example, and a hint instead of a bare error when no spec is here."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import mlstack
from mlstack.cli import command
from tests.cli.conftest import REPO, leaves
from tests.cli.conftest import mlstack as run

# Commands that name no spec of their own: two sides of a diff, a cloud account, the catalog, the schema,
# a new repository, and the Pulumi stacks (whose config names the spec).
NO_SPEC = {
    ("diff",),
    ("import",),
    ("schema",),
    ("catalog", "list"),
    ("catalog", "map"),
    ("init",),
    ("deploy",),
    ("destroy",),
    ("refresh",),
}


def test_every_command_names_the_spec_with_f_and_nothing_else_uses_f():
    checked = 0
    for path, cmd in leaves(command()):
        options = {opt: param for param in cmd.params for opt in getattr(param, "opts", ())}
        assert "--spec" not in options, f"mlstack {' '.join(path)} still has --spec"
        if "-f" in options:
            assert options["-f"].opts == ["--file", "-f"], f"mlstack {' '.join(path)}: -f is not --file"
        if path in NO_SPEC:
            continue
        assert "--file" in options, f"mlstack {' '.join(path)} does not take -f/--file"
        assert options["--file"].default is None  # resolved to ./mlstack.yaml by one function
        checked += 1
    assert checked >= 18


def test_every_help_has_an_example_of_itself_and_no_type_noise(help_of):
    for path, _ in leaves(command()):
        text = help_of(path)
        assert re.search(rf"Example: mlstack {' '.join(path)}\b", text), f"mlstack {' '.join(path)} --help"
        assert "<bool>" not in text, text
        options = [line for line in text.splitlines() if re.search(r"│\s*(\*\s+)?--\w", line)]
        assert options and not [line for line in options if "<str>" in line], text


def test_version():
    result = run("--version")
    assert result.returncode == 0
    assert result.stdout == f"mlstack {mlstack.__version__}\n"


def test_without_a_spec_here_the_error_lists_the_specs_nearby(tmp_path: Path):
    (tmp_path / "specs").mkdir()
    shutil.copy(REPO / "specs" / "fraud-detection.yaml", tmp_path / "specs" / "fraud-detection.yaml")
    (tmp_path / "notes.yaml").write_text("just: yaml\n")
    for args in (("validate",), ("plan", "--target", "local"), ("graph",), ("migrate", "--to", "gcp")):
        result = run(*args, cwd=tmp_path)
        assert result.returncode == 1, result.stderr
        assert "no mlstack.yaml in" in result.stderr
        assert "name the spec with -f PATH; specs here: -f specs/fraud-detection.yaml" in result.stderr
        assert "notes.yaml" not in result.stderr and "Traceback" not in result.stderr


def test_positional_and_f_are_the_same_spec(tmp_path: Path):
    spec = REPO / "specs" / "quickstart.yaml"
    by_f = run("validate", "-f", str(spec))
    positional = run("validate", str(spec))
    assert by_f.returncode == positional.returncode == 0
    assert by_f.stdout == positional.stdout
    both = run("validate", str(spec), "-f", str(REPO / "specs" / "fraud-detection.yaml"))
    assert both.returncode == 2 and "two specs named" in both.stderr


def test_default_spec_is_mlstack_yaml_here(tmp_path: Path):
    shutil.copy(REPO / "specs" / "quickstart.yaml", tmp_path / "mlstack.yaml")
    shutil.copytree(REPO / "specs" / "quickstart", tmp_path / "quickstart")  # the files it names
    result = run("validate", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("mlstack.yaml: valid for local")


def test_init_ci_with_no_argument_as_the_readme_shows(tmp_path: Path):
    bare = run("init-ci", cwd=tmp_path)
    assert bare.returncode == 1 and "no mlstack.yaml in" in bare.stderr and "name the spec with -f" in bare.stderr
    assert not (tmp_path / ".github").exists()
    shutil.copy(REPO / "specs" / "quickstart.yaml", tmp_path / "mlstack.yaml")
    source = "mlstack[local] @ git+https://example.invalid/platform/mlstack@0123abc"
    written = run("init-ci", "--requirement", source, cwd=tmp_path)
    assert written.returncode == 0, written.stderr
    workflow = (tmp_path / ".github" / "workflows" / "mlstack-review.yml").read_text()
    assert '"mlstack.yaml"' in workflow
