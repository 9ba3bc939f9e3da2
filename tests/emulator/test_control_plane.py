"""The control plane over HTTP against a real server: auth, binding, plan/apply/reconcile."""

from __future__ import annotations

import socket
import stat
from pathlib import Path

import httpx
import joblib
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression

from mlstack.errors import MlstackError
from tests.emulator.conftest import pipeline_spec, write_spec


def _listening_addresses(port: int) -> set[str]:
    """Local addresses of listening TCP sockets on `port`, from the kernel's table."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            address, port_hex = local.split(":")
            if state == "0A" and int(port_hex, 16) == port:  # 0A: LISTEN
                found.add(socket.inet_ntoa(bytes.fromhex(address)[::-1]) if len(address) == 8 else address)
    return found


def test_requests_need_the_token(emulator):
    url = emulator.info.url
    assert httpx.get(f"{url}/v1/health", timeout=30).status_code == 401  # a loaded machine may be slow
    wrong = httpx.get(f"{url}/v1/health", headers={"Authorization": "Bearer not-the-token"}, timeout=30)
    assert wrong.status_code == 401
    assert "wrong token" in wrong.json()["error"]
    # Unknown routes and endpoint invocations answer 401 too, before any routing.
    assert httpx.get(f"{url}/no/such/route", timeout=30).status_code == 401
    assert httpx.post(f"{url}/endpoints/x/invocations", json={"instances": [[1]]}, timeout=30).status_code == 401
    good = emulator.client.get("/v1/health")
    assert good["service"] == "mlstack-emulator" and good["pid"] == emulator.info.pid


def test_binds_loopback_only_and_keeps_its_files_private(emulator):
    assert _listening_addresses(emulator.info.port) == {"127.0.0.1"}
    with pytest.raises(httpx.ConnectError):  # another loopback address: not listening there
        httpx.get(f"http://127.0.0.2:{emulator.info.port}/v1/health", timeout=2)
    assert stat.S_IMODE(emulator.state.token_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(emulator.state.root.stat().st_mode) == 0o700


def test_a_second_server_for_the_same_state_is_refused(emulator):
    from mlstack.emulator import process
    from mlstack.errors import MlstackError

    with pytest.raises(MlstackError, match="already running"):
        process.start(emulator.state)


@pytest.fixture
def platform(tmp_path: Path) -> Path:
    """A spec with a declared model version, an entity, a feature view and a pipeline."""
    model = LinearRegression().fit([[0.0], [1.0], [2.0]], [1.0, 3.0, 5.0])
    joblib.dump(model, tmp_path / "line.joblib")
    pd.DataFrame(
        {"user_id": [1, 2], "ts": pd.to_datetime(["2024-01-01", "2024-01-02"]), "clicks": [3.0, 4.0]}
    ).to_parquet(tmp_path / "clicks.parquet")
    return write_spec(
        tmp_path,
        """
        apiVersion: mlstack/v1
        name: shop
        owner: tests@example.com
        registry:
          model_groups:
            - name: line
              approval: manual
              versions:
                - version: 1
                  artifact: line.joblib
                  aliases: [champion]
        feature_store:
          entities:
            - name: user
              join_keys: [{name: user_id, dtype: int64}]
          views:
            - name: user-clicks
              entity: user
              source: {uri: clicks.parquet, timestamp_field: ts}
              features: [{name: clicks, dtype: float64}]
        pipelines:
          - name: nightly
            parameters: {alpha: 1}
            steps:
              - name: train
                kind: training
                entrypoint: {steps}/train.py
        endpoints:
          - name: line
            model: {group: line, alias: champion}
            compute: {vcpus: 1}
        """,
    )


def _actions(plan: dict) -> dict[tuple[str, str], str]:
    return {(c["kind"], c["name"]): c["action"] for c in plan["changes"]}


def test_plan_apply_is_idempotent_and_reconciles_only_what_changed(emulator, platform):
    first = emulator.plan(platform)
    assert set(_actions(first).values()) == {"create"}
    assert first["counts"] == {"create": 6, "update": 0, "delete": 0, "unchanged": 0}
    applied = emulator.apply(platform)
    assert applied["status"] == "succeeded", applied["message"]

    answer = emulator.client.post("/endpoints/line/invocations", {"instances": [[10.0]]})
    assert answer["predictions"] == pytest.approx([21.0])

    again = emulator.plan(platform)
    assert again["counts"] == {"create": 0, "update": 0, "delete": 0, "unchanged": 6}

    # Change one pipeline parameter and drop the feature view: only those two change.
    text = platform.read_text().replace("parameters: {alpha: 1}", "parameters: {alpha: 2}")
    start, end = text.index("  views:"), text.index("\npipelines:") + 1
    platform.write_text(text[:start] + text[end:])
    changed = emulator.plan(platform)
    assert {k: a for k, a in _actions(changed).items() if a != "unchanged"} == {
        ("pipeline", "nightly"): "update",
        ("feature_view", "user-clicks"): "delete",
    }
    (pipeline_change,) = [c for c in changed["changes"] if c["kind"] == "pipeline"]
    assert pipeline_change["details"] == ["parameters"]
    assert emulator.apply(platform)["status"] == "succeeded"
    kinds = {(r["kind"], r["name"]) for r in emulator.client.get("/v1/resources")}
    assert ("feature_view", "user-clicks") not in kinds
    assert emulator.client.get("/v1/resources/pipeline/nightly")["config"]["parameters"] == {"alpha": 2}
    # The endpoint kept serving through the update.
    assert emulator.client.post("/endpoints/line/invocations", {"instances": [[1.0]]})["predictions"] == pytest.approx(
        [3.0]
    )


def test_a_changed_artifact_replaces_the_declared_version_and_what_serves_it(emulator, platform):
    assert emulator.apply(platform)["status"] == "succeeded"
    joblib.dump(LinearRegression().fit([[0.0], [1.0]], [0.0, 10.0]), platform.parent / "line.joblib")
    plan = emulator.plan(platform)
    assert _actions(plan)[("model_version", "line:v1")] == "update"
    assert emulator.apply(platform)["status"] == "succeeded"
    answer = emulator.client.post("/endpoints/line/invocations", {"instances": [[2.0]]})
    assert answer["predictions"] == pytest.approx([20.0])
    assert emulator.plan(platform)["counts"]["update"] == 0


def test_another_platform_cannot_take_over_a_state_directory(emulator, platform, tmp_path):
    assert emulator.apply(platform)["status"] == "succeeded"
    other = write_spec(tmp_path, pipeline_spec(platform="other"), name="other.yaml")
    with pytest.raises(MlstackError, match="holds platform 'shop'"):
        emulator.plan(other)


def test_per_resource_put_and_delete(emulator, platform):
    wanted = emulator.desired(platform)
    group = next(r for r in wanted["resources"] if r["kind"] == "model_group")
    created = emulator.client.put("/v1/resources/model_group/line", {"config": group["config"]})
    assert created["status"] == "ready"
    assert [g["name"] for g in emulator.client.get("/v1/registry/groups")] == ["line"]
    emulator.client.delete("/v1/resources/model_group/line")
    assert emulator.client.get("/v1/registry/groups") == []
    with pytest.raises(MlstackError, match="unknown resource kind 'gizmo'"):
        emulator.client.put("/v1/resources/gizmo/x", {"config": {}})


def test_bad_desired_state_is_rejected_with_a_reason(emulator):
    with pytest.raises(MlstackError, match="'resources' list"):
        emulator.client.post("/v1/plan", {"nothing": True})
    with pytest.raises(MlstackError, match="appears twice"):
        item = {"kind": "entity", "name": "e", "config": {"name": "e"}}
        emulator.client.post("/v1/plan", {"platform": "p", "resources": [item, item]})
