"""Quality gates on evaluation metrics: thresholds, and no worse than the champion."""

from __future__ import annotations

import math
from typing import Any


def check(gates: list[dict[str, Any]], metrics: dict[str, float], champion: dict[str, float] | None) -> list[str]:
    """The failed gates, each as a sentence; empty when every gate passes.

    Against the champion, higher is better: the metric must reach the champion's value minus the
    tolerance. With no champion yet (or one without the metric) that part of a gate passes."""
    failures = []
    for gate in gates:
        name = gate["metric"]
        if name not in metrics:
            known = ", ".join(sorted(metrics)) or "none"
            failures.append(f"gate on '{name}': the evaluation wrote no such metric (wrote: {known})")
            continue
        value = metrics[name]
        if not isinstance(value, int | float) or not math.isfinite(value):
            failures.append(f"gate on '{name}': {value} is not a finite number")
            continue
        if gate.get("min") is not None and value < gate["min"]:
            failures.append(f"{name} = {value:g} is below the minimum {gate['min']:g}")
        if gate.get("max") is not None and value > gate["max"]:
            failures.append(f"{name} = {value:g} is above the maximum {gate['max']:g}")
        if gate.get("beat_champion") and champion and name in champion:
            floor = champion[name] - gate.get("tolerance", 0.0)
            if value < floor:
                failures.append(
                    f"{name} = {value:g} does not beat the champion's {champion[name]:g} "
                    f"(tolerance {gate.get('tolerance', 0.0):g})"
                )
    return failures
