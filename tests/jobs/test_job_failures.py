"""How a job ends: its report or its failure as one line on stdout/stderr and in the exit message."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from mlstack.jobs.failures import JobFailed, run


def test_a_report_is_printed_and_left_as_the_exit_message(exit_message, capsys):
    assert run("job", lambda: "all done") == 0
    assert capsys.readouterr().out == "all done\n"
    assert exit_message.read_text() == "all done"


def test_bad_input_is_one_line(exit_message, capsys):
    def body() -> str:
        raise JobFailed("the baseline has no rows")

    assert run("job", body) == 1
    assert capsys.readouterr().err == "job: the baseline has no rows\n"
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
