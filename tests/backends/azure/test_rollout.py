"""Traffic rollouts: the stages a strategy makes, and the traffic provider driving them against a real HTTP
server on 127.0.0.1 that answers like Azure Resource Manager (endpoint GET/PUT with provisioning states,
Alerts Management's fired alerts)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest
from azure.core.credentials import AccessToken

from mlstack.backends.azure.rollout import Rollout, Stage, mix, split, stages
from mlstack.backends.azure.traffic import ML_API, Arm, RolloutFailed, apply_split
from mlstack.errors import MlstackError

ENDPOINT = "/subscriptions/sub-1/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws/onlineEndpoints/rank"
RULE = "/subscriptions/sub-1/resourceGroups/rg/providers/Microsoft.Insights/metricAlerts/p99"


def test_a_first_deployment_gets_its_split_at_once():
    assert stages({}, {"new": 100}, Rollout("canary", 10, 100, 600, 300)) == [Stage({"new": 100}, 0)]


def test_reweighting_the_same_deployments_is_one_stage():
    assert stages({"a": 50, "b": 50}, {"a": 80, "b": 20}, Rollout("linear", 10, 10, 60, 60)) == [
        Stage({"a": 80, "b": 20}, 0)
    ]


def test_canary_takes_its_share_bakes_then_takes_all_and_is_watched():
    assert stages({"old": 100}, {"new": 100}, Rollout("canary", 10, 100, 600, 300)) == [
        Stage({"old": 90, "new": 10}, 600),
        Stage({"new": 100}, 300),
    ]


def test_linear_moves_step_by_step():
    plan = stages({"old": 100}, {"new": 100}, Rollout("linear", 30, 30, 60, 120))
    assert plan == [
        Stage({"old": 70, "new": 30}, 60),
        Stage({"old": 40, "new": 60}, 60),
        Stage({"old": 10, "new": 90}, 60),
        Stage({"new": 100}, 120),
    ]


def test_blue_green_switches_at_once_and_keeps_blue_while_watched():
    assert stages({"blue": 100}, {"green": 100}, Rollout("blue_green", watch_seconds=300)) == [
        Stage({"green": 100}, 300)
    ]


def test_a_log_alert_watched_rollout_keeps_watching_until_the_waits_last_requests_are_judged():
    """Audit Z10: a log alert sees a request minutes after it is answered; every watched wait is extended by
    the settle time, a stage with no wait is not."""
    plan = stages({"old": 100}, {"new": 100}, Rollout("canary", 10, 100, 600, 300, 240))
    assert plan == [Stage({"old": 90, "new": 10}, 840), Stage({"new": 100}, 540)]
    assert stages({"old": 100}, {"new": 100}, Rollout("canary", 10, 100, 600, 0, 240))[-1] == Stage({"new": 100}, 0)


def test_mix_keeps_proportions_and_whole_percents():
    assert mix({"a": 70, "b": 30}, {"c": 50, "d": 50}, 33) == {"a": 47, "b": 20, "c": 17, "d": 16}
    assert sum(mix({"a": 1, "b": 1, "c": 1}, {"d": 1}, 50).values()) == 100


@pytest.mark.parametrize("total", [0, 1, 7, 100])
def test_split_sums_to_the_total(total):
    shares = split(total, {"a": 1, "b": 2, "c": 3})
    assert sum(shares.values()) == total and all(v >= 0 for v in shares.values())


@dataclass
class FakeArm:
    """An online endpoint and the alerts of one rule, as ARM serves them."""

    traffic: dict[str, int]
    mirror: dict[str, int] = field(default_factory=dict)
    updating_reads: int = 0  # GETs answering Updating after each PUT
    final_state: str = "Succeeded"
    fire_after_checks: int | None = None  # the alert fires from this alert query on
    puts: list[dict] = field(default_factory=list)
    alert_checks: int = 0
    tokens: list[str] = field(default_factory=list)
    _pending: int = 0

    def resource(self) -> dict:
        state = "Updating" if self._pending else self.final_state
        self._pending = max(0, self._pending - 1)
        return {
            "id": ENDPOINT,
            "name": "rank",
            "type": "Microsoft.MachineLearningServices/workspaces/onlineEndpoints",
            "location": "westeurope",
            "identity": {"type": "SystemAssigned"},
            "systemData": {"createdBy": "someone"},
            "properties": {
                "authMode": "AADToken",
                "publicNetworkAccess": "Disabled",
                "traffic": dict(self.traffic),
                "mirrorTraffic": dict(self.mirror),
                "provisioningState": state,
                "scoringUri": "https://rank.westeurope.inference.ml.azure.com/score",
            },
        }


def _handler(state: FakeArm):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            return None

        def _reply(self, code: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            url = urlparse(self.path)
            query = parse_qs(url.query)
            state.tokens.append(self.headers.get("Authorization", ""))
            if url.path == ENDPOINT and query["api-version"] == [ML_API]:
                return self._reply(200, state.resource())
            if url.path.endswith("/providers/Microsoft.AlertsManagement/alerts") and query["alertRule"] == [RULE]:
                state.alert_checks += 1
                fired = state.fire_after_checks is not None and state.alert_checks >= state.fire_after_checks
                return self._reply(
                    200, {"value": [{"properties": {"essentials": {"monitorCondition": "Fired"}}}] if fired else []}
                )
            return self._reply(404, {"error": {"code": "NotFound", "message": url.path}})

        def do_PUT(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            state.puts.append(body)
            state.traffic = body["properties"]["traffic"]
            state.mirror = body["properties"]["mirrorTraffic"]
            state._pending = state.updating_reads
            self._reply(200, state.resource())

    return Handler


@pytest.fixture
def arm() -> Iterator[tuple[FakeArm, Arm]]:
    state = FakeArm(traffic={"old": 100})
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    class Token:
        def get_token(self, *scopes: str) -> AccessToken:
            assert scopes == ("https://management.azure.com/.default",)
            return AccessToken("token-1", int(time.time()) + 3600)

    client = Arm(Token(), base_url=f"http://127.0.0.1:{server.server_port}", poll_seconds=0.02)
    yield state, client
    server.shutdown()
    server.server_close()


def _props(rollout: Rollout, traffic: dict, mirror: dict | None = None, rules: list | None = None) -> dict:
    return {
        "endpoint_id": ENDPOINT,
        "traffic": traffic,
        "mirror_traffic": mirror or {},
        "rollout": rollout.as_dict(),
        "alert_rule_ids": rules or [],
    }


def test_a_canary_rollout_puts_each_stage_and_keeps_everything_else(arm):
    state, client = arm
    state.updating_reads = 2
    applied = apply_split(client, _props(Rollout("canary", 10, 100, 1, 0), {"new": 100}, rules=[RULE]))
    assert applied == [{"old": 90, "new": 10}, {"new": 100}]
    assert [p["properties"]["traffic"] for p in state.puts] == applied
    for body in state.puts:
        assert "id" not in body and "systemData" not in body
        assert body["identity"] == {"type": "SystemAssigned"} and body["location"] == "westeurope"
        assert body["properties"]["authMode"] == "AADToken"
        assert "provisioningState" not in body["properties"] and "scoringUri" not in body["properties"]
    assert state.traffic == {"new": 100}
    assert state.alert_checks >= 10  # watched throughout the one-second bake
    assert set(state.tokens) == {"Bearer token-1"}


def test_an_alarm_during_the_bake_restores_the_live_split(arm):
    state, client = arm
    state.fire_after_checks = 3
    with pytest.raises(RolloutFailed, match="p99 fired"):
        apply_split(client, _props(Rollout("canary", 25, 100, 5, 5), {"new": 100}, rules=[RULE]))
    assert [p["properties"]["traffic"] for p in state.puts] == [{"old": 75, "new": 25}, {"old": 100}]
    assert state.traffic == {"old": 100}


def test_mirrored_traffic_goes_with_every_stage(arm):
    state, client = arm
    apply_split(client, _props(Rollout(), {"old": 100}, mirror={"shadow": 20}))
    assert state.puts[-1]["properties"]["mirrorTraffic"] == {"shadow": 20}
    assert state.mirror == {"shadow": 20}


def test_a_failed_update_is_an_error(arm):
    state, client = arm
    state.final_state = "Failed"
    with pytest.raises(MlstackError, match="traffic update Failed"):
        apply_split(client, _props(Rollout(), {"new": 100}))


def test_an_update_that_never_settles_times_out(arm):
    state, client = arm
    state.updating_reads = 1000
    client.timeout_seconds = 0.1
    with pytest.raises(MlstackError, match="still Updating"):
        apply_split(client, _props(Rollout(), {"new": 100}))


def test_arm_errors_name_the_call(arm):
    _, client = arm
    with pytest.raises(MlstackError, match=r"GET /subscriptions/sub-1/nothing failed \(404\)"):
        client._call("GET", "/subscriptions/sub-1/nothing", ML_API)
