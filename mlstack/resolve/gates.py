"""Quality gates, decided once: each metric's direction, what "beat the champion" means, and what
happens when there is no champion yet. The emulator and the Vertex gate task run `check`; the
SageMaker and Azure backends lower `ResolvedGate` bounds into their pipeline conditions.

- A metric's direction comes from the statistics registry (rmse and mae are lower-is-better); names
  the registry does not know are higher-is-better unless they are a known loss or error.
- `beat_champion` asks the metric to be at least as good as the champion's, less the tolerance: for a
  higher-is-better metric `value >= champion - tolerance`, for a lower-is-better one
  `value <= champion + tolerance`.
- With no champion (or a champion without the metric) that part of the gate passes and the run says
  so: the first model of a group has nothing to beat. Every target behaves this way."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mlstack.stats.registry import MODEL_QUALITY_METRICS, Direction

CHAMPION = "champion"  # the alias whose version a gate compares with
# Evaluation metrics outside the monitor registry whose smaller values are better.
LOWER_IS_BETTER = frozenset({"loss", "log_loss", "logloss", "mse", "mape", "error", "error_rate", "brier"})


def direction_of(metric: str) -> Direction:
    known = MODEL_QUALITY_METRICS.get(metric)
    if known is not None:
        return known.direction
    return Direction.LOWER_IS_BETTER if metric.lower() in LOWER_IS_BETTER else Direction.HIGHER_IS_BETTER


@dataclass(frozen=True)
class ResolvedGate:
    metric: str
    min: float | None = None
    max: float | None = None
    beat_champion: bool = False
    tolerance: float = 0.0
    direction: Direction = field(default=Direction.HIGHER_IS_BETTER)

    @classmethod
    def of(cls, gate: Any) -> ResolvedGate:
        """From a spec Gate or its JSON form."""
        get = gate.get if isinstance(gate, Mapping) else lambda k, d=None: getattr(gate, k, d)
        metric = get("metric")
        return cls(
            metric=metric,
            min=get("min"),
            max=get("max"),
            beat_champion=bool(get("beat_champion", False)),
            tolerance=float(get("tolerance", 0.0) or 0.0),
            direction=direction_of(metric),
        )

    @property
    def lower_is_better(self) -> bool:
        return self.direction is Direction.LOWER_IS_BETTER

    def champion_bound(self, champion: float) -> float:
        """The worst value that still beats a champion at `champion`."""
        return champion + self.tolerance if self.lower_is_better else champion - self.tolerance

    def bounds(self, champion: float | None) -> tuple[float | None, float | None]:
        """(min, max) with the champion's bound folded in on the metric's side."""
        low, high = self.min, self.max
        if self.beat_champion and champion is not None:
            bound = self.champion_bound(champion)
            if self.lower_is_better:
                high = bound if high is None else min(high, bound)
            else:
                low = bound if low is None else max(low, bound)
        return low, high

    def as_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "min": self.min,
            "max": self.max,
            "beat_champion": self.beat_champion,
            "tolerance": self.tolerance,
            "direction": self.direction.value,
        }


def no_champion_note(metric: str) -> str:
    return f"beat_champion on {metric}: no champion with that metric yet, so this first model passes"


@dataclass(frozen=True)
class Verdict:
    failures: list[str]  # each failed gate as a sentence
    notes: list[str]  # what passed without a comparison (no champion yet)

    @property
    def passed(self) -> bool:
        return not self.failures


def check(gates: Iterable[Any], metrics: Mapping[str, float], champion: Mapping[str, float] | None) -> Verdict:
    """Evaluate gates (spec Gates, their JSON forms or ResolvedGates) on an evaluation's metrics."""
    failures: list[str] = []
    notes: list[str] = []
    for raw in gates:
        gate = raw if isinstance(raw, ResolvedGate) else ResolvedGate.of(raw)
        name = gate.metric
        if name not in metrics:
            known = ", ".join(sorted(metrics)) or "none"
            failures.append(f"gate on '{name}': the evaluation wrote no such metric (wrote: {known})")
            continue
        value = metrics[name]
        if not isinstance(value, int | float) or not math.isfinite(value):
            failures.append(f"gate on '{name}': {value} is not a finite number")
            continue
        if gate.min is not None and value < gate.min:
            failures.append(f"{name} = {value:g} is below the minimum {gate.min:g}")
        if gate.max is not None and value > gate.max:
            failures.append(f"{name} = {value:g} is above the maximum {gate.max:g}")
        if not gate.beat_champion:
            continue
        if not champion or name not in champion:
            notes.append(no_champion_note(name))
            continue
        bound = gate.champion_bound(champion[name])
        worse = value > bound if gate.lower_is_better else value < bound
        if worse:
            better = "lower" if gate.lower_is_better else "higher"
            failures.append(
                f"{name} = {value:g} does not beat the champion's {champion[name]:g} "
                f"({better} is better, tolerance {gate.tolerance:g})"
            )
    return Verdict(failures, notes)
