"""One run of `validate` reports every problem of a file: type errors, rule errors on the well-typed rest,
and the target backend's problems, each at its own line."""

from __future__ import annotations

import subprocess
import sys

import pytest

from mlstack.errors import format_path
from mlstack.spec.yaml_loader import parse
from mlstack.validate import check
from tests.conftest import ROOT, SPECS

FRAUD = SPECS / "fraud-detection.yaml"


def broken() -> str:
    text = FRAUD.read_text()
    edits = [
        ("instance_count: 2", "instance_count: two"),  # type error in endpoints[0]
        ("            group: fraud-rules-model\n", "            group: fraud-rules-modle\n"),  # rule: endpoints[2]
        ("to: [fraud-oncall@example.com]\n      - type: retrain", "to: [fraud-oncall]\n      - type: retrain"),
        ('schedule: "0 */6 * * *"', 'schedule: "0 0 30 2 *"'),  # type error in monitors[1]: never fires
    ]
    for old, new in edits:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text


EXPECTED = {
    "aws": [
        ("endpoints[0].instance_count", "valid integer"),
        ("endpoints[2].strategy.variants[1].model.group", "no model group named 'fraud-rules-modle'"),
        ("monitors[0].actions[0].to[0]", "'fraud-oncall' is not an e-mail address"),
        ("monitors[1].schedule", "never fires"),
    ],
    "azure": [
        ("endpoints[0].instance_count", "valid integer"),
        ("endpoints[2].strategy.variants[1].model.group", "no model group named 'fraud-rules-modle'"),
        ("monitors[0].actions[0].to[0]", "alert recipient 'fraud-oncall' is neither an e-mail address"),
        ("monitors[1].schedule", "never fires"),
    ],
}


@pytest.mark.parametrize("target", sorted(EXPECTED))
def test_type_rule_and_backend_errors_in_one_report(target):
    text = broken()
    report = check(parse(text, str(FRAUD)), target=target)
    found = [(format_path(e.path), e.message) for e in report.errors]
    assert len(found) == len(EXPECTED[target]), found
    for (path, message), (want_path, says) in zip(found, EXPECTED[target], strict=True):
        assert path == want_path and says in message
    lines = text.splitlines()
    assert "instance_count: two" in lines[report.errors[0].line - 1]
    assert "fraud-rules-modle" in lines[report.errors[1].line - 1]
    # The monitors of the mis-typed endpoint are not also reported as naming an unknown endpoint.
    assert not any("fraud-scorer" in message for _, message in found)


def test_the_cli_prints_them_all_and_exits_1(tmp_path):
    path = tmp_path / "broken.yaml"
    text = broken().replace("baselines/", "s3://shop/baselines/").replace("models/", "s3://shop/models/")
    path.write_text(text)
    result = subprocess.run(
        [sys.executable, "-m", "mlstack", "validate", str(path), "--target", "aws"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert result.stderr.count(f"error {path}:") == 4, result.stderr
    assert "4 problems found." in result.stderr


def test_an_unknown_key_leaves_the_rest_of_its_item_checked():
    text = FRAUD.read_text().replace("    instance_count: 2\n", "    instance_count: 2\n    replicas: 3\n", 1)
    text = text.replace("            group: fraud-rules-model\n", "            group: nope\n")
    report = check(parse(text, str(FRAUD)), target="gcp")
    assert [format_path(e.path) for e in report.errors] == [
        "endpoints[0].replicas",
        "endpoints[2].strategy.variants[1].model.group",
    ]
