"""The emulator process: `python -m mlstack.emulator.serve --state-dir DIR [--port N]`.

Started in the background by `mlstack up`. It takes the state directory's lock (one server per
directory), makes the token at first start, binds 127.0.0.1 only, recovers from a previous crash,
then reports {"pid", "port"} or {"error"} as one JSON line on stdout (the handshake `process.start`
reads) and detaches its output to emulator.log."""

from __future__ import annotations

import argparse
import errno
import fcntl
import json
import logging
import os
import signal
import socket
import sys
import threading
import time
from pathlib import Path
from typing import IO, TYPE_CHECKING

from mlstack.emulator.layout import StateDir
from mlstack.errors import MlstackError

if TYPE_CHECKING:
    from mlstack.emulator.core import Emulator

HOST = "127.0.0.1"


def take_lock(state: StateDir) -> IO[str]:
    handle = state.lock_file.open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise MlstackError(f"an emulator is already running for {state.root}") from None
    return handle


def bind(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((HOST, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise MlstackError(
                f"port {port} on {HOST} is in use by another program; set target.local.port to a free port "
                "(or 0 to pick one)"
            ) from None
        raise MlstackError(f"cannot listen on {HOST}:{port}: {exc.strerror}") from None
    sock.listen(2048)
    return sock


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mlstack.emulator.serve")
    parser.add_argument("--state-dir", required=True, type=Path)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    handshake = sys.stdout
    os.umask(0o077)  # everything the emulator writes is private to this user
    state = StateDir(args.state_dir.resolve())
    try:
        state.create()
        lock = take_lock(state)
        token = state.ensure_token()
        sock = bind(args.port)
        port = sock.getsockname()[1]
        from mlstack.emulator.core import Emulator  # the numeric stack: only in the server

        core = Emulator(state, base_url=f"http://{HOST}:{port}")
        recovered = core.start()
    except MlstackError as exc:
        handshake.write(json.dumps({"error": str(exc)}) + "\n")
        handshake.flush()
        return 1
    info = {"pid": os.getpid(), "host": HOST, "port": port, "url": core.base_url, "started_at": time.time()}
    staging = state.server_file.with_suffix(".tmp")
    staging.write_text(json.dumps(info))
    staging.replace(state.server_file)
    # From here on the process's output goes to emulator.log; the handshake pipe gets one line.
    pipe = os.fdopen(os.dup(1), "w")
    with state.log_file.open("ab") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("mlstack.emulator").info("started on %s (recovered after a stop: %s)", core.base_url, recovered)
    pipe.write(json.dumps({**info, "recovered": recovered}) + "\n")
    pipe.close()
    # Load the serving stack while the first plan is computed, not when the first endpoint deploys.
    threading.Thread(target=_warm_up, name="warm-up", daemon=True).start()
    return serve(core, token, sock, lock)


def _warm_up() -> None:
    from mlstack.emulator import workers

    workers.warm_up()  # the forkserver every model's worker process is forked from


def serve(core: Emulator, token: str, sock: socket.socket, lock: IO[str]) -> int:
    import uvicorn

    from mlstack.emulator.server import create_app

    server: uvicorn.Server | None = None

    def shutdown() -> None:
        if server is not None:
            server.should_exit = True

    config = uvicorn.Config(create_app(core, token, shutdown), log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    # uvicorn re-raises SIGTERM/SIGINT once it has shut down; under the default handler that would kill
    # the process before core.close() flushes captures, so the re-raised signal lands on a no-op.
    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop_signal, lambda *_: None)
    # Predictions run on worker threads (workers.py) and hand their answers back to the event loop:
    # a shorter GIL switch interval than the default 5 ms keeps that hand-off from waiting a slice.
    sys.setswitchinterval(0.0005)
    try:
        server.run(sockets=[sock])
    finally:
        core.close()
        core.state.server_file.unlink(missing_ok=True)
        lock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
