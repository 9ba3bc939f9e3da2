"""A strategy as explicit traffic stages: the one reading of `strategy` every target lowers or runs.

Each stage gives the share of *traffic* the new fleet takes and how long it holds there (alarms
watched) before the next stage; the last stage is always 100% and its hold is the time the old fleet
is kept (termination wait, or the rollback window for an all-at-once shift watched by alarms). A/B
and shadow set their split at once: the split is the strategy itself, not a way of moving to it.

Targets whose traffic moves in instances rather than percents (SageMaker) size the partial stages with
`in_instances`, and say the effective share (mlstack.resolve.differences)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from mlstack.spec.models import AB, AllAtOnce, BlueGreen, Canary, Linear, Rollback, Shadow

SpecStrategy = AllAtOnce | BlueGreen | Canary | Linear | Shadow | AB
MODELS: dict[str, type] = {"all_at_once": AllAtOnce, "blue_green": BlueGreen, "canary": Canary, "linear": Linear}
SPLITS = ("ab", "shadow")  # strategies that are a standing split rather than a way of moving traffic


@dataclass(frozen=True)
class Stage:
    percent: int  # share of traffic on the new fleet
    wait: int  # seconds held, alarms watched, before the next stage (the last: before the old fleet goes)
    label: str


@dataclass(frozen=True)
class TrafficPlan:
    kind: str  # the strategy type
    stages: tuple[Stage, ...]
    rollback: Rollback | None
    termination_wait: int  # the old fleet kept after the last shift (0 for all_at_once, ab, shadow)

    @property
    def partial(self) -> tuple[Stage, ...]:
        """The stages before all traffic moves (canary: one, linear: several, others: none)."""
        return self.stages[:-1]

    @property
    def final(self) -> Stage:
        return self.stages[-1]

    @property
    def shifts(self) -> bool:
        """A way of moving traffic from an old fleet to a new one (not a standing split)."""
        return self.kind in ("all_at_once", "blue_green", "canary", "linear")


@cache
def _adapter() -> Any:
    from pydantic import TypeAdapter

    from mlstack.spec.models import Strategy

    return TypeAdapter(Strategy)


def as_strategy(strategy: SpecStrategy | Mapping[str, Any]) -> SpecStrategy:
    """The spec model of a strategy, also from its JSON form (the emulator's and providers' configs,
    where durations may be written as text)."""
    if isinstance(strategy, Mapping):
        # A recorded config may carry fields of other strategies or of the endpoint: read this type's own.
        model = MODELS.get(str(strategy.get("type")))
        if model is None:
            return _adapter().validate_python(dict(strategy))  # names the unknown type
        return model.model_validate({k: v for k, v in strategy.items() if k in model.model_fields})
    return strategy


def traffic_plan(strategy: SpecStrategy | Mapping[str, Any]) -> TrafficPlan:
    if isinstance(strategy, Mapping) and strategy.get("type") in SPLITS:
        # A standing split, possibly recorded without its variants: nothing to read but the type.
        return _split(str(strategy["type"]))
    s = as_strategy(strategy)
    rollback = getattr(s, "rollback", None)
    if isinstance(s, Canary):
        stages = [
            Stage(s.percent, s.bake_time, f"canary at {s.percent}%"),
            Stage(100, s.termination_wait, "all traffic, old fleet kept"),
        ]
        return TrafficPlan("canary", tuple(stages), rollback, s.termination_wait)
    if isinstance(s, Linear):
        steps = [Stage(p, s.interval, f"linear at {p}%") for p in range(s.step_percent, 100, s.step_percent)]
        final = Stage(100, s.termination_wait, "all traffic, old fleet kept")
        return TrafficPlan("linear", (*steps, final), rollback, s.termination_wait)
    if isinstance(s, BlueGreen):
        final = Stage(100, s.termination_wait, "switched, old fleet kept")
        return TrafficPlan("blue_green", (final,), rollback, s.termination_wait)
    if isinstance(s, AllAtOnce):
        hold = rollback.window if rollback else 0
        return TrafficPlan("all_at_once", (Stage(100, hold, "all traffic, alarms watched"),), rollback, 0)
    return _split(s.type)


def _split(kind: str) -> TrafficPlan:
    return TrafficPlan(kind, (Stage(100, 0, "split set at once"),), None, 0)


@dataclass(frozen=True)
class InstanceStage:
    instances: int  # of the new fleet, taking traffic
    of: int  # the fleet's instance count
    asked: int  # the share of traffic the spec asked for

    @property
    def effective(self) -> float:
        """The share of traffic the instances actually take, in percent."""
        return 100 * self.instances / self.of

    @property
    def exact(self) -> bool:
        return self.instances * 100 == self.asked * self.of


def in_instances(percent: int, instance_count: int, max_share: int = 50) -> InstanceStage:
    """A traffic share sized in whole instances of a fleet of `instance_count`: the nearest achievable
    share, at least one instance and at most `max_share` percent of the fleet (SageMaker: half)."""
    most = max(1, instance_count * max_share // 100)
    instances = min(most, max(1, round(percent * instance_count / 100)))
    return InstanceStage(instances, instance_count, percent)


def exact_fleet(percent: int) -> int:
    """The smallest fleet on which `percent` is a whole number of instances."""
    from math import gcd

    return 100 // gcd(percent, 100)
