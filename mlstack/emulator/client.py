"""An HTTP client for the control plane, used by the CLI and the local Pulumi backend."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from mlstack.emulator.audit import ACTOR_RULE, HEADER
from mlstack.emulator.errors import BadRequest, Conflict, NotFound
from mlstack.emulator.layout import StateDir
from mlstack.errors import MlstackError

POLL_WAIT = 1.0
ERRORS: dict[int, type[MlstackError]] = {400: BadRequest, 404: NotFound, 409: Conflict}


class Client:
    def __init__(self, url: str, token: str, timeout: float = 900.0, state: StateDir | None = None) -> None:
        self.url = url
        self.state = state
        self.http = httpx.Client(
            base_url=url,
            headers={"Authorization": f"Bearer {token}", HEADER: _actor()},
            timeout=timeout,
            trust_env=False,
        )

    @classmethod
    def for_state(cls, state: StateDir) -> Client:
        """The client of the running emulator of `state`; an error saying how to start one otherwise."""
        from mlstack.emulator import process

        info = process.running(state)
        if info is None:
            raise MlstackError(f"no emulator is running for {state.root}; `mlstack up` starts it")
        return cls(info.url, state.read_token(), state=state)

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise MlstackError(f"cannot reach the emulator at {self.url}: {exc}") from None
        if response.status_code == 401:
            where = f" in {self.state.token_file}" if self.state else ""
            raise MlstackError(f"the emulator at {self.url} rejected the token{where}: {_reason(response)}")
        if response.status_code >= 400:
            raise ERRORS.get(response.status_code, MlstackError)(_reason(response))
        if response.headers.get("content-type", "").startswith("application/json"):
            return response.json()
        return response.text

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=params or None)

    def post(self, path: str, body: Any = None) -> Any:
        return self.request("POST", path, json=body if body is not None else {})

    def put(self, path: str, body: Any) -> Any:
        return self.request("PUT", path, json=body)

    def delete(self, path: str) -> Any:
        return self.request("DELETE", path)

    def follow(self, op_id: str, on_event: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
        """Wait for an operation to finish, passing each event on; its final view."""
        after = 0
        while True:
            view = self.get(f"/v1/operations/{op_id}", after=after, wait=POLL_WAIT)
            for event in view["events"]:
                on_event(event)
            after += len(view["events"])
            if view["status"] != "running" and not view["events"]:
                return view

    def close(self) -> None:
        self.http.close()


def _reason(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}: {response.text[:500]}"
    if isinstance(body, dict) and "error" in body:
        return str(body["error"])
    if isinstance(body, dict) and "detail" in body:  # FastAPI's own validation errors
        return f"HTTP {response.status_code}: {body['detail']}"
    return f"HTTP {response.status_code}: {body}"


def _actor() -> str:
    """Who the audit trail names for this client's changes: the OS user (MLSTACK_ACTOR overrides it,
    for a CI job that acts for someone)."""
    import getpass
    import os

    try:
        actor = os.environ.get("MLSTACK_ACTOR") or getpass.getuser()
    except (KeyError, OSError):  # no login name (a container's numeric user)
        actor = f"uid:{os.getuid()}"
    return actor if ACTOR_RULE.match(actor) else "unknown"
