"""How a job ends: one line for a person, the processing job's exit message, and an exit code.

SageMaker shows the first kilobyte of `/opt/ml/output/message` as the processing job's ExitMessage (and,
for a failed job, as its failure reason), so the same line goes there when the job runs inside one.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

from mlstack.errors import MlstackError
from mlstack.runtime import audit_log

MESSAGE_FILE = Path("/opt/ml/output/message")


class JobFailed(MlstackError):
    """Bad input or a state the job cannot act on; the message says what to change."""


def _aws_failure(exc: Exception) -> str | None:
    """A person's line for the AWS SDK's errors (the SDK is imported only when a job used it)."""
    botocore = sys.modules.get("botocore.exceptions")
    if botocore is None:
        return None
    if isinstance(exc, botocore.ClientError):
        error = exc.response.get("Error", {})
        return f"{exc.operation_name} failed: {error.get('Code', 'error')}: {error.get('Message', '')}".rstrip(": ")
    if isinstance(exc, botocore.NoRegionError):
        return "no AWS region: set AWS_REGION (SageMaker sets it in its jobs)"
    if isinstance(exc, botocore.NoCredentialsError | botocore.PartialCredentialsError):
        return "no AWS credentials: run inside the SageMaker job, or configure credentials for boto3"
    if isinstance(exc, botocore.BotoCoreError):
        return str(exc)
    return None


def write_message(text: str) -> None:
    """The processing job's exit message, when running inside one (its /opt/ml/output exists)."""
    if MESSAGE_FILE.parent.is_dir():
        MESSAGE_FILE.write_text(text[:1024], encoding="utf-8")


def run(job: str, body: Callable[[], str], what: str = "") -> int:
    """Run `body`, print its report (or the failure) and its audit record, and return the exit code."""
    try:
        report = body()
    except MlstackError as exc:
        return _fail(job, str(exc), what)
    except Exception as exc:
        message = _aws_failure(exc)
        if message is not None:
            return _fail(job, message, what)
        if os.environ.get("MLSTACK_DEBUG"):
            raise
        from mlstack.cli import ISSUES_URL

        return _fail(
            job,
            f"internal error {type(exc).__name__}: {exc}. This is a bug in mlstack; please report it at "
            f"{ISSUES_URL} (set MLSTACK_DEBUG=1 for the traceback)",
            what,
        )
    print(report, flush=True)
    write_message(report)
    audit_log.record(job, what, "succeeded", report)
    return 0


def _fail(job: str, message: str, what: str) -> int:
    line = f"{job}: {message}"
    print(line, file=sys.stderr, flush=True)
    write_message(line)
    audit_log.record(job, what, "failed", message)
    return 1
