"""How a job ends: its report or its failure as one line on stdout/stderr and in the exit message."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.stub import Stubber

from mlstack.jobs.failures import JobFailed, run
from mlstack.runtime import audit_log


def _audit(out: str) -> dict:
    """The job's audit record: its last stdout line, a JSON object with the fixed schema."""
    record = json.loads(out.splitlines()[-1])
    assert tuple(record) == audit_log.FIELDS and record["mlstack_audit"] == "v1"
    return record


def test_a_report_is_printed_and_left_as_the_exit_message(exit_message, capsys, monkeypatch):
    monkeypatch.setenv("MLSTACK_ACTOR", "pipeline-execution-7")
    assert run("job", lambda: "all done", what="endpoint ranker") == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "all done"
    record = _audit(out)
    assert {k: record[k] for k in ("who", "action", "what", "outcome", "why")} == {
        "who": "pipeline-execution-7",
        "action": "job",
        "what": "endpoint ranker",
        "outcome": "succeeded",
        "why": "all done",
    }
    assert exit_message.read_text() == "all done"


def test_bad_input_is_one_line(exit_message, capsys):
    def body() -> str:
        raise JobFailed("the baseline has no rows")

    assert run("job", body) == 1
    captured = capsys.readouterr()
    assert captured.err == "job: the baseline has no rows\n"
    record = _audit(captured.out)
    assert (record["outcome"], record["why"], record["who"]) == ("failed", "the baseline has no rows", "mlstack-runtime")
    assert exit_message.read_text() == "job: the baseline has no rows"


def test_an_aws_refusal_is_one_line(capsys):
    client = boto3.client("s3", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stubber:
        stubber.add_client_error("get_object", "AccessDenied", "Access Denied", 403)
        assert run("job", lambda: client.get_object(Bucket="b", Key="k")) == 1
    assert capsys.readouterr().err == "job: GetObject failed: AccessDenied: Access Denied\n"


def test_a_bug_says_where_to_report_it_unless_debugging(monkeypatch, capsys):
    def body() -> str:
        raise KeyError("variant")

    monkeypatch.delenv("MLSTACK_DEBUG", raising=False)
    assert run("job", body) == 1
    error = capsys.readouterr().err
    assert (
        error.startswith("job: internal error KeyError: 'variant'. This is a bug in mlstack")
        and "Traceback" not in error
    )
    monkeypatch.setenv("MLSTACK_DEBUG", "1")
    with pytest.raises(KeyError):
        run("job", body)


def test_outside_a_processing_job_no_message_file_is_written(tmp_path, monkeypatch, capsys):
    from mlstack.jobs import failures

    monkeypatch.setattr(failures, "MESSAGE_FILE", tmp_path / "absent" / "message")
    assert run("job", lambda: "done") == 0
    assert not (tmp_path / "absent").exists()
