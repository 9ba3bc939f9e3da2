"""Model quality once ground truth arrives: accuracy, precision, recall, F1, ROC AUC, MAE, RMSE.

Rows where the label (or the prediction) is missing are dropped first: ground truth arrives late and
partially. A metric that is undefined on what is left (no rows, AUC with one class) is NaN.
Precision, recall and F1 are for `pos_label` ("binary") or the unweighted mean over every label
seen ("macro"); a ratio with nothing in its denominator is 0, as scikit-learn reports it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import numpy as np

from mlstack.stats.columns import as_array, null_mask
from mlstack.stats.registry import MODEL_QUALITY_METRICS, MetricResult, StatsError, lookup

Average = Literal["binary", "macro"]


def _paired(y_true: Any, y_other: Any, other_name: str) -> tuple[np.ndarray, np.ndarray]:
    truth = as_array(y_true, "y_true")
    other = as_array(y_other, other_name)
    if truth.shape != other.shape:
        raise StatsError(f"y_true has {truth.size} rows but {other_name} has {other.size}")
    keep = ~(null_mask(truth) | null_mask(other))
    return truth[keep], other[keep]


def accuracy(y_true: Any, y_pred: Any) -> float:
    truth, pred = _paired(y_true, y_pred, "y_pred")
    return float(np.mean(truth == pred)) if truth.size else math.nan


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    safe = np.where(denominator > 0, denominator, 1)
    return np.where(denominator > 0, numerator / safe, 0.0)


def _per_label(y_true: Any, y_pred: Any, pos_label: Any, average: Average) -> tuple[np.ndarray, ...] | None:
    """(true positives, predicted positives, actual positives) per label considered, or None."""
    truth, pred = _paired(y_true, y_pred, "y_pred")
    if truth.size == 0:
        return None
    if average == "binary":
        is_true, is_pred = truth == pos_label, pred == pos_label
        return tuple(np.array([np.count_nonzero(x)]) for x in (is_true & is_pred, is_pred, is_true))
    if average != "macro":
        raise StatsError(f"average must be 'binary' or 'macro', got {average!r}")
    labels, codes = np.unique(np.concatenate([truth, pred]), return_inverse=True)
    true_code, pred_code = codes[: truth.size], codes[truth.size :]
    k = labels.size
    return (
        np.bincount(true_code[true_code == pred_code], minlength=k),
        np.bincount(pred_code, minlength=k),
        np.bincount(true_code, minlength=k),
    )


def precision(y_true: Any, y_pred: Any, *, pos_label: Any = 1, average: Average = "binary") -> float:
    counts = _per_label(y_true, y_pred, pos_label, average)
    return math.nan if counts is None else float(np.mean(_ratio(counts[0], counts[1])))


def recall(y_true: Any, y_pred: Any, *, pos_label: Any = 1, average: Average = "binary") -> float:
    counts = _per_label(y_true, y_pred, pos_label, average)
    return math.nan if counts is None else float(np.mean(_ratio(counts[0], counts[2])))


def f1(y_true: Any, y_pred: Any, *, pos_label: Any = 1, average: Average = "binary") -> float:
    counts = _per_label(y_true, y_pred, pos_label, average)
    if counts is None:
        return math.nan
    true_pos, predicted, actual = counts
    # 2TP / (2TP + FP + FN), which is 2PR / (P + R) without dividing twice.
    return float(np.mean(_ratio(2 * true_pos, predicted + actual)))


def auc(y_true: Any, y_score: Any, *, pos_label: Any = 1) -> float:
    """ROC AUC from ranks (Mann-Whitney U): the chance that a random positive scores above a random
    negative, ties counting one half."""
    from scipy.stats import rankdata

    truth, score = _paired(y_true, y_score, "y_score")
    positive = truth == pos_label
    n_pos = int(positive.sum())
    n_neg = positive.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return math.nan
    try:
        ranks = rankdata(score.astype(np.float64))
    except (TypeError, ValueError):
        raise StatsError("y_score must be numbers (a score or probability per row)") from None
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _errors(y_true: Any, y_pred: Any) -> np.ndarray | None:
    truth, pred = _paired(y_true, y_pred, "y_pred")
    if truth.size == 0:
        return None
    try:
        return truth.astype(np.float64) - pred.astype(np.float64)
    except (TypeError, ValueError):
        raise StatsError("MAE and RMSE need numeric labels and predictions") from None


def mae(y_true: Any, y_pred: Any) -> float:
    errors = _errors(y_true, y_pred)
    return math.nan if errors is None else float(np.mean(np.abs(errors)))


def rmse(y_true: Any, y_pred: Any) -> float:
    errors = _errors(y_true, y_pred)
    return math.nan if errors is None else float(np.sqrt(np.mean(errors * errors)))


_LABEL_METRICS: dict[str, Callable[..., float]] = {"precision": precision, "recall": recall, "f1": f1}
_PLAIN_METRICS: dict[str, Callable[[Any, Any], float]] = {"accuracy": accuracy, "mae": mae, "rmse": rmse}


def model_quality(
    y_true: Any,
    y_pred: Any = None,
    *,
    metrics: Sequence[str],
    y_score: Any = None,
    thresholds: Mapping[str, float] | None = None,
    pos_label: Any = 1,
    average: Average = "binary",
) -> list[MetricResult]:
    """Each metric in `metrics`, checked against `thresholds` (none by default).

    `y_pred` holds predicted labels or values; `y_score` the positive class's score, needed by auc.
    """
    results = []
    for name in dict.fromkeys(metrics):
        spec = lookup(name, MODEL_QUALITY_METRICS)
        threshold = spec.check_threshold((thresholds or {}).get(name))
        source = y_score if name == "auc" else y_pred
        if source is None:
            raise StatsError(f"'{name}' needs {'y_score' if name == 'auc' else 'y_pred'}")
        if name == "auc":
            value = auc(y_true, source, pos_label=pos_label)
        elif name in _LABEL_METRICS:
            value = _LABEL_METRICS[name](y_true, source, pos_label=pos_label, average=average)
        else:
            value = _PLAIN_METRICS[name](y_true, source)
        note = "no rows with both a label and a prediction, or only one class" if math.isnan(value) else None
        results.append(MetricResult(metric=name, value=value, threshold=threshold, direction=spec.direction, note=note))
    return results
