"""Deployments of an endpoint, and rollouts from one model (or compute) to the next, per its strategy.

What an update does, by `strategy.type` (the endpoint serves one production variant, `primary`):

* `all_at_once`: the new fleet takes all traffic at once. With `rollback` alarms the old fleet is
  kept for one alarm window and the alarms watched.
* `canary`: the new fleet takes `percent` for `bake_time`, then all traffic; the old fleet is kept
  for `termination_wait`.
* `linear`: `step_percent` more every `interval` until all traffic, then `termination_wait`.
* `blue_green`: the new fleet is warmed first (a request from the model's training data goes
  through it), then takes all traffic at once; the old fleet is kept for `termination_wait`.
* `ab` and `shadow`: changed variants are loaded and swapped in at once (weights and the mirrored
  share are the strategy itself); the shadow fleet gets a sampled copy of requests (serving.py).

During a rollout the incoming fleet answers as `green` (SageMaker's name for the new fleet of a
blue/green deployment, which canary and linear shifting also are) and becomes `primary` when the
rollout ends. Its answers are watched by the strategy's `rollback` alarms: the share of 5xx answers
and the p99 latency over the alarm window, once it has answered `MIN_REQUESTS`. An alarm sends all
traffic back to the old fleet at once; the endpoint is then `rolled_back` and the next `mlstack up`
tries again. The first deployment of an endpoint has nothing to shift from and is immediate.

The durations are whole seconds (`bake_time: 2s` works), so rollouts are testable as they are.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mlstack.emulator.errors import BadRequest, Conflict, NotFound
from mlstack.emulator.traffic import Fleet, Routing, Window
from mlstack.resolve.rollout import traffic_plan
from mlstack.spec.types import parse_duration

if TYPE_CHECKING:
    from mlstack.emulator.core import Emulator
    from mlstack.emulator.resources import Outcome, Target

log = logging.getLogger("mlstack.emulator")

SHIFTING = ("all_at_once", "blue_green", "canary", "linear")
PRIMARY = "primary"
GREEN = "green"
MIN_REQUESTS = 10  # answers a fleet gives before its alarms are judged
TICK = 0.2  # how often a rollout looks at the alarms
COMMIT_WAIT = 900.0  # how long a finished rollout waits for a running apply before recording itself


@dataclass(frozen=True)
class Step:
    percent: int  # the new fleet's share of traffic
    hold: float  # seconds before the next step
    label: str


def seconds(value: int | str) -> int:
    """A duration from a config: the spec's JSON form writes them as text ("90s", "10m")."""
    parsed = parse_duration(value)
    assert isinstance(parsed, int)  # validated when the spec was loaded
    return parsed


def steps_for(strategy: dict[str, Any]) -> list[Step]:
    """The strategy's traffic stages (mlstack.resolve.rollout), as the emulator holds them."""
    return [Step(stage.percent, stage.wait, stage.label) for stage in traffic_plan(strategy).stages]


def alarm(rollback: dict[str, Any] | None, window: Window) -> str | None:
    """Why the rollback alarms fire on this window's answers, or None."""
    if not rollback:
        return None
    span = seconds(rollback["window"])
    stats = window.stats(span)
    if stats.requests < MIN_REQUESTS:
        return None
    limit = rollback.get("max_error_rate")
    if limit is not None and stats.error_rate > limit:
        return (
            f"error rate {stats.error_rate:.1%} above {limit:.1%} "
            f"({stats.errors} of {stats.requests} answers were 5xx in the last {span}s)"
        )
    latency = rollback.get("max_p99_latency_ms")
    if latency is not None and stats.p99_ms is not None and stats.p99_ms > latency:
        return f"p99 latency {stats.p99_ms:.0f} ms above {latency:g} ms over the last {span}s"
    return None


def describe_serving(routing: Routing) -> list[dict[str, Any]]:
    """What the resource row records of a routing (what `resources.serving_of` reads back)."""
    out = []
    for fleet, weight in [*zip(routing.production, routing.weights, strict=True), (routing.shadow, None)]:
        if fleet is None:
            continue
        version = fleet.version
        out.append(
            {
                "variant": fleet.name,
                "role": fleet.role,
                "group": version.group,
                "version": version.version,
                "created_at": version.created_at,
                "weight": routing.shadow_percent if weight is None else weight,
                "compute": fleet.compute,
            }
        )
    return out


@dataclass(eq=False)
class Rollout:
    endpoint: str
    config: dict[str, Any]
    stable: Routing
    green: Fleet
    steps: list[Step]
    target: list[dict[str, Any]]  # the serving it moves to, as recorded
    previous: list[dict[str, Any]]  # the serving it moves from
    earlier: list[dict[str, Any]]  # what was recorded as previous before it started
    started_at: float = field(default_factory=time.time)
    step: str = "warming up"
    percent: int = 0
    cancelled: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def strategy(self) -> dict[str, Any]:
        return self.config["strategy"]

    def routing(self, percent: int) -> Routing:
        old = self.stable.production[0]
        fleets, weights = (old, self.green), (100 - percent, percent)
        if percent >= 100:
            fleets, weights = (self.green,), (100,)
        return Routing(fleets, weights, self.stable.shadow, self.stable.shadow_percent)

    def view(self) -> dict[str, Any]:
        return {
            "strategy": self.strategy["type"],
            "from": self.previous,
            "to": self.target,
            "step": self.step,
            "green_percent": self.percent,
            "started_at": self.started_at,
        }


class Rollouts:
    def __init__(self, core: Emulator) -> None:
        self.core = core
        self._active: dict[str, Rollout] = {}
        self._lock = threading.Lock()

    # --- deploying --------------------------------------------------------------------------------

    def deploy(self, name: str, config: dict[str, Any], targets: list[Target]) -> Outcome:
        """Serve what the targets name: at once, or by starting the strategy's rollout."""
        from mlstack.emulator.resources import Outcome

        serving = self.core.serving
        self.cancel(name)
        runtime = serving.serving(name)
        current = runtime.routing if runtime else None
        instances = initial_instances(config)
        compute = config.get("compute")
        reused: list[Fleet] = []
        production, weights = [], []
        for target in (t for t in targets if t.role == "production"):
            assert target.version is not None
            fleet = _matching(current.production if current else (), target.variant, target.version, compute)
            count = target.instances or instances
            if fleet is None:
                fleet = serving.fleet(target.variant, "production", target.version, count, compute)
            else:
                reused.append(fleet)
                if not config.get("autoscaling"):  # a changed instance_count; autoscaling owns it otherwise
                    fleet.pool.resize(count)
            production.append(fleet)
            weights.append(target.weight)
        shadow, percent = None, 0.0
        challenger = next((t for t in targets if t.role == "shadow"), None)
        if challenger is not None:
            assert challenger.version is not None
            old_shadow = (current.shadow,) if current and current.shadow else ()
            shadow = _matching(old_shadow, challenger.variant, challenger.version, compute)
            if shadow is None:
                count = challenger.instances or instances
                shadow = serving.fleet(challenger.variant, "shadow", challenger.version, count, compute)
            else:
                reused.append(shadow)
            percent = float(challenger.weight)
        routing = Routing(tuple(production), tuple(weights), shadow, percent)
        earlier = self.core.observed("endpoint", name).get("previous", [])
        changed = current is not None and any(f not in reused for f in production)
        previous = describe_serving(current) if changed and current else earlier
        strategy = config["strategy"]
        shifts = strategy["type"] in SHIFTING and not (
            strategy["type"] == "all_at_once" and not strategy.get("rollback")
        )
        if current is not None and changed and shifts and len(current.production) == 1:
            return self._start(name, config, current, routing, previous, earlier)
        serving.route(name, routing, config.get("capture_percent", 0), config.get("idle_timeout"))
        if current is not None:
            _close_unused(current, routing)
        return Outcome(
            message=", ".join(f"{f.name}: {f.version.ref}" for f in routing.fleets()),
            observed=self._observed(name, routing, previous),
        )

    def _observed(self, name: str, routing: Routing, previous: list[dict[str, Any]]) -> dict[str, Any]:
        from mlstack.emulator.serving import example_request

        first = routing.production[0]
        return {
            "serving": describe_serving(routing),
            "previous": previous,
            "url": self.core.endpoint_url(name),
            "example": example_request(first.predictor),
        }

    def _start(
        self,
        name: str,
        config: dict[str, Any],
        current: Routing,
        routing: Routing,
        previous: list[dict[str, Any]],
        earlier: list[dict[str, Any]],
    ) -> Outcome:
        from mlstack.emulator.resources import Outcome

        green = dataclasses.replace(routing.production[0], name=GREEN)
        final = Routing((dataclasses.replace(green, name=PRIMARY),), (100,), routing.shadow, routing.shadow_percent)
        rollout = Rollout(
            endpoint=name,
            config=config,
            stable=current,
            green=green,
            steps=steps_for(config["strategy"]),
            target=describe_serving(final),
            previous=previous,
            earlier=earlier,
        )
        with self._lock:
            self._active[name] = rollout
        threading.Thread(target=self._run, args=(rollout,), name=f"rollout-{name}", daemon=True).start()
        plan = ", then ".join(f"{s.label} for {s.hold:g}s" for s in rollout.steps)
        observed = {**self._observed(name, final, previous), "rollout": rollout.view()}
        old = current.production[0].version.ref
        return Outcome(
            status="updating",
            message=f"{config['strategy']['type']} from {old} to {green.version.ref}: {plan}",
            observed=observed,
        )

    # --- the rollout itself -----------------------------------------------------------------------

    def _run(self, rollout: Rollout) -> None:
        try:
            failure = self._warm(rollout)
            if failure:
                self._abort(rollout, f"the new fleet failed its warm-up request: {failure}")
                return
            rollback = rollout.strategy.get("rollback")
            for step in rollout.steps:
                with rollout.lock:
                    if rollout.cancelled.is_set():
                        return
                    rollout.step, rollout.percent = step.label, step.percent
                    self.core.serving.route(
                        rollout.endpoint, rollout.routing(step.percent), rollout.config.get("capture_percent", 0)
                    )
                deadline = time.monotonic() + step.hold
                while True:
                    reason = alarm(rollback, rollout.green.window)
                    if reason:
                        self._abort(rollout, reason)
                        return
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    if rollout.cancelled.wait(min(TICK, left)):
                        return
            self._finish(rollout)
        except Exception as exc:  # keep serving the old fleet whatever went wrong
            log.exception("rollout of %s failed", rollout.endpoint)
            self._abort(rollout, f"internal error: {type(exc).__name__}: {exc}")

    def _warm(self, rollout: Rollout) -> str | None:
        """Send one request through the new fleet before it takes traffic (blue/green's warm-up;
        every strategy does it, since a fleet that cannot answer should not get any)."""
        from mlstack.emulator.predictors import InvocationError
        from mlstack.emulator.serving import example_request

        predictor = rollout.green.predictor
        if predictor.version.framework != "sklearn":
            return None  # a custom model's input is unknown: loading it was the warm-up
        try:
            predictor.predict(example_request(predictor)["instances"])
        except InvocationError as exc:
            return str(exc)
        return None

    def _finish(self, rollout: Rollout) -> None:
        with rollout.lock:
            if rollout.cancelled.is_set():
                return
            final = Routing(
                (dataclasses.replace(rollout.green, name=PRIMARY),),
                (100,),
                rollout.stable.shadow,
                rollout.stable.shadow_percent,
            )
            self.core.serving.route(rollout.endpoint, final, rollout.config.get("capture_percent", 0), rollout.config.get("idle_timeout"))
            rollout.stable.production[0].pool.close()
            rollout.step, rollout.percent = "done", 100
        message = f"{rollout.strategy['type']} finished: {PRIMARY}: {rollout.green.version.ref}"
        self._commit(rollout, "ready", message, self._observed(rollout.endpoint, final, rollout.previous))

    def _abort(self, rollout: Rollout, reason: str) -> None:
        with rollout.lock:
            if rollout.cancelled.is_set():
                return
            rollout.cancelled.set()
            self._revert(rollout)
            rollout.step = "rolled back"
        old = rollout.stable.production[0].version.ref
        message = f"rolled back to {old}: {rollout.green.version.ref} {reason}"
        log.warning("endpoint %s %s", rollout.endpoint, message)
        observed = {
            **self._observed(rollout.endpoint, rollout.stable, rollout.earlier),
            "rollback": {"at": time.time(), "reason": reason, "from": rollout.target},
        }
        self._commit(rollout, "rolled_back", message, observed)
        self.core.audit.record(None, "rollback", f"endpoint {rollout.endpoint}", reason, {"from": rollout.target})

    def _revert(self, rollout: Rollout) -> None:
        self.core.serving.route(rollout.endpoint, rollout.stable, rollout.config.get("capture_percent", 0), rollout.config.get("idle_timeout"))
        rollout.green.pool.close()

    def _commit(self, rollout: Rollout, status: str, message: str, observed: dict[str, Any]) -> None:
        """Record the rollout's end in the resource row, after any apply that is writing it."""
        with self._recording():
            with self._lock:
                if self._active.get(rollout.endpoint) is not rollout:
                    return  # superseded by a newer deployment, which records itself
                del self._active[rollout.endpoint]
            self._write(rollout.endpoint, status, message, observed)

    @contextmanager
    def _recording(self) -> Iterator[None]:
        lock = self.core.operations.apply_lock
        if not lock.acquire(timeout=COMMIT_WAIT):
            raise Conflict("the emulator stayed busy with another change")
        try:
            with self.core.write_lock:
                yield
        finally:
            lock.release()

    def _write(self, name: str, status: str, message: str, observed: dict[str, Any]) -> None:
        try:
            config = self.core.resource("endpoint", name)["config"]
        except NotFound:
            return  # deleted meanwhile
        self.core.put_resource("endpoint", name, config, status, message, observed)

    # --- control ----------------------------------------------------------------------------------

    def cancel(self, name: str) -> Rollout | None:
        """Stop a running rollout of `name`: all traffic back to the fleet it started from."""
        with self._lock:
            rollout = self._active.pop(name, None)
        if rollout is None:
            return None
        with rollout.lock:
            if not rollout.cancelled.is_set():
                rollout.cancelled.set()
                self._revert(rollout)
        return rollout

    def rollback(self, name: str, reason: str) -> str:
        """Back to the version served before the last deployment (a monitor's rollback action)."""
        with self._lock:
            rollout = self._active.get(name)
        if rollout is not None:
            self._abort(rollout, reason)
            return f"endpoint {name}: rollout stopped, back to {rollout.stable.production[0].version.ref}"
        with self._recording():
            row = self.core.resource("endpoint", name)
            previous = row["observed"].get("previous") or []
            production = [s for s in previous if s.get("role", "production") == "production"]
            runtime = self.core.serving.serving(name)
            if not production or runtime is None:
                raise BadRequest(f"endpoint {name} has no earlier version to roll back to")
            routing = self._routing_of(previous, row["config"], runtime.routing)
            left = describe_serving(runtime.routing)
            self.core.serving.route(name, routing, row["config"].get("capture_percent", 0), row["config"].get("idle_timeout"))
            _close_unused(runtime.routing, routing)
            refs = ", ".join(f"{f.name}: {f.version.ref}" for f in routing.production)
            message = f"rolled back to {refs}: {reason}"
            observed = {
                **self._observed(name, routing, left),
                "rollback": {"at": time.time(), "reason": reason, "from": left},
            }
            self._write(name, "rolled_back", message, observed)
        self.core.audit.record(None, "rollback", f"endpoint {name}", reason, {"from": left})
        return f"endpoint {name} {message}"

    def _routing_of(self, serving: list[dict[str, Any]], config: dict[str, Any], current: Routing | None) -> Routing:
        """Fleets for a recorded serving list, reusing the current ones that match."""
        instances = initial_instances(config)
        existing = current.fleets() if current else []
        production, weights, shadow, percent = [], [], None, 0.0
        for item in serving:
            version = self.core.registry.version(item["group"], item["version"])
            role = item.get("role", "production")
            compute = item.get("compute")
            fleet = _matching(existing, item["variant"], version, compute) or self.core.serving.fleet(
                item["variant"], role, version, instances, compute
            )
            if role == "shadow":
                shadow, percent = fleet, float(item["weight"])
            else:
                production.append(fleet)
                weights.append(item["weight"])
        return Routing(tuple(production), tuple(weights), shadow, percent)

    def restore(self, name: str, config: dict[str, Any], observed: dict[str, Any]) -> None:
        """After a restart: serve what was served; a rollout that was running starts over."""
        rollout = observed.get("rollout")
        serving = rollout["from"] if rollout else observed.get("serving", [])
        if not serving:
            return
        routing = self._routing_of(serving, config, None)
        self.core.serving.route(name, routing, config.get("capture_percent", 0), config.get("idle_timeout"))
        if rollout:
            from mlstack.emulator.resources import ENDPOINTS

            outcome = ENDPOINTS.redeploy(self.core, name, config)
            self.core.put_resource("endpoint", name, config, outcome.status, outcome.message, outcome.observed)

    def remove(self, name: str) -> None:
        self.cancel(name)
        self.core.serving.remove(name)

    def view(self, name: str) -> dict[str, Any] | None:
        with self._lock:
            rollout = self._active.get(name)
        return rollout.view() if rollout else None

    def close(self) -> None:
        with self._lock:
            active = list(self._active.values())
        for rollout in active:
            rollout.cancelled.set()


def initial_instances(config: dict[str, Any]) -> int:
    count = config.get("instance_count", 1)
    scaling = config.get("autoscaling")
    if scaling:
        count = min(max(count, scaling["min"], 1), scaling["max"])
    return max(count, 1)


def _matching(fleets: Any, name: str, version: Any, compute: dict[str, Any] | None) -> Fleet | None:
    return next((f for f in fleets if f.name == name and f.same_model(version, compute)), None)


def _close_unused(old: Routing, new: Routing) -> None:
    kept = {id(f.pool) for f in new.fleets()}
    for fleet in old.fleets():
        if id(fleet.pool) not in kept:
            fleet.pool.close()
