"""The CLI on bad input: exit 1, a located message, fast, never a traceback."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

BILLION_LAUGHS = "\n".join(
    ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    + [f"a{i}: &a{i} [{','.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 10)]
)


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mlstack", *args], cwd=cwd, capture_output=True, text=True, timeout=60)


def bad_inputs(tmp: Path) -> dict[str, Path]:
    good = (ROOT / "specs" / "fraud-detection.yaml").read_text()
    files = {
        "truncated": good[: len(good) // 2] + "  - name: [",
        "wrong-types": good.replace("instance_count: 2", "instance_count: two"),
        "duplicate-keys": good.replace("owner: ml-platform@example.com", "owner: a\nowner: b"),
        "tabs": good.replace("  cloud: aws", "\tcloud: aws"),
        "billion-laughs": BILLION_LAUGHS,
        "empty": "",
    }
    paths = {}
    for name, text in files.items():
        paths[name] = tmp / f"{name}.yaml"
        paths[name].write_text(text)
    paths["huge"] = tmp / "huge.yaml"
    paths["huge"].write_text("name: x\n" + "# padding\n" * 1_100_000)
    paths["binary"] = tmp / "binary.yaml"
    paths["binary"].write_bytes(bytes(range(256)) * 64)
    paths["directory"] = tmp
    return paths


@pytest.mark.parametrize(
    "case",
    ["truncated", "wrong-types", "duplicate-keys", "tabs", "billion-laughs", "empty", "huge", "binary", "directory"],
)
def test_bad_input_exits_1_with_a_located_message(tmp_path, case):
    path = bad_inputs(tmp_path)[case]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = run("validate", str(path))
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr + result.stdout
    assert f"{path}:" in result.stderr
    # CPU seconds of the command, not wall time: a loaded machine must not fail it, an alias bomb must
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    assert cpu < 5, cpu


def test_valid_spec_exits_0_and_json_lists_errors(tmp_path):
    assert run("validate", "specs/fraud-detection.yaml", "--env", "prod").returncode == 0
    broken = tmp_path / "b.yaml"
    broken.write_text((ROOT / "specs/quickstart.yaml").read_text().replace("kind: training", "kind: trainning"))
    result = run("validate", str(broken), "--json")
    assert result.returncode == 1
    payload = json.loads(result.stdout)
    assert payload["valid"] is False
    assert payload["errors"][0]["path"] == "pipelines[0].steps[0].kind"
    assert "did you mean 'training'" in payload["errors"][0]["message"]


def test_usage_errors_exit_2():
    assert run("validate", "--no-such-flag").returncode == 2
    assert run("no-such-command").returncode == 2


@pytest.mark.parametrize(
    "args",
    [
        ["specs/fraud-detection.yaml", "--env", "prod", "--target", "aws"],
        ["specs/fraud-detection.yaml", "--env", "prod", "--target", "gcp"],
        ["specs/fraud-detection.yaml", "--env", "prod", "--target", "azure"],
        ["specs/quickstart.yaml", "--target", "local"],
    ],
)
def test_validate_imports_no_pulumi_or_cloud_sdk(args):
    """Every target's checks run without its lowering's SDKs."""
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from mlstack.cli import app\n"
        f"result = CliRunner().invoke(app, ['validate', *{args!r}])\n"
        "assert result.exit_code == 0, result.output\n"
        # google and azure are namespace packages that *.pth files create at start-up: look below them
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('pulumi', 'pulumi_aws', 'pulumi_aws_native', 'pulumi_gcp', 'pulumi_azure_native', 'boto3', 'botocore') "
        "or m.startswith(('google.cloud.aiplatform', 'google.api_core', 'google.auth', 'azure.ai', 'azure.core', "
        "'azure.identity', 'grpc')))\n"
        "print(heavy)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_committed_schema_is_current():
    result = run("schema", "--output", "-")
    assert result.returncode == 0
    assert result.stdout == (ROOT / "specs" / "mlstack.schema.json").read_text()


def test_committed_reference_is_current():
    from mlstack.spec.reference import render

    assert render() == (ROOT / "specs" / "REFERENCE.md").read_text()


def test_example_specs_point_editors_at_the_schema():
    for path in (ROOT / "specs").glob("*.yaml"):
        assert path.read_text().startswith("# yaml-language-server: $schema=./mlstack.schema.json"), path
