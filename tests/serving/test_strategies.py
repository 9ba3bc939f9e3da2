"""Every deployment strategy over HTTP against a real emulator: A/B weights, canary steps and
rollback, linear steps, blue/green switch, shadow mirroring, custom entrypoints."""

from __future__ import annotations

import collections

import httpx
import pyarrow.parquet as pq
import pytest

from mlstack.emulator import process
from tests.serving.conftest import apply, endpoint_row, spec_text, wait_for

V1 = "{group: m, version: 1}"
V2 = "{group: m, version: 2}"


def endpoint(model: str, strategy: str, capture: int = 100) -> str:
    return f"""
    - name: ep
      model: {model}
      compute: {{vcpus: 1}}
      data_capture: {{sampling_percent: {capture}}}
      strategy: {strategy}
    """


def invoke(emu, x: float = 1.0, name: str = "ep") -> httpx.Response:
    return emu.client.http.post(f"/endpoints/{name}/invocations", json={"instances": [[x]]})


def variants_of(emu, count: int) -> collections.Counter[tuple[str, float]]:
    """(variant header, prediction rounded to 6 places) of `count` answers."""
    seen: collections.Counter[tuple[str, float]] = collections.Counter()
    for _ in range(count):
        answer = invoke(emu)
        assert answer.status_code == 200, answer.text
        seen[(answer.headers["x-mlstack-variant"], round(answer.json()["predictions"][0], 6))] += 1
    return seen


def test_ab_splits_by_weight_and_names_the_variant(served, tmp_path):
    ab = """
    - name: ep
      compute: {vcpus: 1}
      strategy:
        type: ab
        variants:
          - {name: first, model: {group: m, version: 1}, weight: 70}
          - {name: second, model: {group: m, version: 2}, weight: 30}
    """
    apply(served, tmp_path, spec_text(ab))
    seen = variants_of(served, 600)
    # Each variant answers with its own model: v1 says 2, v2 says 102.
    assert set(seen) == {("first", 2.0), ("second", 102.0)}
    share = seen[("second", 102.0)] / 600
    assert 0.30 - 0.06 < share < 0.30 + 0.06  # 600 draws: sd ~ 1.9 points


def test_canary_takes_its_share_then_everything(served, tmp_path):
    apply(served, tmp_path, spec_text(endpoint(V1, "{type: canary, percent: 30, bake_time: 3s, termination_wait: 1s}")))
    assert variants_of(served, 20) == {("primary", 2.0): 20}
    # baking long enough for 150 requests on a loaded machine
    canary = "{type: canary, percent: 30, bake_time: 20s, termination_wait: 1s}"
    apply(served, tmp_path, spec_text(endpoint(V2, canary)))
    row = endpoint_row(served)
    assert row["status"] == "updating" and "canary" in row["message"]
    during = variants_of(served, 150)
    assert set(during) == {("primary", 2.0), ("green", 102.0)}  # the old fleet and the canary
    assert 0.30 - 0.12 < during[("green", 102.0)] / 150 < 0.30 + 0.12
    # A second `up` while the canary bakes changes nothing (it does not restart the rollout).
    assert served.plan(tmp_path / "mlstack.yaml")["counts"]["update"] == 0
    wait_for(lambda: endpoint_row(served)["status"] == "ready", timeout=60)
    assert variants_of(served, 30) == {("primary", 102.0): 30}
    traffic = served.client.get("/v1/endpoints/ep/traffic")
    assert [(v["variant"], v["version"], v["weight"]) for v in traffic["variants"]] == [("primary", 2, 100)]
    assert traffic["rollout"] is None


def test_linear_shifts_in_steps(served, tmp_path):
    linear = "{type: linear, step_percent: 50, interval: 5s, termination_wait: 1s}"  # polls see each step under load
    apply(served, tmp_path, spec_text(endpoint(V1, linear)))
    apply(served, tmp_path, spec_text(endpoint(V2, linear)))
    first = wait_for(lambda: served.client.get("/v1/endpoints/ep/traffic")["rollout"])
    assert first["strategy"] == "linear"
    steps = set()
    while endpoint_row(served)["status"] == "updating":
        rollout = served.client.get("/v1/endpoints/ep/traffic")["rollout"]
        if rollout:
            steps.add((rollout["step"], rollout["green_percent"]))
    assert {("linear at 50%", 50), ("all traffic, old fleet kept", 100)} <= steps
    assert endpoint_row(served)["status"] == "ready"
    assert variants_of(served, 10) == {("primary", 102.0): 10}


def test_blue_green_warms_then_switches_and_keeps_the_old_fleet(served, tmp_path):
    strategy = "{type: blue_green, termination_wait: 15s}"  # 20 requests answer before the old fleet goes
    apply(served, tmp_path, spec_text(endpoint(V1, strategy)))
    apply(served, tmp_path, spec_text(endpoint(V2, strategy)))
    rollout = wait_for(lambda: (served.client.get("/v1/endpoints/ep/traffic")["rollout"] or {}).get("green_percent"))
    assert rollout == 100
    # Switched all at once: only the new fleet answers while the old one waits to be released.
    assert variants_of(served, 20) == {("green", 102.0): 20}
    wait_for(lambda: endpoint_row(served)["status"] == "ready", timeout=60)
    assert variants_of(served, 5) == {("primary", 102.0): 5}


def test_a_canary_that_fails_rolls_back(served, tmp_path):
    canary = "{type: canary, percent: 50, bake_time: 60s, termination_wait: 1s, rollback: {max_error_rate: 0.2, window: 60s}}"
    apply(served, tmp_path, spec_text(endpoint(V1, canary)))
    apply(served, tmp_path, spec_text(endpoint("{group: m, version: 4}", canary)))  # v4 always raises
    statuses = collections.Counter()
    while endpoint_row(served)["status"] == "updating":
        statuses[invoke(served).status_code] += 1
        assert sum(statuses.values()) < 500, "the alarm never fired"
    assert statuses[500] >= 10  # the alarm waits for enough answers before judging
    row = endpoint_row(served)
    assert row["status"] == "rolled_back"
    assert "error rate" in row["message"] and "m v4" in row["message"]
    # Everything is back on the old fleet, and the next plan tries the update again.
    assert variants_of(served, 30) == {("primary", 2.0): 30}
    assert served.plan(tmp_path / "mlstack.yaml")["counts"]["update"] == 1


def test_shadow_mirrors_a_share_and_discards_its_answers(served, tmp_path):
    shadow = "{type: shadow, challenger: {group: m, version: 3}, percent: 50}"
    apply(served, tmp_path, spec_text(endpoint(V1, shadow)))
    answers = [invoke(served, x=float(i)) for i in range(200)]
    assert {a.headers["x-mlstack-variant"] for a in answers} == {"primary"}
    assert [a.json()["predictions"][0] for a in answers] == pytest.approx([2.0 * i for i in range(200)])
    wait_for(lambda: served.client.get("/v1/endpoints/ep/traffic")["variants"][1]["totals"]["requests"] > 60)
    assert process.stop(served.state, timeout=10)  # stopping flushes every capture
    rows = pq.read_table(served.state.captures / "ep").to_pylist()
    production = {r["correlation_id"] for r in rows if r["role"] == "production"}
    mirrored = [r for r in rows if r["role"] == "shadow"]
    assert production == {a.headers["x-mlstack-correlation-id"] for a in answers}
    assert 100 - 30 < len(mirrored) < 100 + 30
    # The shadow (a custom model, m v3) answered each copy; both answers are logged under one id.
    assert {r["correlation_id"] for r in mirrored} <= production
    assert all(r["variant"] == "shadow" and r["model"] == "m v3" and r["status"] == 200 for r in mirrored)


def test_autoscaling_adds_workers_as_invocations_rise(served, tmp_path):
    scaled = """
    - name: ep
      model: {group: m, version: 3}
      compute: {vcpus: 1}
      autoscaling: {min: 1, max: 3, target: 10, scale_out_cooldown: 0s}
    """
    apply(served, tmp_path, spec_text(scaled))
    assert served.client.get("/v1/endpoints/ep/traffic")["variants"][0]["instances"] == 1
    for i in range(40):
        assert invoke(served, x=float(i)).json()["predictions"] == [2.0 * i]  # m v3: the custom `double`

    def scaled_out() -> dict | None:
        traffic = served.client.get("/v1/endpoints/ep/traffic")
        return traffic if traffic["variants"][0]["instances"] == 3 else None

    traffic = wait_for(scaled_out, timeout=10)
    events = traffic["autoscaling"]["events"]
    # A check may land mid-burst (11-20 answers ask for 2), so it can take one or two steps.
    assert events[0]["from"] == 1 and events[-1]["to"] == 3
    for event in events:
        count = int(event["reason"].split()[0])
        assert event["reason"] == f"{count} invocations in the last minute, target 10 per instance"
        assert event["to"] == min(3, -(-count // 10))
    assert traffic["autoscaling"]["simulated"] is True


def test_a_compute_change_is_a_rollout_too_and_survives_a_restart(served, tmp_path):
    canary = "{type: canary, percent: 50, bake_time: 30s, termination_wait: 0s}"
    small = endpoint(V1, canary).replace("compute: {vcpus: 1}", "compute: {vcpus: 1, memory_gb: 2}")
    apply(served, tmp_path, spec_text(small))
    apply(served, tmp_path, spec_text(small.replace("memory_gb: 2", "memory_gb: 4")))
    row = endpoint_row(served)
    assert row["status"] == "updating" and "canary from m v1 to m v1" in row["message"]
    # Same model on a new fleet: both answer alike, under their own names.
    assert {variant for variant, _ in variants_of(served, 60)} == {"primary", "green"}
    assert {p for _, p in variants_of(served, 20)} == {2.0}

    # Restarted mid-rollout: the old fleet serves again and the rollout starts over.
    assert process.stop(served.state, timeout=10)
    served.restart()
    row = endpoint_row(served)
    assert row["status"] == "updating"
    assert served.client.get("/v1/endpoints/ep/traffic")["rollout"]["strategy"] == "canary"
    assert {variant for variant, _ in variants_of(served, 60)} == {"primary", "green"}
    served_compute = {s["variant"]: s["compute"] for s in row["observed"]["serving"]}
    assert served_compute == {"primary": {"vcpus": 1, "memory_gb": 4}}
