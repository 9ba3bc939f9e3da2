"""A fleet's instances as worker processes: the user's model is loaded and run there, never in the server.

A model is code the user supplied: unpickling a joblib artifact runs whatever the file says, a
custom entrypoint is a module imported, and a predict may take seconds, hang or kill its process.
So each instance of a variant is a process (multiprocessing's forkserver: a fork of a small server
that has already imported numpy, pandas and scikit-learn, so a worker starts in milliseconds, not
by a fresh interpreter's import). It loads the model once, checking the artifact's digest first
(`predictors.load`), then answers predictions over a pipe: the server sends the parsed instances,
the worker sends back the answer's fields or an error with its HTTP status.

On the server side each process has a thread that waits on its pipe (so the event loop never
blocks on a model). The event loop hands a request to the pool and awaits it under the invocation
timeout. A call that outlives it has its process killed and replaced (the model loaded again): no
stuck thread, no lost capacity once the new process is up. A process that dies while predicting
(a crash, `os._exit`) answers a 500 saying so, and is replaced the same way.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import itertools
import logging
import multiprocessing
import multiprocessing.connection
import queue
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mlstack.emulator.errors import BadRequest
from mlstack.emulator.predictors import InvocationError, Predictor
from mlstack.emulator.registry import Version

log = logging.getLogger(__name__)

_STOP = object()
# A model is loaded when its fleet is created (and again when a worker is replaced): bounded so a
# load that hangs fails the deployment instead of the server.
LOAD_TIMEOUT = 120.0
# What the forkserver imports once, so each worker is a fork that finds them loaded.
_PRELOAD = ["mlstack.emulator.predictors", "numpy", "pandas", "sklearn.base", "joblib"]
_context_lock = threading.Lock()
_context: Any = None


def context() -> Any:
    """The multiprocessing context the workers come from, its forkserver started on first use."""
    global _context
    with _context_lock:
        if _context is None:
            ctx = multiprocessing.get_context("forkserver")
            ctx.set_forkserver_preload(_PRELOAD)
            _context = ctx
    return _context


def warm_up() -> None:
    """Start the forkserver (and its imports) before the first fleet needs it."""
    from multiprocessing import forkserver

    context()
    forkserver.ensure_running()


# --- the worker process ---------------------------------------------------------------------------


def _serve(conn: multiprocessing.connection.Connection, version: Version) -> None:
    """A worker's life: load the model, say what it takes, then answer until the pipe closes."""
    from mlstack.emulator import predictors

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C on the server is the server's to handle
    try:
        model = predictors.load(version)
    except BadRequest as exc:
        conn.send(("failed", str(exc)))
        return
    except BaseException as exc:  # a loader's own crash, reported as the load error it is
        conn.send(("failed", f"cannot load {version.ref}: {type(exc).__name__}: {exc}"))
        return
    conn.send(("ready", model.feature_names, model.width))
    while True:
        try:
            instances = conn.recv()
        except EOFError:  # the server closed the pipe or exited
            return
        try:
            reply: tuple[Any, ...] = ("ok", model.predict(instances))
        except InvocationError as exc:
            reply = ("error", exc.status, str(exc))
        except BaseException as exc:
            reply = ("error", 500, f"the model raised {type(exc).__name__}: {exc}")
        try:
            conn.send(reply)
        except Exception as exc:  # an answer that cannot be pickled
            conn.send(("error", 500, f"the model's answer cannot be sent: {type(exc).__name__}: {exc}"))


# --- the server side ------------------------------------------------------------------------------


@dataclass(eq=False)
class _Job:
    instances: list[Any]
    settle: Callable[[tuple[Any, ...]], None]  # called on the worker's thread with the reply
    done: Callable[[], bool]
    worker: _Worker | None = None


class _Process:
    """One worker process and the server's end of its pipe."""

    def __init__(self, version: Version) -> None:
        ctx = context()
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_serve, args=(child, version), daemon=True)
        self.process.start()
        child.close()  # so the server's end reads EOF when the process dies

    def ready(self, version: Version) -> tuple[list[str], int]:
        """Wait for the model to load: its feature names and width, or BadRequest saying why not."""
        try:
            if not self.conn.poll(LOAD_TIMEOUT):
                self.kill()
                raise BadRequest(f"{version.ref} did not load within {LOAD_TIMEOUT:g}s")
            reply = self.conn.recv()
        except (EOFError, OSError):
            self.kill()
            raise BadRequest(
                f"cannot load {version.ref}: its worker process exited while loading "
                f"(exit code {self.process.exitcode})"
            ) from None
        if reply[0] != "ready":
            self.kill()
            raise BadRequest(reply[1])
        return reply[1], reply[2]

    def kill(self) -> None:
        with contextlib.suppress(ValueError):  # already closed
            self.process.kill()
        self.process.join(5)
        self.conn.close()

    def stop(self) -> None:
        """A graceful end: closing the pipe is the worker's signal to exit."""
        self.conn.close()
        self.process.join(2)
        if self.process.exitcode is None:
            self.kill()


@dataclass(eq=False)
class _Worker:
    pool: WorkerPool
    proc: _Process | None = None
    retire: bool = False
    job: _Job | None = None
    killed: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self, name: str) -> None:
        threading.Thread(target=self._loop, name=name, daemon=True).start()

    def _loop(self) -> None:
        pool = self.pool
        while not self.retire:
            if self.proc is None and not self._replace():
                continue
            job = pool.jobs.get()
            if job is _STOP:
                break
            if job.done():  # timed out while it waited in the queue
                continue
            with self.lock:
                self.job, job.worker = job, self
            began = time.perf_counter()
            reply = self._call(job.instances)
            pool.add_busy(time.perf_counter() - began)
            with self.lock:
                self.job = None
                killed, self.killed = self.killed, False
            if killed or reply is None:
                ended = self._drop()
                if reply is None:
                    message = f"the model's worker process exited while predicting ({ended}); a new one is starting"
                    reply = ("error", 500, message)
            job.settle(reply)
        if self.proc is not None:
            self.proc.stop()
        pool.forget(self)

    def _call(self, instances: list[Any]) -> tuple[Any, ...] | None:
        assert self.proc is not None
        try:
            self.proc.conn.send(instances)
            reply: tuple[Any, ...] = self.proc.conn.recv()
        except (EOFError, OSError):
            return None
        return reply

    def _drop(self) -> str:
        """Kill the process (a timeout) or collect it (a crash): how it ended."""
        assert self.proc is not None
        self.proc.kill()
        ended = _exit_text(self.proc.process.exitcode)
        self.proc = None
        self.pool.replaced += 1
        return ended

    def _replace(self) -> bool:
        """A new process with the model loaded; on failure, wait a little and say so."""
        try:
            proc = _Process(self.pool.version)
            proc.ready(self.pool.version)
        except BadRequest as exc:
            log.error("variant %s: a replacement worker failed to load: %s", self.pool.name, exc)
            time.sleep(1.0)
            return False
        self.proc = proc
        return True

    def kill_for(self, job: _Job) -> None:
        """Kill the process if it is still working on `job` (the call timed out)."""
        with self.lock:
            if self.job is not job or self.proc is None:
                return
            self.killed = True
            with contextlib.suppress(ValueError):
                self.proc.process.kill()


def _exit_text(code: int | None) -> str:
    if code is not None and code < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-code).name}"
    return f"exit code {code}"


def _settle(future: asyncio.Future[Any], reply: tuple[Any, ...]) -> None:
    if not future.done():
        future.set_result(reply)


def _expire(future: asyncio.Future[Any]) -> None:
    if not future.done():
        future.set_exception(TimeoutError())


def _unwrap(reply: tuple[Any, ...]) -> dict[str, Any]:
    if reply[0] == "ok":
        return reply[1]
    raise InvocationError(reply[1], reply[2])


class WorkerPool:
    """`size` worker processes serving one model version. Creating it loads the model (BadRequest
    when it cannot load); `predictor` says what the model takes and predicts through the pool."""

    _names = itertools.count(1)

    def __init__(self, name: str, version: Version, size: int, timeout: float) -> None:
        self.name = name
        self.version = version
        self.timeout = timeout
        self.jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.size = 0
        self.replaced = 0  # processes killed (timeout) or dead (crash) and started again
        self.busy_seconds = 0.0
        self._workers: set[_Worker] = set()
        self._lock = threading.Lock()
        # Loaded in parallel, all before the fleet takes traffic; at least one, to learn the model.
        procs = [_Process(version) for _ in range(max(size, 1))]
        try:
            names, width = procs[0].ready(version)
            for proc in procs[1:]:
                proc.ready(version)
        except BadRequest:
            for proc in procs:
                proc.kill()
            raise
        if size == 0:
            procs.pop().stop()
        self.predictor = Predictor(version, names, width, self.call)
        with self._lock:
            for proc in procs:
                self._spawn(proc)
            self.size = size

    async def run(self, instances: list[Any], timeout: float) -> dict[str, Any]:
        """The model's answer to `instances`; InvocationError, or TimeoutError after `timeout` seconds
        (the worker's process is then killed and replaced)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[tuple[Any, ...]] = loop.create_future()

        def settle(reply: tuple[Any, ...]) -> None:
            with contextlib.suppress(RuntimeError):  # the event loop is gone: the server is shutting down
                loop.call_soon_threadsafe(_settle, future, reply)

        job = _Job(instances, settle, future.done)
        # A timer on the future itself: cheaper than asyncio.wait_for, which wraps it in a task.
        timer = loop.call_later(timeout, _expire, future)
        self.jobs.put(job)
        try:
            return _unwrap(await future)
        except TimeoutError:
            if job.worker is not None:
                job.worker.kill_for(job)
            raise
        finally:
            timer.cancel()

    def call(self, instances: list[Any]) -> dict[str, Any]:
        """`run` for a thread outside the event loop (rollout warm-ups, monitors): a timeout is a 504."""
        future: concurrent.futures.Future[tuple[Any, ...]] = concurrent.futures.Future()

        def settle(reply: tuple[Any, ...]) -> None:
            with contextlib.suppress(concurrent.futures.InvalidStateError):
                future.set_result(reply)

        job = _Job(instances, settle, future.done)
        self.jobs.put(job)
        try:
            return _unwrap(future.result(self.timeout))
        except concurrent.futures.TimeoutError:
            future.cancel()
            if job.worker is not None:
                job.worker.kill_for(job)
            raise InvocationError(504, f"the model did not answer within {self.timeout:g}s") from None

    def _spawn(self, proc: _Process | None = None) -> None:
        worker = _Worker(self, proc)
        self._workers.add(worker)
        worker.start(f"{self.name}-{next(self._names)}")

    def forget(self, worker: _Worker) -> None:
        with self._lock:
            self._workers.discard(worker)

    def add_busy(self, seconds: float) -> None:
        with self._lock:
            self.busy_seconds += seconds

    def resize(self, size: int) -> None:
        """Start or stop workers; a new one loads the model on its own thread before taking requests."""
        with self._lock:
            for _ in range(size - self.size):
                self._spawn()
            for _ in range(self.size - size):
                self.jobs.put(_STOP)
            self.size = size

    def close(self) -> None:
        """Stop every worker once its call in progress (if any) is answered or times out."""
        with self._lock:
            workers = list(self._workers)
            self.size = 0
        for worker in workers:
            worker.retire = True
            self.jobs.put(_STOP)
