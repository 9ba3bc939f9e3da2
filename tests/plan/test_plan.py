"""The offline plan: Pulumi's mocks, run many times in one process, deterministic and secret-free."""

from __future__ import annotations

import json
import textwrap

import pytest

from mlstack import backends
from mlstack.plan import plan, redact, to_json
from mlstack.resolve import resolve
from mlstack.spec import load

FAILING_BACKEND = textwrap.dedent(
    """
    import pulumi
    import pulumi_aws as aws

    def _boom(_):
        raise ValueError("boom inside an apply")

    def build(resolved):
        bucket = aws.s3.Bucket("first")
        aws.s3.Bucket("second", bucket=bucket.arn.apply(_boom))
        aws.s3.Bucket("third", bucket=pulumi.Output.secret("hunter2"))
    """
)


@pytest.fixture
def failing_gcp(tmp_path, monkeypatch):
    (tmp_path / "failing_backend.py").write_text(FAILING_BACKEND)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(backends.BACKENDS, "gcp", "failing_backend")


def test_a_failed_plan_leaves_nothing_behind_for_the_next(failing_gcp):
    with pytest.raises(ValueError, match="boom inside an apply"):
        plan(resolve(load("specs/fraud-detection.yaml", target="gcp")))
    resources = plan(resolve(load("specs/fraud-detection.yaml", target="aws")))
    assert not any(r.name in ("first", "second", "third") for r in resources)
    assert any(r.type == "aws:sagemaker/endpoint:Endpoint" for r in resources)


def test_json_is_stable_and_sorted():
    first = to_json(plan(resolve(load("specs/fraud-detection.yaml", target="aws", env="prod"))))
    second = to_json(plan(resolve(load("specs/fraud-detection.yaml", target="aws", env="prod"))))
    assert first == second
    listed = json.loads(first)
    assert [(r["type"], r["name"]) for r in listed] == sorted((r["type"], r["name"]) for r in listed)
    assert all(set(r) <= {"type", "name", "parent", "inputs", "options"} for r in listed)


def test_secrets_are_shown_as_a_digest_only():
    wrapped = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "value": "hunter2"}
    shown = redact({"password": wrapped, "other": [wrapped, 1]})
    assert "hunter2" not in json.dumps(shown)
    assert shown["password"].startswith("[secret ") and shown["password"] == shown["other"][0]
    assert redact({"password": {**wrapped, "value": "other"}})["password"] != shown["password"]
