"""Cron schedules inside the emulator: pipeline runs and feature view syncs (croniter, UTC).

Like cron, a schedule missed while the emulator was down is not made up; the next one runs."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from croniter import croniter

log = logging.getLogger("mlstack.emulator")
IDLE_WAKE = 30.0


@dataclass
class Job:
    key: str
    cron: str
    action: Callable[[], object]
    due: float


def next_time(cron: str, after: float) -> float:
    return croniter(cron, datetime.fromtimestamp(after, UTC)).get_next(float)


class Scheduler:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def set(self, key: str, cron: str, action: Callable[[], object]) -> None:
        """Add or replace a job; an unchanged cron keeps its next due time."""
        with self._lock:
            job = self._jobs.get(key)
            due = job.due if job and job.cron == cron else next_time(cron, self.clock())
            self._jobs[key] = Job(key, cron, action, due)
        self._wake.set()

    def remove(self, key: str) -> None:
        with self._lock:
            self._jobs.pop(key, None)

    def jobs(self) -> dict[str, float]:
        with self._lock:
            return {key: job.due for key, job in self._jobs.items()}

    def tick(self) -> list[str]:
        """Run every job that is due and schedule its next time; the keys that ran."""
        now = self.clock()
        with self._lock:
            due = [job for job in self._jobs.values() if job.due <= now]
            for job in due:
                job.due = next_time(job.cron, now)
        for job in due:
            try:
                job.action()
            except Exception:
                log.exception("scheduled job %s failed to start", job.key)
        return [job.key for job in due]

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="scheduler", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.tick()
            with self._lock:
                soonest = min((job.due for job in self._jobs.values()), default=self.clock() + IDLE_WAKE)
            self._wake.wait(timeout=max(0.0, min(IDLE_WAKE, soonest - self.clock())))
            self._wake.clear()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
