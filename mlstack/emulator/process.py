"""Starting, finding and stopping the emulator process of a state directory (client side).

A server is running when it holds the directory's lock; server.json then says where it listens.
The check by lock, not by pid, is immune to stale files and reused pids after a kill -9."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import select
import signal
import subprocess
import sys
import time
from dataclasses import dataclass

from mlstack.emulator.layout import StateDir
from mlstack.errors import MlstackError

START_TIMEOUT = 60.0
LOG_TAIL = 20


@dataclass(frozen=True)
class ServerInfo:
    pid: int
    port: int
    url: str
    recovered: dict[str, int] | None = None


def lock_held(state: StateDir) -> bool:
    if not state.lock_file.exists():
        return False
    with state.lock_file.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


def running(state: StateDir) -> ServerInfo | None:
    if not lock_held(state):
        return None
    for _ in range(50):  # a server that just took the lock writes server.json right after binding
        try:
            info = json.loads(state.server_file.read_text())
            return ServerInfo(pid=info["pid"], port=info["port"], url=info["url"])
        except (FileNotFoundError, json.JSONDecodeError, KeyError):
            time.sleep(0.1)
    return None


def _log_tail(state: StateDir) -> str:
    try:
        lines = state.log_file.read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return ""
    return "\n".join(lines[-LOG_TAIL:])


def start(state: StateDir, port: int = 0, timeout: float = START_TIMEOUT) -> ServerInfo:
    """Start the server in the background and wait for its handshake line."""
    state.create()
    with state.log_file.open("ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "mlstack.emulator.serve", "--state-dir", str(state.root), "--port", str(port)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=log,
            start_new_session=True,  # outlives the CLI and its terminal's Ctrl-C
            close_fds=True,
        )
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    line = proc.stdout.readline().decode("utf-8", "replace") if ready else ""
    proc.stdout.close()
    if not line:
        if proc.poll() is None:
            proc.kill()
        tail = _log_tail(state)
        raise MlstackError(
            f"the emulator did not start within {timeout:.0f}s; see {state.log_file}" + (f":\n{tail}" if tail else "")
        )
    answer = json.loads(line)
    if "error" in answer:
        proc.wait(timeout=10)
        raise MlstackError(answer["error"])
    return ServerInfo(pid=answer["pid"], port=answer["port"], url=answer["url"], recovered=answer.get("recovered"))


def ensure(state: StateDir, port: int = 0) -> tuple[ServerInfo, bool]:
    """The running server, or a new one; and whether it was started now."""
    info = running(state)
    if info is not None:
        if port and port != info.port:
            raise MlstackError(
                f"the emulator for {state.root} already runs on port {info.port}, not {port}; "
                "run `mlstack down` first to move it"
            )
        return info, False
    return start(state, port), True


def stop(state: StateDir, timeout: float = 30.0) -> bool:
    """Stop the server (SIGTERM, then SIGKILL after `timeout`); whether one was running."""
    info = running(state)
    if info is None:
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(info.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while lock_held(state):
        if time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.kill(info.pid, signal.SIGKILL)
            time.sleep(0.2)
            break
        time.sleep(0.05)
    return True
