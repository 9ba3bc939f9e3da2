"""Shared pieces of the job tests: moto's AWS, the processing job's exit-message file, the fixtures folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlstack.jobs import failures

FIXTURES = Path(__file__).resolve().parent / "fixtures"
REGION = "us-east-1"


@pytest.fixture(autouse=True)
def exit_message(tmp_path, monkeypatch) -> Path:
    """Where the jobs write their exit message; its folder exists, as /opt/ml/output does in SageMaker."""
    path = tmp_path / "opt-ml-output" / "message"
    path.parent.mkdir()
    monkeypatch.setattr(failures, "MESSAGE_FILE", path)
    return path


@pytest.fixture
def aws(monkeypatch):
    """moto's AWS for S3, CloudWatch and SageMaker, with credentials that reach nothing."""
    from moto import mock_aws

    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        yield
