"""A fleet's instances as worker processes: the user's model is loaded and run there, never in the server.

A model is code the user supplied: unpickling a joblib artifact runs whatever the file says, a
custom entrypoint is a module imported, and a predict may take seconds, hang or kill its process.
So each instance of a variant is a process (multiprocessing's forkserver: a fork of a small server
that has already imported numpy, pandas and scikit-learn, so a worker starts in milliseconds, not
by a fresh interpreter's import). It loads the model once, checking the artifact's digest first
(`predictors.load`), then answers predictions over a pipe: the server sends the parsed instances
of one or more requests, the worker sends back each one's fields or an error with its HTTP status.

On the server side each process has a thread that waits on its pipe (so the event loop never
blocks on a model). The event loop hands a request to the pool and awaits it under the invocation
timeout. A worker takes every request queued when it comes free (scikit-learn models; a custom
entrypoint takes one at a time): one round trip and one predict for all of them, each request's
rows checked alone and its answer its own (`Model.answer_all`). Under load that is most of the
cost of a small request saved, and the answers of a batch reach the event loop in one wake-up.
A call that outlives its timeout has its process killed and replaced (the model loaded again): no
stuck thread, no lost capacity once the new process is up; requests predicted in the same call
answer 504 too. A process that dies while predicting (a crash, `os._exit`) answers a 500 saying
so, and is replaced the same way.
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
# Rows a worker takes in one call when requests are queued: enough to amortise a small request's
# cost, few enough that one call stays short next to the invocation timeout.
MAX_BATCH_ROWS = 1024
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
    conn.send(("ready", model.feature_names, model.width, model.batches))
    while True:
        try:
            requests = conn.recv()  # a batch: one or more requests' instances
        except EOFError:  # the server closed the pipe or exited
            return
        try:
            replies = [_reply(answer) for answer in model.answer_all(requests)]
        except BaseException as exc:
            replies = [("error", 500, f"the model raised {type(exc).__name__}: {exc}")] * len(requests)
        try:
            conn.send(replies)
        except Exception as exc:  # an answer that cannot be pickled
            conn.send([("error", 500, f"the model's answer cannot be sent: {type(exc).__name__}: {exc}")] * len(requests))


def _reply(answer: dict[str, Any] | InvocationError) -> tuple[Any, ...]:
    if isinstance(answer, InvocationError):
        return ("error", answer.status, str(answer))
    return ("ok", answer)


# --- the server side ------------------------------------------------------------------------------


@dataclass(eq=False)
class _Job:
    instances: list[Any]
    future: Any  # an asyncio future of `loop`, or a concurrent one (loop None) a thread waits on
    loop: asyncio.AbstractEventLoop | None
    worker: _Worker | None = None

    def done(self) -> bool:
        return self.future.done()


class _Process:
    """One worker process and the server's end of its pipe."""

    def __init__(self, version: Version) -> None:
        ctx = context()
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_serve, args=(child, version), daemon=True)
        self.process.start()
        child.close()  # so the server's end reads EOF when the process dies

    def ready(self, version: Version) -> tuple[list[str], int, bool]:
        """Wait for the model to load: its feature names, width and whether it predicts several
        requests in one call; or BadRequest saying why not."""
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
        return reply[1], reply[2], reply[3]

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
    batch: list[_Job] = field(default_factory=list)  # the jobs its process is predicting
    killed: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self, name: str) -> None:
        threading.Thread(target=self._loop, name=name, daemon=True).start()

    def _loop(self) -> None:
        stop = False
        while not (self.retire or stop):
            if self.proc is None and not self._replace():
                continue
            batch, stop = self._take()
            if batch:
                self._predict(batch)
        if self.proc is not None:
            self.proc.stop()
        self.pool.forget(self)

    def _take(self) -> tuple[list[_Job], bool]:
        """The next job and, for a model that predicts several requests in one call, every job queued
        behind it (up to MAX_BATCH_ROWS rows): under load one round trip and one call answer them all.
        Also whether a stop was taken."""
        jobs = self.pool.jobs
        first = jobs.get()
        if first is _STOP:
            return [], True
        batch = [] if first.done() else [first]  # done: timed out while it waited in the queue
        rows = len(first.instances)
        while self.pool.batches and rows < MAX_BATCH_ROWS:
            try:
                job = jobs.get_nowait()
            except queue.Empty:
                break
            if job is _STOP:
                return batch, True
            if not job.done():
                batch.append(job)
                rows += len(job.instances)
        return batch, False

    def _predict(self, batch: list[_Job]) -> None:
        with self.lock:
            self.batch = batch
            for job in batch:
                job.worker = self
        began = time.perf_counter()
        replies = self._call([job.instances for job in batch])
        self.pool.add_busy(time.perf_counter() - began)
        with self.lock:
            self.batch = []
            killed, self.killed = self.killed, False
        if killed or replies is None:
            ended = self._drop()
            if replies is None and killed:
                # The timed-out job has its answer already; the others shared its call.
                message = "the model did not answer in time: a request predicted with this one timed out"
                replies = [("error", 504, f"{message}, and the worker process was replaced")] * len(batch)
            elif replies is None:
                message = f"the model's worker process exited while predicting ({ended}); a new one is starting"
                replies = [("error", 500, message)] * len(batch)
        if len(replies) != len(batch):
            replies = [("error", 500, f"the worker answered {len(replies)} of {len(batch)} requests")] * len(batch)
        _deliver(batch, replies)

    def _call(self, requests: list[list[Any]]) -> list[tuple[Any, ...]] | None:
        assert self.proc is not None
        try:
            self.proc.conn.send(requests)
            replies: list[tuple[Any, ...]] = self.proc.conn.recv()
        except (EOFError, OSError):
            return None
        return replies

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
            if job not in self.batch or self.proc is None:
                return
            self.killed = True
            with contextlib.suppress(ValueError):
                self.proc.process.kill()


def _loaded(version: Version, count: int) -> tuple[list[_Process], tuple[list[str], int, bool]]:
    """`count` processes with the model loaded (in parallel) and what the model takes; BadRequest
    (and none left running) when it cannot load."""
    procs = [_Process(version) for _ in range(count)]
    try:
        described = procs[0].ready(version)
        for proc in procs[1:]:
            proc.ready(version)
    except BadRequest:
        for proc in procs:
            proc.kill()
        raise
    return procs, described


def _exit_text(code: int | None) -> str:
    if code is not None and code < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-code).name}"
    return f"exit code {code}"


def _deliver(batch: list[_Job], replies: list[tuple[Any, ...]]) -> None:
    """Each job its reply: one wake-up per event loop for the whole batch, not one per job."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], tuple[Any, ...]]]] = {}
    for job, reply in zip(batch, replies, strict=True):
        if job.loop is None:
            with contextlib.suppress(concurrent.futures.InvalidStateError):  # cancelled: it timed out
                job.future.set_result(reply)
        else:
            by_loop.setdefault(job.loop, []).append((job.future, reply))
    for loop, settled in by_loop.items():
        with contextlib.suppress(RuntimeError):  # the event loop is gone: the server is shutting down
            loop.call_soon_threadsafe(_settle, settled)


def _settle(settled: list[tuple[asyncio.Future[Any], tuple[Any, ...]]]) -> None:
    for future, reply in settled:
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
        self.batches = False  # whether the model predicts several requests in one call (scikit-learn)
        self.replaced = 0  # processes killed (timeout) or dead (crash) and started again
        self.busy_seconds = 0.0
        self._workers: set[_Worker] = set()
        self._lock = threading.Lock()
        # All loaded before the fleet takes traffic; at least one, to learn the model.
        procs, (names, width, self.batches) = _loaded(version, max(size, 1))
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
        job = _Job(instances, future, loop)
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
        job = _Job(instances, future, None)
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

    def wake(self, size: int) -> None:
        """Start `size` workers (a pool scaled to zero) and wait for their model to load, so the request
        that woke the pool is not timed out by the load; BadRequest when the model cannot load."""
        procs, _ = _loaded(self.version, size)
        with self._lock:
            for proc in procs:
                self._spawn(proc)
            self.size += size

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
