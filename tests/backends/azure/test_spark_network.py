"""Serverless Spark in a managed-network workspace (Z5 iii): the plan provisions the network with Spark, and
the provisioning POSTs Azure's action and waits for sparkReady, against a server on 127.0.0.1."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest
from azure.core.credentials import AccessToken

from mlstack.backends.azure.network import provision
from mlstack.backends.azure.traffic import ML_API, Arm
from mlstack.errors import MlstackError

WS = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws"


def test_a_workspace_with_monitors_is_provisioned_for_spark(fraud):
    plan = fraud(None)
    network = plan.inputs("Resource", "workspace-spark-network")
    assert network["include_spark"] is True
    assert plan.inputs("Workspace", "workspace")["managedNetwork"]["isolationMode"] == "AllowOnlyApprovedOutbound"


class Token:
    def get_token(self, *scopes: str) -> AccessToken:
        return AccessToken("t", int(time.time()) + 3600)


def _serve(ready_after: int | None):
    calls: list[tuple[str, str, dict | None]] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            return None

        def _reply(self, code: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            url = urlparse(self.path)
            assert parse_qs(url.query)["api-version"] == [ML_API]
            calls.append(("POST", url.path, json.loads(self.rfile.read(int(self.headers["Content-Length"])))))
            self._reply(202, {})

        def do_GET(self) -> None:
            url = urlparse(self.path)
            calls.append(("GET", url.path, None))
            gets = sum(1 for c in calls if c[0] == "GET")
            ready = ready_after is not None and gets >= ready_after
            self._reply(200, {"properties": {"managedNetwork": {"status": {"sparkReady": ready}}}})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    arm = Arm(Token(), base_url=f"http://127.0.0.1:{server.server_port}", poll_seconds=0.01, timeout_seconds=0.5)
    return server, arm, calls


def test_provisioning_posts_include_spark_and_waits_until_ready():
    server, arm, calls = _serve(ready_after=3)
    try:
        provision(arm, WS)
    finally:
        server.shutdown()
    assert calls[0] == ("POST", f"{WS}/provisionManagedNetwork", {"includeSpark": True})
    assert [c[0] for c in calls[1:]] == ["GET", "GET", "GET"]


def test_a_network_never_ready_for_spark_fails_the_deployment():
    server, arm, _ = _serve(ready_after=None)
    try:
        with pytest.raises(MlstackError, match="not ready for Spark"):
            provision(arm, WS)
    finally:
        server.shutdown()
