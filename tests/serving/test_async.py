"""Asynchronous endpoints on the emulator, over real HTTP: a request is queued (202 and an id), its
answer is written to a file under the endpoint's output folder, and GET returns it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.serving.conftest import apply, spec_text, wait_for

ASYNC = """
- name: ep
  model: {group: m, version: MODEL}
  compute: {vcpus: 1}
  async: {output: results/, failures: failed/}
"""


def submit(emu, x: float):
    return emu.client.http.post("/endpoints/ep/async-invocations", json={"instances": [[x]]})


def fetch(emu, request_id: str):
    return emu.client.http.get(f"/endpoints/ep/async-invocations/{request_id}")


def test_a_queued_request_is_answered_in_a_file(served, tmp_path):
    apply(served, tmp_path, spec_text(ASYNC.replace("MODEL", "1")))
    queued = submit(served, 2.0)
    assert queued.status_code == 202
    request_id = queued.json()["id"]
    assert queued.json()["output"] == str(tmp_path / "results" / f"{request_id}.json")
    answered = wait_for(lambda: fetch(served, request_id).status_code == 200 and fetch(served, request_id))
    body = answered.json()
    assert body["status"] == "done" and body["result"]["predictions"] == [pytest.approx(4.0)]
    written = json.loads(Path(body["output"]).read_text())
    assert written["predictions"] == [pytest.approx(4.0)] and written["correlation_id"] == request_id


def test_failures_go_to_their_folder_and_bad_ids_are_client_errors(served, tmp_path):
    apply(served, tmp_path, spec_text(ASYNC.replace("MODEL", "4")))  # version 4 always raises
    request_id = submit(served, 1.0).json()["id"]
    failed = wait_for(lambda: fetch(served, request_id).status_code == 200 and fetch(served, request_id)).json()
    assert failed["status"] == "failed" and failed["result"]["status"] == 500
    assert failed["output"] == str(tmp_path / "failed" / f"{request_id}.error.json")
    assert "this model always fails" in failed["result"]["error"]
    assert fetch(served, "../../etc/passwd").status_code == 404
    assert fetch(served, "0" * 31 + "g").status_code == 400
    assert fetch(served, "0" * 32).status_code == 404


def test_a_real_time_endpoint_refuses_async_requests(served, tmp_path):
    apply(served, tmp_path, spec_text("- {name: ep, model: {group: m, version: 1}, compute: {vcpus: 1}}\n"))
    refused = submit(served, 1.0)
    assert refused.status_code == 400 and "not asynchronous" in refused.json()["error"]
