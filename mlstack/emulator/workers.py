"""A fleet's instances, simulated as worker threads: how many requests a variant works on at once.

The HTTP server's event loop hands each prediction to the pool and awaits it with a timeout, so a
slow or hanging model never blocks other requests. A call that outlives its timeout keeps its thread
(Python cannot stop a thread), so the pool starts a replacement at once and the stuck thread retires
whenever its call returns: capacity stays at the instance count, and `stuck` says how many calls
never came back. Threads share one process and its cores, so scaling changes concurrency, not
compute.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

_STOP = object()


@dataclass(eq=False)
class _Job:
    fn: Callable[[Any], Any]
    arg: Any
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]
    worker: _Worker | None = None


@dataclass(eq=False)
class _Worker:
    pool: WorkerPool
    retire: bool = False
    busy_since: float | None = None
    thread: threading.Thread = field(init=False)

    def start(self, name: str) -> None:
        self.thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        jobs = self.pool.jobs
        while not self.retire:
            job = jobs.get()
            if job is _STOP:
                break
            if job.future.done():  # timed out while it waited in the queue
                continue
            job.worker = self
            self.busy_since = time.perf_counter()
            try:
                outcome: tuple[bool, Any] = (True, job.fn(job.arg))
            except BaseException as exc:
                outcome = (False, exc)
            self.pool.add_busy(time.perf_counter() - self.busy_since)
            self.busy_since = None
            job.worker = None
            with contextlib.suppress(RuntimeError):  # the event loop is gone: the server is shutting down
                job.loop.call_soon_threadsafe(_settle, job.future, outcome)
        self.pool.forget(self)


def _expire(future: asyncio.Future[Any]) -> None:
    if not future.done():
        future.set_exception(TimeoutError())


def _settle(future: asyncio.Future[Any], outcome: tuple[bool, Any]) -> None:
    if future.done():
        return
    ok, value = outcome
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)


class WorkerPool:
    _names = itertools.count(1)

    def __init__(self, name: str, size: int) -> None:
        self.name = name
        self.jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.size = 0
        self.stuck = 0
        self.busy_seconds = 0.0
        self._workers: set[_Worker] = set()
        self._lock = threading.Lock()
        self.resize(size)

    async def run(self, fn: Callable[[Any], Any], arg: Any, timeout: float) -> Any:
        """fn(arg) on a worker; TimeoutError after `timeout` seconds (the worker is then replaced)."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        job = _Job(fn, arg, loop, future)
        # A timer on the future itself: cheaper than asyncio.wait_for, which wraps it in a task.
        timer = loop.call_later(timeout, _expire, future)
        self.jobs.put(job)
        try:
            return await future
        except TimeoutError:
            worker = job.worker
            if worker is not None:
                self._replace(worker)
            raise
        finally:
            timer.cancel()

    def _replace(self, worker: _Worker) -> None:
        with self._lock:
            if worker.retire or worker not in self._workers:
                return
            worker.retire = True
            self._workers.discard(worker)
            self.stuck += 1
            self._spawn()

    def _spawn(self) -> None:
        worker = _Worker(self)
        self._workers.add(worker)
        worker.start(f"{self.name}-{next(self._names)}")

    def forget(self, worker: _Worker) -> None:
        with self._lock:
            if worker.retire and worker not in self._workers:
                self.stuck = max(0, self.stuck - 1)  # a stuck call came back at last
            self._workers.discard(worker)

    def add_busy(self, seconds: float) -> None:
        with self._lock:
            self.busy_seconds += seconds

    def resize(self, size: int) -> None:
        with self._lock:
            for _ in range(size - self.size):
                self._spawn()
            for _ in range(self.size - size):
                self.jobs.put(_STOP)
            self.size = size

    def close(self) -> None:
        self.resize(0)
