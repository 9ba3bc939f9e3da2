"""Data quality of a batch of inputs: null rate, type-error rate, out-of-range rate.

Every rate is a share in [0, 1], NaN when there is nothing to measure (no rows, or no non-null
values for the two rates that only look at non-null values).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np

from mlstack.stats.columns import Table, as_array, clean, infer_kind, null_mask
from mlstack.stats.registry import DATA_QUALITY_METRICS, MetricResult, StatsError, lookup

ExpectedType = Literal["float", "int", "bool", "string"]
EXPECTED_TYPES: tuple[ExpectedType, ...] = ("float", "int", "bool", "string")

_BOOL_WORDS = frozenset({"true", "false", "0", "1"})
# pandas.api.types.infer_dtype's names for a column whose values agree on a type.
_INFERRED: dict[str, ExpectedType] = {
    "floating": "float",
    "mixed-integer-float": "float",
    "integer": "int",
    "boolean": "bool",
    "string": "string",
}


def null_rate(values: Any) -> float:
    """Share of values that are null (None, NaN, pandas NA)."""
    array = as_array(values)
    return float(np.mean(null_mask(array))) if array.size else math.nan


def type_error_rate(values: Any, expected: ExpectedType) -> float:
    """Share of non-null values that cannot be cast to `expected`.

    float: anything `float()` accepts (numbers, booleans, numeric strings); int: the same and
    integral; bool: booleans, 0/1 and the strings true/false/0/1 in any case; string: only strings
    (a number where text is expected is a type error, although it could be printed).
    """
    if expected not in EXPECTED_TYPES:
        raise StatsError(f"expected type must be one of {', '.join(EXPECTED_TYPES)}, got {expected!r}")
    array = as_array(values)
    present = array[~null_mask(array)]
    if present.size == 0:
        return math.nan
    return float(np.mean(~_castable(present, expected)))


def _castable(values: np.ndarray, expected: ExpectedType) -> np.ndarray:
    kind = values.dtype.kind
    if expected == "string":
        if kind in "US":
            return np.ones(values.shape, dtype=bool)
        if kind != "O":
            return np.zeros(values.shape, dtype=bool)
        return np.fromiter((isinstance(v, str) for v in values), dtype=bool, count=values.size)
    if expected == "bool":
        if kind == "b":
            return np.ones(values.shape, dtype=bool)
        if kind in "iuf":
            return (values == 0) | (values == 1)
        words = np.char.lower(np.char.strip(values.astype(str)))
        return np.isin(words, list(_BOOL_WORDS))
    numbers = _as_numbers(values)
    if expected == "float":
        return ~np.isnan(numbers)
    with np.errstate(invalid="ignore"):
        return np.isfinite(numbers) & (numbers == np.floor(numbers))


def _as_numbers(values: np.ndarray) -> np.ndarray:
    """Values as float64, NaN where a value is not a number."""
    if values.dtype.kind in "biuf":
        return values.astype(np.float64)
    import pandas as pd

    return pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy(dtype=np.float64)


def out_of_range_rate(
    values: Any,
    low: float | None = None,
    high: float | None = None,
    *,
    reference: Any = None,
) -> float:
    """Share of non-null values outside the allowed range.

    Numeric columns: outside [low, high]; a bound left out is the reference's min or max (and with
    neither bound nor reference this is an error). Categorical columns: not among the reference's
    values. Values that are not numbers in a numeric column are left to `type_error_rate`.
    """
    array = as_array(values)
    ref = None if reference is None else as_array(reference, "reference")
    kind = infer_kind(ref if ref is not None else array)
    if kind == "categorical":
        if ref is None:
            raise StatsError("out_of_range_rate of a categorical column needs the reference values")
        present = clean(array, "categorical")
        if present.size == 0:
            return math.nan
        known = clean(ref, "categorical")
        if present.dtype.kind == "O" or known.dtype.kind == "O":
            import pandas as pd

            inside = pd.Index(pd.unique(known.astype(object))).get_indexer(present.astype(object)) >= 0
        else:
            inside = np.isin(present, known)
        return float(np.mean(~inside))
    numbers = _as_numbers(array[~null_mask(array)])
    numbers = numbers[~np.isnan(numbers)]
    if low is None or high is None:
        if ref is None:
            raise StatsError("out_of_range_rate needs both bounds or the reference values")
        known = clean(ref, "numeric")
        if known.size == 0:
            raise StatsError("the reference has no numeric values to take the range from")
        low = float(known.min()) if low is None else low
        high = float(known.max()) if high is None else high
    if low > high:
        raise StatsError(f"range is empty: low {low} is above high {high}")
    if numbers.size == 0:
        return math.nan
    return float(np.mean((numbers < low) | (numbers > high)))


def expected_type_of(reference: Any) -> ExpectedType | None:
    """The type a column's reference values agree on, or None when they mix types."""
    array = as_array(reference)
    kind = array.dtype.kind
    if kind == "f":
        return "float"
    if kind in "iu":
        return "int"
    if kind == "b":
        return "bool"
    if kind in "US":
        return "string"
    import pandas as pd

    return _INFERRED.get(pd.api.types.infer_dtype(array, skipna=True))


def data_quality(
    current: Any,
    *,
    reference: Any = None,
    metrics: Sequence[str] = tuple(DATA_QUALITY_METRICS),
    columns: Sequence[str] | None = None,
    expected_types: Mapping[str, ExpectedType] | None = None,
    ranges: Mapping[str, tuple[float | None, float | None]] | None = None,
    thresholds: Mapping[str, float] | None = None,
) -> list[MetricResult]:
    """The data-quality metrics of each column of `current` (a table, as for `drift_table`).

    A column's expected type comes from `expected_types`, else from its reference values; its range
    from `ranges`, else from the reference. Where neither exists the metric is reported as NaN with
    a note rather than guessed. Thresholds (none by default) set `breached`.
    """
    specs = [lookup(name, DATA_QUALITY_METRICS) for name in dict.fromkeys(metrics)]
    chosen = {spec.name: spec.check_threshold((thresholds or {}).get(spec.name)) for spec in specs}
    table = Table(current, "current")
    names = table.select(columns)
    ref_table = None if reference is None else Table(reference, "reference")
    if ref_table is not None:
        ref_table.select(names)
    results = []
    for name in names:
        values = table.column(name)
        ref = None if ref_table is None else ref_table.column(name)
        for spec in specs:
            value, note = _column_metric(spec.name, values, ref, name, expected_types or {}, ranges or {})
            results.append(
                MetricResult(
                    metric=spec.name,
                    value=value,
                    threshold=chosen[spec.name],
                    direction=spec.direction,
                    column=name,
                    note=note,
                )
            )
    return results


def _column_metric(
    metric: str,
    values: np.ndarray,
    reference: np.ndarray | None,
    name: str,
    expected_types: Mapping[str, ExpectedType],
    ranges: Mapping[str, tuple[float | None, float | None]],
) -> tuple[float, str | None]:
    if metric == "null_rate":
        return null_rate(values), None
    if metric == "type_error_rate":
        expected = expected_types.get(name) or (None if reference is None else expected_type_of(reference))
        if expected is None:
            return math.nan, "no expected type: give one, or reference values of a single type"
        return type_error_rate(values, expected), None
    low, high = ranges.get(name, (None, None))
    if reference is None and (low is None or high is None):
        return math.nan, "no range: give one, or reference values"
    return out_of_range_rate(values, low, high, reference=reference), None
