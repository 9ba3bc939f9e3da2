"""Faults over HTTP: a 10% canary under 10,000 concurrent requests, models that raise or hang,
malformed bodies, and an endpoint that keeps serving through all of it.

The flood goes through `benchmarks/loadgen.py` (keep-alive connections on asyncio streams): httpx's
async pool at 64 connections managed about 150 requests a second here, a twentieth of what the
server answers."""

from __future__ import annotations

import asyncio
import collections
import json

import httpx
import pyarrow.parquet as pq

from benchmarks.loadgen import Reply, load, request_bytes
from mlstack.emulator import process
from tests.serving.conftest import TIMEOUT, apply, endpoint_row, spec_text

REQUESTS = 10_000
CONCURRENCY = 64


def _flood(emu) -> list[Reply]:
    """REQUESTS over CONCURRENCY keep-alive connections to the real server, each request distinct."""
    auth = {"Authorization": f"Bearer {emu.state.read_token()}"}
    bodies = [json.dumps({"instances": [[float(i % 7)]]}).encode() for i in range(7)]
    prepared = [request_bytes("/endpoints/ep/invocations", body, auth) for body in bodies]
    return asyncio.run(load(emu.info.port, lambda i: prepared[i % 7], REQUESTS, CONCURRENCY))


def test_ten_thousand_requests_through_a_ten_percent_canary(served, tmp_path):
    canary = "{type: canary, percent: 10, bake_time: 1h, termination_wait: 0s}"
    block = f"""
    - name: ep
      model: {{group: m, version: {{v}}}}
      compute: {{vcpus: 1}}
      instance_count: 2
      data_capture: {{sampling_percent: 40}}
      strategy: {canary}
    """
    apply(served, tmp_path, spec_text(block.replace("{v}", "1")))
    apply(served, tmp_path, spec_text(block.replace("{v}", "2")))
    assert endpoint_row(served)["status"] == "updating"

    answers = _flood(served)

    assert len(answers) == REQUESTS and {a.status for a in answers} == {200}
    split = collections.Counter(a.headers["x-mlstack-variant"] for a in answers)
    assert set(split) == {"primary", "green"}
    assert abs(split["green"] / REQUESTS - 0.10) <= 0.02
    # The canary's answers come from the new version, the rest from the old one.
    models = {(a.headers["x-mlstack-variant"], json.loads(a.body)["model"]) for a in answers}
    assert models == {("primary", "m v1"), ("green", "m v2")}
    sampled = {a.headers["x-mlstack-correlation-id"] for a in answers if a.headers.get("x-mlstack-captured")}
    assert abs(len(sampled) / REQUESTS - 0.40) <= 0.03
    assert process.stop(served.state, timeout=20)  # shutdown flushes what is still buffered
    rows = pq.read_table(served.state.captures / "ep", columns=["correlation_id", "variant", "status"]).to_pylist()
    assert len(rows) == len(sampled)
    assert {r["correlation_id"] for r in rows} == sampled
    by_id = {a.headers["x-mlstack-correlation-id"]: a.headers["x-mlstack-variant"] for a in answers}
    assert all(by_id[r["correlation_id"]] == r["variant"] and r["status"] == 200 for r in rows)


def test_models_that_raise_or_hang_and_bad_bodies_get_reasons_and_the_endpoint_keeps_serving(served, tmp_path):
    rollback = "{max_error_rate: 0.5, window: 60s}"
    block = f"""
    - name: ep
      model: {{group: m, version: 5}}
      compute: {{vcpus: 1}}
      strategy: {{type: canary, percent: 10, bake_time: 1m, rollback: {rollback}}}
    """
    apply(served, tmp_path, spec_text(block))  # m v5: doubles; raises on negatives; hangs on 999
    http = served.client.http

    def post(body: bytes | dict) -> httpx.Response:
        if isinstance(body, dict):
            return http.post("/endpoints/ep/invocations", json=body)
        return http.post("/endpoints/ep/invocations", content=body, headers={"content-type": "application/json"})

    raised = post({"instances": [[-1.0]]})
    assert raised.status_code == 500
    assert raised.json()["error"] == "the model raised ValueError: negative input"
    hung = post({"instances": [[999.0]]})
    assert hung.status_code == 504
    assert f"did not answer within {TIMEOUT:g}s" in hung.json()["error"]
    bad = [
        (post(b"{not json"), "not JSON"),
        (post({"rows": [[1.0]]}), 'send {"instances"'),
        (post({"instances": []}), "non-empty list"),
        (post({"instances": [[1.0], {"a": 1}]}), "all be lists"),
        (post(b"\xff\xfe"), "not JSON"),
    ]
    for answer, reason in bad:
        assert answer.status_code == 400 and reason in answer.json()["error"], answer.text
        assert answer.headers["x-mlstack-variant"] == "primary"
    assert http.get("/endpoints/ep/invocations").status_code == 405
    missing = http.post("/endpoints/nope/invocations", json={"instances": [[1.0]]})
    assert missing.status_code == 404 and "no endpoint 'nope'" in missing.json()["error"]

    # Each hung call's worker process is killed and replaced, so answers keep coming.
    for _ in range(3):
        assert post({"instances": [[999.0]]}).status_code == 504
    ok = post({"instances": [[4.0]]})
    assert ok.status_code == 200 and ok.json()["predictions"] == [8.0]

    traffic = served.client.get("/v1/endpoints/ep/traffic")
    (primary,) = traffic["variants"]
    # Every answer is in the window the alarms read: 5xx as errors, refused bodies as requests.
    assert primary["recent"]["requests"] == 1 + 1 + len(bad) + 3 + 1
    assert primary["recent"]["errors"] == 1 + 1 + 3
    assert primary["recent"]["client_errors"] == len(bad)
    assert primary["replaced_workers"] == 4 and primary["instances"] == 1
    # 5 errors of 11 answers is under the 50% alarm; five more failures put it over.
    assert primary["alarm"] is None
    for _ in range(5):
        post({"instances": [[-2.0]]})
    alarm = served.client.get("/v1/endpoints/ep/traffic")["variants"][0]["alarm"]
    assert alarm.startswith("error rate 62.5% above 50.0%")
    assert post({"instances": [[1.0]]}).json()["predictions"] == [2.0]
