"""Names, directions and default thresholds of every metric mlstack computes.

Pure data with no numpy import, so spec validation can check metric names and thresholds without
loading the numeric stack. The computing modules (`drift`, `quality`, `model_quality`) key their
functions by the same names; a test keeps the two in step.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from mlstack.errors import MlstackError, did_you_mean

Kind = Literal["numeric", "categorical"]
KINDS: tuple[Kind, ...] = ("numeric", "categorical")


class StatsError(MlstackError, ValueError):
    """Bad input to a statistic: unknown metric, wrong column kind, mismatched tables, bad threshold."""


class Direction(StrEnum):
    """Which side of the threshold is healthy.

    A p-value is higher-is-better (drift when it falls below the threshold); a distance, a rate or an
    error is lower-is-better (drift or alert when it rises above). Exactly at the threshold is healthy
    on both sides. Evidently 0.7 flags distances at `>=` and the KS p-value at `<=`, so it can differ
    from mlstack only on an exact tie.
    """

    HIGHER_IS_BETTER = "higher_is_better"
    LOWER_IS_BETTER = "lower_is_better"

    def breached(self, value: float, threshold: float) -> bool:
        """True when `value` is on the unhealthy side; an undefined (NaN) value never breaches."""
        if math.isnan(value):
            return False
        if self is Direction.HIGHER_IS_BETTER:
            return value < threshold
        return value > threshold


@dataclass(frozen=True)
class MetricSpec:
    """One metric: its name in the spec, which way is healthy, the threshold used when none is given."""

    name: str
    direction: Direction
    default_threshold: float | None
    description: str
    kinds: tuple[Kind, ...] = KINDS
    # A threshold outside this closed range is meaningless (a p-value above 1, a negative distance).
    threshold_range: tuple[float, float] = (0.0, math.inf)

    def check_threshold(self, threshold: float | None) -> float | None:
        """The threshold to use (the default when None), or StatsError when it makes no sense."""
        if threshold is None:
            return self.default_threshold
        if isinstance(threshold, bool) or not isinstance(threshold, int | float) or math.isnan(threshold):
            raise StatsError(f"threshold for '{self.name}' must be a number, got {threshold!r}")
        low, high = self.threshold_range
        if not low <= threshold <= high:
            raise StatsError(f"threshold for '{self.name}' must be between {low} and {high}, got {threshold}")
        return float(threshold)


_P_VALUE = (0.0, 1.0)
_SHARE = (0.0, 1.0)

DRIFT_METRICS: Mapping[str, MetricSpec] = {
    m.name: m
    for m in (
        MetricSpec(
            "psi",
            Direction.LOWER_IS_BETTER,
            0.1,
            "Population stability index over the column's bins; an empty bin's share becomes 1e-4 "
            "(or the smallest non-zero share / 1e6 when that is smaller), as Evidently 0.7 does.",
        ),
        MetricSpec(
            "ks",
            Direction.HIGHER_IS_BETTER,
            0.05,
            "Two-sample Kolmogorov-Smirnov test p-value (scipy ks_2samp, two-sided).",
            kinds=("numeric",),
            threshold_range=_P_VALUE,
        ),
        MetricSpec(
            "jensen_shannon",
            Direction.LOWER_IS_BETTER,
            0.1,
            "Jensen-Shannon distance over the column's bins, natural-log base (scipy's default, as "
            "Evidently 0.7): between 0 and sqrt(ln 2) ~ 0.833.",
            threshold_range=(0.0, 1.0),
        ),
        MetricSpec(
            "wasserstein",
            Direction.LOWER_IS_BETTER,
            0.1,
            "First Wasserstein distance divided by max(std(reference), 0.001).",
            kinds=("numeric",),
        ),
        MetricSpec(
            "chi2",
            Direction.HIGHER_IS_BETTER,
            0.05,
            "Chi-square goodness-of-fit p-value of current category counts against the reference "
            "shares; a category absent from the reference gives p = 0.",
            kinds=("categorical",),
            threshold_range=_P_VALUE,
        ),
        MetricSpec(
            "l_infinity",
            Direction.LOWER_IS_BETTER,
            0.1,
            "Largest absolute difference between reference and current category shares.",
            kinds=("categorical",),
            threshold_range=_SHARE,
        ),
    )
}

DATA_QUALITY_METRICS: Mapping[str, MetricSpec] = {
    m.name: m
    for m in (
        MetricSpec("null_rate", Direction.LOWER_IS_BETTER, None, "Share of null values.", threshold_range=_SHARE),
        MetricSpec(
            "type_error_rate",
            Direction.LOWER_IS_BETTER,
            None,
            "Share of non-null values that cannot be cast to the column's expected type.",
            threshold_range=_SHARE,
        ),
        MetricSpec(
            "out_of_range_rate",
            Direction.LOWER_IS_BETTER,
            None,
            "Share of non-null values outside [min, max] (numeric, default: the reference's range) or "
            "outside the reference's categories (categorical).",
            threshold_range=_SHARE,
        ),
    )
}

MODEL_QUALITY_METRICS: Mapping[str, MetricSpec] = {
    m.name: m
    for m in (
        MetricSpec("accuracy", Direction.HIGHER_IS_BETTER, None, "Share of exact label matches.", (), _SHARE),
        MetricSpec("precision", Direction.HIGHER_IS_BETTER, None, "TP / (TP + FP).", (), _SHARE),
        MetricSpec("recall", Direction.HIGHER_IS_BETTER, None, "TP / (TP + FN).", (), _SHARE),
        MetricSpec("f1", Direction.HIGHER_IS_BETTER, None, "Harmonic mean of precision and recall.", (), _SHARE),
        MetricSpec("auc", Direction.HIGHER_IS_BETTER, None, "Area under the ROC curve.", (), _SHARE),
        MetricSpec("mae", Direction.LOWER_IS_BETTER, None, "Mean absolute error.", ()),
        MetricSpec("rmse", Direction.LOWER_IS_BETTER, None, "Root mean squared error.", ()),
    )
}


def lookup(name: str, table: Mapping[str, MetricSpec]) -> MetricSpec:
    """The spec named `name` in `table`, or a StatsError listing the known names."""
    spec = table.get(name)
    if spec is None:
        raise StatsError(f"unknown metric '{name}'{did_you_mean(name, table)}; known: {', '.join(table)}")
    return spec


@dataclass(frozen=True, kw_only=True)
class MetricResult:
    """A computed metric checked against its threshold. `value` is NaN when it cannot be computed
    (for instance no rows in the window); `note` then says why, and nothing is flagged."""

    metric: str
    value: float
    threshold: float | None
    direction: Direction
    column: str | None = None
    note: str | None = None

    @property
    def breached(self) -> bool:
        return self.threshold is not None and self.direction.breached(self.value, self.threshold)

    def to_dict(self) -> dict[str, object]:
        return {
            "column": self.column,
            "metric": self.metric,
            "value": None if math.isnan(self.value) else self.value,
            "threshold": self.threshold,
            "direction": self.direction.value,
            "breached": self.breached,
            "note": self.note,
        }
