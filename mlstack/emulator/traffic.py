"""What an endpoint routes between: fleets (a variant's model on its workers) and their recent answers.

Every answer a fleet gives is recorded in its `Window`: the rollback alarms (5xx share and p99
latency over the alarm window), autoscaling and `mlstack status` read it. Requests the endpoint
refused as malformed (4xx) are counted too, as requests but not as errors, the way SageMaker's
`Invocation5XXErrors` alarms see them.
"""

from __future__ import annotations

import bisect
import itertools
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from mlstack.emulator.predictors import Predictor
from mlstack.emulator.registry import Version
from mlstack.emulator.workers import WorkerPool

# Answers kept per fleet (the newest): an hour at 55 requests a second, enough for any alarm window
# at the rates one machine serves; above that a long window is judged on its latest answers.
WINDOW_CAPACITY = 200_000


@dataclass(frozen=True)
class WindowStats:
    seconds: float
    requests: int
    errors: int  # 5xx
    client_errors: int  # 4xx
    p99_ms: float | None

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "seconds": self.seconds,
            "requests": self.requests,
            "errors": self.errors,
            "client_errors": self.client_errors,
            "error_rate": self.error_rate,
            "p99_ms": self.p99_ms,
        }


class Window:
    """Time, status and latency of recent answers in ring buffers: appended from the event loop, read
    from any thread. Preallocated arrays, so recording an answer keeps no new object alive (a deque of
    tuples grew the heap the garbage collector walks, and its pauses showed in the p99)."""

    def __init__(self, capacity: int = WINDOW_CAPACITY) -> None:
        import numpy as np

        self._times = np.zeros(capacity)
        self._statuses = np.zeros(capacity, dtype=np.int16)
        self._latencies = np.zeros(capacity)
        self._count = 0  # answers ever recorded; the next goes to _count % capacity
        self.totals = {"requests": 0, "errors": 0, "client_errors": 0}
        self._lock = threading.Lock()

    def record(self, status: int, latency_ms: float) -> None:
        with self._lock:
            slot = self._count % self._times.size
            self._times[slot] = time.time()
            self._statuses[slot] = status
            self._latencies[slot] = latency_ms
            self._count += 1
            self.totals["requests"] += 1
            if status >= 400:
                self.totals["errors" if status >= 500 else "client_errors"] += 1

    def stats(self, seconds: float) -> WindowStats:
        import numpy as np

        with self._lock:
            filled = min(self._count, self._times.size)
            times = self._times[:filled].copy()
            statuses = self._statuses[:filled].copy()
            latencies = self._latencies[:filled].copy()
        recent = times >= time.time() - seconds
        statuses, latencies = statuses[recent], latencies[recent]
        return WindowStats(
            seconds=seconds,
            requests=int(recent.sum()),
            errors=int(np.count_nonzero(statuses >= 500)),
            client_errors=int(np.count_nonzero((statuses >= 400) & (statuses < 500))),
            p99_ms=float(np.percentile(latencies, 99)) if latencies.size else None,
        )


@dataclass(eq=False)
class Fleet:
    """One variant's model on its workers. `name` is what answers in the variant header."""

    name: str
    role: str  # production | shadow
    predictor: Predictor
    pool: WorkerPool
    compute: dict[str, Any] | None = None
    window: Window = field(default_factory=Window)

    @property
    def version(self) -> Version:
        return self.predictor.version

    def same_model(self, version: Version, compute: dict[str, Any] | None) -> bool:
        mine = self.version
        return (mine.group, mine.version, mine.created_at) == (version.group, version.version, version.created_at) and (
            self.compute == compute
        )

    def describe(self, weight: int) -> dict[str, Any]:
        return {
            "variant": self.name,
            "role": self.role,
            "group": self.version.group,
            "version": self.version.version,
            "created_at": self.version.created_at,
            "weight": weight,
            "instances": self.pool.size,
            "replaced_workers": self.pool.replaced,
            "totals": dict(self.window.totals),
        }


@dataclass(frozen=True)
class Routing:
    """Who answers: production fleets by weight; a shadow fleet mirrors `shadow_percent` of requests.
    Immutable: a change of traffic is a new Routing swapped in whole."""

    production: tuple[Fleet, ...]
    weights: tuple[int, ...]
    shadow: Fleet | None = None
    shadow_percent: float = 0.0
    _live: tuple[Fleet, ...] = field(init=False, repr=False)
    _cumulative: tuple[float, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        live = [(f, w) for f, w in zip(self.production, self.weights, strict=True) if w > 0]
        if not live:
            raise ValueError("a routing needs a production fleet with traffic")
        object.__setattr__(self, "_cumulative", tuple(itertools.accumulate(w for _, w in live)))
        object.__setattr__(self, "_live", tuple(f for f, _ in live))

    def choose(self) -> Fleet:
        live = self._live
        if len(live) == 1:
            return live[0]
        cumulative = self._cumulative
        return live[bisect.bisect_right(cumulative, random.random() * cumulative[-1])]

    def mirrors(self) -> bool:
        return self.shadow is not None and random.random() * 100 < self.shadow_percent

    def fleets(self) -> list[Fleet]:
        return [*self.production, *([self.shadow] if self.shadow else [])]

    def describe(self) -> list[dict[str, Any]]:
        described = [f.describe(w) for f, w in zip(self.production, self.weights, strict=True)]
        if self.shadow is not None:
            described.append({**self.shadow.describe(0), "mirrored_percent": self.shadow_percent})
        return described
