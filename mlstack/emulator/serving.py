"""Endpoints: registry model versions served over HTTP, one or more fleets each.

An endpoint's `Routing` says which fleets answer (production, by weight) and which one is mirrored
(shadow). Rollouts (`rollout.py`) swap routings; this module loads models into fleets and answers
requests. Every fleet is loaded before it takes traffic, so a model that fails to load leaves the
old routing in place.

An invocation: choose a production fleet, parse the body, predict, record the answer in the fleet's
window, capture it if sampled, and mirror it to the shadow fleet in the background if sampled (in
the event loop's next turn, after the answer is written, batched with the others mirrored
meanwhile). The answer names the variant (`X-Mlstack-Variant`) and carries a correlation id
(`X-Mlstack-Correlation-Id`, the caller's when it sends one) that ground truth joins on.

Where the prediction runs: always in the fleet's worker processes under the invocation timeout, never
in the server (`workers.py`). A model is code the user supplied (a custom entrypoint, a pickle that
runs code on load, an estimator whose predict may take seconds): run in the loop, one slow prediction
froze every other request, `/v1/health` included.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlstack.emulator import predictors
from mlstack.emulator.capture import CaptureFlusher, CaptureWriter
from mlstack.emulator.capture import recover as recover_captures
from mlstack.emulator.errors import BadRequest, NotFound
from mlstack.emulator.predictors import InvocationError, Predictor
from mlstack.emulator.registry import Version
from mlstack.emulator.traffic import Fleet, Routing
from mlstack.emulator.workers import WorkerPool

VARIANT_HEADER = "x-mlstack-variant"
CORRELATION_HEADER = "x-mlstack-correlation-id"
CAPTURED_HEADER = "x-mlstack-captured"
COLD_START_HEADER = "x-mlstack-cold-start"
# SageMaker's limit for a real-time invocation; MLSTACK_INVOCATION_TIMEOUT (seconds) overrides it.
DEFAULT_TIMEOUT = 60.0
# Correlation ids: random per process, then a counter (unique, and far cheaper than uuid4 per request).
_ID_PREFIX = uuid.uuid4().hex[:16]
_ids = itertools.count(1)


def invocation_timeout() -> float:
    value = os.environ.get("MLSTACK_INVOCATION_TIMEOUT")
    try:
        return float(value) if value else DEFAULT_TIMEOUT
    except ValueError:
        return DEFAULT_TIMEOUT


def example_request(predictor: Predictor) -> dict[str, Any]:
    """A request body the model accepts: the first row of its training data when the registry
    knows it, zeros otherwise; named features when the model was fitted on named columns."""
    version, names, width = predictor.version, predictor.feature_names, predictor.width
    row: list[Any] = [0.0] * width
    data = version.lineage.get("data_uri")
    if names and data and Path(data).is_file():
        import duckdb

        from mlstack.emulator.features.offline import quote, source_sql

        try:
            with duckdb.connect() as conn:  # not duckdb.sql's connection, which every thread shares
                columns = ", ".join(quote(n) for n in names)
                first = conn.sql(f"SELECT {columns} FROM {source_sql(Path(data))} LIMIT 1").fetchall()
            row = list(next(iter(first), row))
        except duckdb.Error:
            pass  # the zeros still make a valid request
    return {"instances": [dict(zip(names, row, strict=True)) if names else row]}


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    variant: str
    correlation_id: str
    captured: bool
    cold_start: bool = False


def _answer_bytes(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


class EndpointRuntime:
    def __init__(self, name: str, routing: Routing, capture: CaptureWriter | None, timeout: float) -> None:
        self.name = name
        self.routing = routing
        self.capture = capture
        self.timeout = timeout
        self._mirrors: set[asyncio.Task[None]] = set()
        self._mirror_queue: list[tuple[Fleet, list[Any], str, bytes, float]] = []
        # Serverless endpoints scale to zero: after `idle_timeout` seconds without a request their workers
        # stop and the model is dropped; the next request reloads it from its artifact (a cold start).
        self.idle_timeout: float | None = None
        self.parked: dict[str, int] = {}  # fleet name -> its instances, while scaled to zero
        self.cold_starts = 0
        self._last_request = time.monotonic()
        self._idle_check: asyncio.TimerHandle | None = None

    def _park_if_idle(self) -> None:
        self._idle_check = None
        if self.idle_timeout is None or self.parked:
            return
        idle = time.monotonic() - self._last_request
        if idle < self.idle_timeout:
            self._idle_check = asyncio.get_running_loop().call_later(self.idle_timeout - idle, self._park_if_idle)
            return
        for fleet in self.routing.fleets():
            self.parked[fleet.name] = fleet.pool.size
            fleet.pool.resize(0)

    async def _wake(self) -> bool:
        """Restart parked fleets' workers, their models loaded there (a thread waits for them, not the
        event loop); True when this was a cold start. BadRequest when a model cannot load: the fleets
        not woken stay parked, for the next request to try again."""
        if not self.parked:
            return False
        parked, self.parked = self.parked, {}
        fleets = self.routing.fleets()
        for index, fleet in enumerate(fleets):
            try:
                await asyncio.to_thread(fleet.pool.wake, parked.get(fleet.name, 1) or 1)
            except BadRequest:
                self.parked = {f.name: parked.get(f.name, 1) for f in fleets[index:]}
                raise
        self.cold_starts += 1
        return True

    def _watch_idle(self) -> None:
        self._last_request = time.monotonic()
        if self.idle_timeout is not None and self._idle_check is None:
            self._idle_check = asyncio.get_running_loop().call_later(self.idle_timeout, self._park_if_idle)

    async def invoke(self, body: bytes, correlation_id: str | None = None) -> Answer:
        cid = correlation_id or f"{_ID_PREFIX}{next(_ids):016x}"
        try:
            cold = await self._wake() if self.idle_timeout is not None else False
        except BadRequest as exc:
            fleet = self.routing.choose()
            payload = {"error": f"a cold start failed: {exc}", "variant": fleet.name, "correlation_id": cid}
            return Answer(503, _answer_bytes(payload), fleet.name, cid, False, True)
        self._watch_idle()
        started = time.perf_counter()
        routing = self.routing
        fleet = routing.choose()
        instances = None
        try:
            instances = predictors.parse_instances(body)
            result = await fleet.pool.run(instances, self.timeout)
            status = 200
            payload = {**result, "model": fleet.version.ref, "variant": fleet.name, "correlation_id": cid}
        except InvocationError as exc:
            status, payload = exc.status, {"error": str(exc), "variant": fleet.name, "correlation_id": cid}
        except TimeoutError:
            status = 504
            payload = {
                "error": f"the model did not answer within {self.timeout:g}s (MLSTACK_INVOCATION_TIMEOUT)",
                "variant": fleet.name,
                "correlation_id": cid,
            }
        latency_ms = (time.perf_counter() - started) * 1000
        fleet.window.record(status, latency_ms)
        data = _answer_bytes(payload)
        durable = self._capture(fleet, cid, latency_ms, status, body, data, acknowledge=True)
        # Said only once the record is on disk (group commit with the answers around it).
        captured = bool(durable is not None and await durable)
        if instances is not None and routing.mirrors():
            assert routing.shadow is not None
            if not self._mirror_queue:
                asyncio.get_running_loop().call_soon(self._mirror_queued)
            self._mirror_queue.append((routing.shadow, instances, cid, body, time.perf_counter()))
        if self.idle_timeout is not None:
            self._last_request = time.monotonic()
        return Answer(status, data, fleet.name, cid, captured, cold)

    def _mirror_queued(self) -> None:
        """The requests mirrored since the loop's last turn, after their answers were written, as one
        prediction on the shadow's workers (the shadow would otherwise double the model's cost per
        request, the largest part of it for a small model)."""
        queue, self._mirror_queue = self._mirror_queue, []
        task = asyncio.get_running_loop().create_task(self._mirror_batch(queue))
        self._mirrors.add(task)  # a reference, so the task is not collected mid-flight
        task.add_done_callback(self._mirrors.discard)

    async def _mirror_batch(self, queue: list[tuple[Fleet, list[Any], str, bytes, float]]) -> None:
        for shadow in dict.fromkeys(item[0] for item in queue):  # one, unless a rollout swapped it
            items = [item[1:] for item in queue if item[0] is shadow]
            if len(items) == 1:
                await self._mirror(shadow, *items[0])
                continue
            rows = [row for instances, *_ in items for row in instances]
            try:
                result = await shadow.pool.run(rows, self.timeout)
            except (InvocationError, TimeoutError):
                result = {}  # one bad request spoils a batch: each is predicted alone below
            if not result or any(not isinstance(v, list) or len(v) != len(rows) for v in result.values()):
                for instances, cid, body, started in items:
                    await self._mirror(shadow, instances, cid, body, started)
                continue
            first = 0
            for instances, cid, body, started in items:
                last = first + len(instances)
                mine = {key: values[first:last] for key, values in result.items()}
                answer = {**mine, "model": shadow.version.ref, "variant": shadow.name}
                self._mirrored(shadow, cid, body, started, 200, answer)
                first = last

    async def _mirror(self, shadow: Fleet, instances: list[Any], cid: str, body: bytes, started: float) -> None:
        """The shadow's answer to a copy of the request: recorded and captured, never returned."""
        try:
            result = await shadow.pool.run(instances, self.timeout)
            status, payload = 200, {**result, "model": shadow.version.ref, "variant": shadow.name}
        except InvocationError as exc:
            status, payload = exc.status, {"error": str(exc), "variant": shadow.name}
        except TimeoutError:
            status, payload = 504, {"error": f"no answer within {self.timeout:g}s", "variant": shadow.name}
        self._mirrored(shadow, cid, body, started, status, payload)

    def _mirrored(
        self, shadow: Fleet, cid: str, body: bytes, started: float, status: int, payload: dict[str, Any]
    ) -> None:
        latency_ms = (time.perf_counter() - started) * 1000
        shadow.window.record(status, latency_ms)
        if self.capture is not None:
            self._capture(shadow, cid, latency_ms, status, body, _answer_bytes(payload))

    def _capture(
        self,
        fleet: Fleet,
        cid: str,
        latency_ms: float,
        status: int,
        body: bytes,
        answer: bytes,
        acknowledge: bool = False,
    ) -> asyncio.Future[bool] | None:
        capture = self.capture
        if capture is None or not capture.sampled():
            return None
        return capture.record(
            acknowledge=acknowledge,
            correlation_id=cid,
            variant=fleet.name,
            role=fleet.role,
            model=fleet.version.ref,
            latency_ms=latency_ms,
            status=status,
            request=body.decode("utf-8", "replace"),
            response=answer.decode(),
        )

    def describe(self) -> dict[str, Any]:
        described: dict[str, Any] = {"name": self.name, "variants": self.routing.describe()}
        if self.idle_timeout is not None:
            described["serverless"] = {
                "scaled_to_zero": bool(self.parked),
                "idle_timeout": self.idle_timeout,
                "cold_starts": self.cold_starts,
            }
        return described


class Serving:
    def __init__(self, captures: Path) -> None:
        self.captures = captures
        self.timeout = invocation_timeout()
        self._endpoints: dict[str, EndpointRuntime] = {}
        self._lock = threading.Lock()
        recover_captures(captures)  # what a crash left in the logs, written out before anything reads it
        self.flusher = CaptureFlusher()

    def fleet(
        self, name: str, role: str, version: Version, instances: int, compute: dict[str, Any] | None = None
    ) -> Fleet:
        """A new fleet: `instances` worker processes started, each with the model loaded (BadRequest
        when it cannot load)."""
        pool = WorkerPool(name, version, instances, self.timeout)
        return Fleet(name, role, pool.predictor, pool, compute)

    def route(
        self, name: str, routing: Routing, capture_percent: int, idle_timeout: float | None = None
    ) -> EndpointRuntime:
        """Serve `routing` at the endpoint now (creating it, or swapping its routing in one step)."""
        capture = None
        if capture_percent > 0:
            capture = self.flusher.writers.get(name) or CaptureWriter(self.captures, name, capture_percent)
            capture.percent = capture_percent
            self.flusher.add(capture)
        with self._lock:
            runtime = self._endpoints.get(name)
            if runtime is None:
                runtime = self._endpoints[name] = EndpointRuntime(name, routing, capture, self.timeout)
            else:
                runtime.routing, runtime.capture = routing, capture
            runtime.idle_timeout = idle_timeout
        return runtime

    def remove(self, name: str) -> None:
        with self._lock:
            runtime = self._endpoints.pop(name, None)
        if runtime is not None:
            for fleet in runtime.routing.fleets():
                fleet.pool.close()
        writer = self.flusher.writers.pop(name, None)
        if writer is not None:
            writer.flush()

    def get(self, name: str) -> EndpointRuntime:
        runtime = self._endpoints.get(name)
        if runtime is None:
            raise NotFound(f"no endpoint '{name}' is serving")
        return runtime

    def serving(self, name: str) -> EndpointRuntime | None:
        return self._endpoints.get(name)

    def close(self) -> None:
        with self._lock:
            runtimes = list(self._endpoints.values())
        for runtime in runtimes:
            for fleet in runtime.routing.fleets():
                fleet.pool.close()
        self.flusher.close()
