"""Autoscaling, simulated: a production fleet's instance count (its worker threads, `workers.py`)
follows the endpoint's `autoscaling` policy, checked every `TICK` seconds.

* `invocations_per_instance`: as SageMaker's target tracking on InvocationsPerInstance, the
  answers of the last minute divided by `target`, rounded up;
* `cpu_utilization`: the share of time the workers spent predicting since the last check, scaled
  so that share would meet `target` percent;
* `gpu_utilization`: not simulated (there is no GPU); the fleet keeps its count and says so.

The count stays within min..max (and at least one worker, so the endpoint still answers when the
policy allows zero); `scale_out_cooldown` / `scale_in_cooldown` pass between changes in each
direction. Instances are threads of one process sharing its cores, so scaling out adds concurrency
(a slow model answers more requests at once), not compute. Decisions appear in
`GET /v1/endpoints/{name}/traffic` under `autoscaling`.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from typing import TYPE_CHECKING, Any

from mlstack.emulator.rollout import seconds

if TYPE_CHECKING:
    from mlstack.emulator.core import Emulator
    from mlstack.emulator.traffic import Fleet

log = logging.getLogger("mlstack.emulator")
TICK = 1.0
METRIC_SECONDS = 60.0
EVENTS_KEPT = 50


def wanted(policy: dict[str, Any], fleet: Fleet, busy_share: float) -> tuple[int | None, str]:
    """The instance count the policy asks for, and why (None: the metric is not simulated)."""
    current = fleet.pool.size
    metric, target = policy["metric"], policy["target"]
    if metric == "invocations_per_instance":
        count = fleet.window.stats(METRIC_SECONDS).requests
        desired = math.ceil(count / target)
        reason = f"{count} invocations in the last minute, target {target:g} per instance"
    elif metric == "cpu_utilization":
        utilisation = busy_share * 100
        desired = math.ceil(current * utilisation / target)
        reason = f"workers busy {utilisation:.0f}% of the time, target {target:g}%"
    else:
        return None, f"{metric} is not simulated locally (no GPU): {current} instance(s) kept"
    return max(1, policy["min"], min(policy["max"], desired)), reason


class Autoscaler:
    def __init__(self, core: Emulator) -> None:
        self.core = core
        self.events: dict[str, deque[dict[str, Any]]] = {}
        self._last: dict[tuple[str, int], tuple[float, float]] = {}  # (endpoint, pool) -> busy seconds, time
        self._changed: dict[tuple[str, int], float] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="autoscaler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.wait(TICK):
            try:
                self.tick()
            except Exception:
                log.exception("autoscaling check failed")

    def tick(self) -> None:
        for row in self.core.resources("endpoint"):
            policy = row["config"].get("autoscaling")
            runtime = self.core.serving.serving(row["name"])
            if not policy or runtime is None:
                continue
            for fleet in runtime.routing.production:
                self._scale(row["name"], fleet, policy)

    def _scale(self, endpoint: str, fleet: Fleet, policy: dict[str, Any]) -> None:
        key = (endpoint, id(fleet.pool))
        now = time.monotonic()
        busy, then = self._last.get(key, (fleet.pool.busy_seconds, now - TICK))
        self._last[key] = (fleet.pool.busy_seconds, now)
        elapsed = max(now - then, 1e-6)
        share = min(1.0, (fleet.pool.busy_seconds - busy) / (elapsed * max(fleet.pool.size, 1)))
        desired, reason = wanted(policy, fleet, share)
        current = fleet.pool.size
        if desired is None or desired == current:
            return
        cooldown = seconds(policy["scale_out_cooldown"] if desired > current else policy["scale_in_cooldown"])
        if now - self._changed.get(key, -math.inf) < cooldown:
            return
        self._changed[key] = now
        fleet.pool.resize(desired)
        event = {"at": time.time(), "variant": fleet.name, "from": current, "to": desired, "reason": reason}
        self.events.setdefault(endpoint, deque(maxlen=EVENTS_KEPT)).append(event)
        log.info("endpoint %s: %s scaled %d -> %d (%s)", endpoint, fleet.name, current, desired, reason)

    def view(self, endpoint: str, policy: dict[str, Any] | None) -> dict[str, Any]:
        return {
            "policy": policy,
            "simulated": bool(policy) and policy.get("metric") != "gpu_utilization",
            "events": list(self.events.get(endpoint, ())),
        }
