"""Serverless endpoints on the emulator: scaled to zero after their idle timeout (workers stopped, the
model dropped) and reloaded from the artifact by the next request, which says it was a cold start."""

from __future__ import annotations

import time

import pytest

from tests.serving.conftest import apply, endpoint_row, spec_text, wait_for

SERVERLESS = """
- name: ep
  model: {group: m, version: 1}
  serverless: {memory_gb: 1, max_concurrency: 2, idle_timeout: 1}
"""


def invoke(emu):
    return emu.client.http.post("/endpoints/ep/invocations", json={"instances": [[1.0]]})


def serverless_state(emu) -> dict:
    return emu.client.get("/v1/endpoints/ep/traffic")["serverless"]


def test_a_serverless_endpoint_scales_to_zero_and_cold_starts(served, tmp_path):
    apply(served, tmp_path, spec_text(SERVERLESS))
    warm = invoke(served)
    assert warm.status_code == 200 and "x-mlstack-cold-start" not in warm.headers
    assert warm.json()["predictions"] == [pytest.approx(2.0)]
    assert serverless_state(served) == {"scaled_to_zero": False, "idle_timeout": 1.0, "cold_starts": 0}
    # idle past the timeout: the fleet is unloaded without any request arriving
    wait_for(lambda: serverless_state(served)["scaled_to_zero"], timeout=10)
    cold = invoke(served)
    assert cold.status_code == 200 and cold.headers["x-mlstack-cold-start"] == "1"
    assert cold.json()["predictions"] == [pytest.approx(2.0)]
    again = invoke(served)
    assert "x-mlstack-cold-start" not in again.headers
    assert serverless_state(served) == {"scaled_to_zero": False, "idle_timeout": 1.0, "cold_starts": 1}
    assert endpoint_row(served)["status"] == "ready"


def test_requests_keep_it_warm(served, tmp_path):
    apply(served, tmp_path, spec_text(SERVERLESS))
    for _ in range(4):
        assert "x-mlstack-cold-start" not in invoke(served).headers
        time.sleep(0.5)
    assert serverless_state(served)["cold_starts"] == 0


def test_a_cold_start_that_cannot_load_answers_503_and_the_next_request_tries_again(served, tmp_path):
    apply(served, tmp_path, spec_text(SERVERLESS))
    assert invoke(served).status_code == 200
    wait_for(lambda: serverless_state(served)["scaled_to_zero"], timeout=10)
    artifact = served.state.artifacts / "m" / "v1" / "model.joblib"
    moved = artifact.rename(tmp_path / "away.joblib")
    failed = invoke(served)
    assert failed.status_code == 503 and failed.json()["error"].startswith("a cold start failed: ")
    assert serverless_state(served)["scaled_to_zero"]  # still parked: nothing half-woken
    moved.rename(artifact)
    cold = invoke(served)
    assert cold.status_code == 200 and cold.headers["x-mlstack-cold-start"] == "1"
    assert serverless_state(served) == {"scaled_to_zero": False, "idle_timeout": 1.0, "cold_starts": 1}
