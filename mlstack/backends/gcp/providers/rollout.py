"""Rollout strategies as data: the stages a strategy moves traffic through, and the traffic split at
each stage. Pure functions, so the property that matters (every split Vertex sees sums to 100) is
checked on its own.

Vertex has no native canary: `Endpoint.traffic_split` is one map of deployed-model id to an integer
percentage summing to 100. A rollout is therefore a sequence of splits; a strategy decides how much of
each changed variant's weight the new deployment holds at each stage and how long to watch it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlstack.resolve.rollout import traffic_plan


@dataclass(frozen=True)
class Stage:
    percent: int  # share of each changed variant's weight on its new deployment
    watch: int  # seconds to watch the alarms before the next stage (or before releasing the old fleet)


def stages(strategy: dict[str, Any]) -> list[Stage]:
    """The strategy's traffic stages as every target reads them (mlstack.resolve.rollout)."""
    return [Stage(stage.percent, stage.wait) for stage in traffic_plan(strategy).stages]


@dataclass(frozen=True)
class Move:
    """A variant whose deployment changes: `old` serves now (None for a new variant), `new` takes over."""

    old: str | None
    new: str


def split_at(weights: dict[str, int], moves: dict[str, Move], kept: dict[str, str], percent: int) -> dict[str, int]:
    """The traffic split (deployed-model id -> percent) with each moving variant `percent`% through its move.

    `weights` are the target variant weights (summing to 100); `kept` maps unchanged variants to their
    deployed-model id. Integer division keeps each variant's shares summing to its weight, so the split
    sums to exactly what the weights sum to."""
    split: dict[str, int] = {}
    for variant, weight in weights.items():
        if variant in moves:
            move = moves[variant]
            moved = weight if move.old is None else weight * percent // 100
            split[move.new] = split.get(move.new, 0) + moved
            if move.old is not None:
                split[move.old] = split.get(move.old, 0) + weight - moved
        else:
            split[kept[variant]] = split.get(kept[variant], 0) + weight
    return split
