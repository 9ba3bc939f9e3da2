"""The one monitor evaluator: a monitor's metric over a window's rows, against its baseline or labels,
with the metric's direction from the statistics registry. The emulator, the SageMaker monitoring job
(mlstack.jobs.monitor) and the Vertex monitor task (mlstack.backends.gcp.runtime) all call `measure`
and name the same `worst` result, so a monitor alerts on the same values on every target.

Each caller reads its own storage (captures, request-response log tables, label files) into frames;
what is measured and how is decided here."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mlstack.stats.registry import Direction, MetricResult

DRIFT_KINDS = ("data_drift", "prediction_drift")
PREDICTION = "prediction"  # the column prediction drift compares


@dataclass(frozen=True)
class Labelled:
    """Model-quality input: a label and a prediction (and the positive score, for auc) per answer."""

    labels: Sequence[Any]
    predictions: Sequence[Any]
    scores: Sequence[Any] | None = None


def measure(
    kind: str,
    metric: str,
    *,
    threshold: float | None = None,
    reference: Any = None,
    current: Any = None,
    columns: Sequence[str] | None = None,
    kinds: Mapping[str, Any] | None = None,
    labelled: Labelled | None = None,
    problem_type: str | None = None,
) -> list[MetricResult]:
    """The monitor's metric per watched column (drift, data quality) or over the answers (model quality).

    `reference` and `current` are tables (pandas DataFrames); for prediction drift they hold the
    `prediction` column. `threshold` None means the metric's default."""
    thresholds = None if threshold is None else {metric: threshold}
    if kind in DRIFT_KINDS:
        from mlstack.stats.drift import drift_table

        return list(drift_table(reference, current, [metric], columns=columns, kinds=kinds, thresholds=thresholds))
    if kind == "data_quality":
        from mlstack.stats.quality import data_quality

        return data_quality(current, reference=reference, metrics=[metric], columns=columns, thresholds=thresholds)
    if kind == "model_quality":
        from mlstack.stats.model_quality import model_quality

        assert labelled is not None, "model_quality needs labelled answers"
        scores = (
            labelled.scores if labelled.scores is not None and any(s is not None for s in labelled.scores) else None
        )
        return model_quality(
            list(labelled.labels),
            list(labelled.predictions),
            y_score=list(scores if scores is not None else labelled.predictions) if metric == "auc" else None,
            metrics=[metric],
            thresholds=thresholds,
            average="macro" if problem_type == "multiclass_classification" else "binary",
        )
    raise ValueError(f"unknown monitor kind '{kind}'")


def worst(results: Sequence[MetricResult]) -> MetricResult | None:
    """The result furthest on the unhealthy side (the one an alert names and a metric publishes):
    the highest distance, rate or error, the lowest p-value or accuracy; None when nothing has a value."""
    scored = [r for r in results if not math.isnan(r.value)]
    if not scored:
        return None
    sign = 1 if scored[0].direction is Direction.LOWER_IS_BETTER else -1
    return max(scored, key=lambda r: sign * r.value)
