"""Turning tables and columns from numpy, pandas, pyarrow or plain mappings into 1-D numpy arrays.

pandas and pyarrow are recognised by their module name and never imported here unless the caller
already handed us one of their objects (or an object-dtype array whose nulls need pandas.isna).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from mlstack.stats.registry import KINDS, Kind, StatsError

_NUMERIC_DTYPE_KINDS = "iuf"
_CATEGORICAL_DTYPE_KINDS = "bOUS"


def _library(obj: object) -> str:
    return type(obj).__module__.split(".", 1)[0]


def as_array(values: Any, name: str = "value") -> np.ndarray:
    """One column as a 1-D numpy array; nulls become NaN (numeric) or stay None/NA (object)."""
    library = _library(values)
    if library == "pandas":
        import pandas as pd

        dtype = values.dtype
        if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype) and values.hasnans:
            return values.to_numpy(dtype="float64", na_value=np.nan)
        return values.to_numpy()
    array = values.to_numpy(zero_copy_only=False) if library == "pyarrow" else np.asarray(values)
    if array.ndim != 1:
        raise StatsError(f"column '{name}' must be one-dimensional, got shape {array.shape}")
    return array


class Table:
    """Named columns of a 2-D numpy array, pandas DataFrame, pyarrow Table/RecordBatch or mapping.

    A 2-D array's columns are named "0", "1", ...; pass a mapping to name them. Columns are converted
    only when asked for, so unselected columns cost nothing.
    """

    def __init__(self, data: Any, role: str) -> None:
        self.role = role
        getter: Callable[[str], Any]
        library = _library(data)
        if isinstance(data, np.ndarray):
            if data.ndim != 2:
                raise StatsError(f"{role} must be a 2-D array (rows x columns), got shape {data.shape}")
            self.names = [str(i) for i in range(data.shape[1])]
            getter = lambda name: data[:, int(name)]  # noqa: E731
        elif library == "pandas" and hasattr(data, "columns"):
            self.names = [str(c) for c in data.columns]
            by_name = {str(c): c for c in data.columns}
            getter = lambda name: data[by_name[name]]  # noqa: E731
        elif library == "pyarrow" and hasattr(data, "column_names"):
            self.names = list(data.column_names)
            getter = data.column
        elif isinstance(data, Mapping):
            self.names = [str(k) for k in data]
            by_name = {str(k): k for k in data}
            getter = lambda name: data[by_name[name]]  # noqa: E731
        else:
            raise StatsError(
                f"{role} must be a 2-D numpy array, a pandas DataFrame, a pyarrow Table or a mapping of "
                f"column name to values, got {type(data).__name__}"
            )
        self._getter = getter

    def column(self, name: str) -> np.ndarray:
        return as_array(self._getter(name), name)

    def select(self, columns: Sequence[str] | None) -> list[str]:
        """The requested column names (all when None), or StatsError naming the missing ones."""
        if columns is None:
            return list(self.names)
        missing = [c for c in columns if c not in self.names]
        if missing:
            raise StatsError(f"{self.role} has no column(s) {', '.join(map(repr, missing))}")
        return list(columns)


def infer_kind(values: np.ndarray, name: str = "value") -> Kind:
    """numeric for integer and float arrays; categorical for booleans, strings and objects."""
    if values.dtype.kind in _NUMERIC_DTYPE_KINDS:
        return "numeric"
    if values.dtype.kind in _CATEGORICAL_DTYPE_KINDS:
        return "categorical"
    raise StatsError(f"column '{name}' has type {values.dtype}, which is neither numeric nor categorical")


def check_kind(kind: str | None, values: np.ndarray, name: str) -> Kind:
    if kind is None:
        return infer_kind(values, name)
    if kind not in KINDS:
        raise StatsError(f"column '{name}': kind must be one of {', '.join(KINDS)}, got {kind!r}")
    return kind  # type: ignore[return-value]


def null_mask(values: np.ndarray) -> np.ndarray:
    """True where a value is missing: NaN, None, pandas NA/NaT."""
    kind = values.dtype.kind
    if kind in "fc":
        return np.isnan(values)
    if kind == "O":
        import pandas as pd

        return np.asarray(pd.isna(values), dtype=bool)
    return np.zeros(values.shape, dtype=bool)


def clean(values: np.ndarray, kind: Kind, name: str = "value") -> np.ndarray:
    """The values a statistic looks at: nulls and infinities dropped, as Evidently 0.7 does.

    Numeric columns come back as float64, or int64 when they were integers (the Sturges rule treats
    integers specially). Returns the input itself when nothing needs dropping.
    """
    if kind == "numeric":
        if values.dtype.kind in "iu":
            return values.astype(np.int64, copy=False)
        if values.dtype.kind != "f":
            values = _to_float(values, name)
        values = values.astype(np.float64, copy=False)
        finite = np.isfinite(values)
        return values if finite.all() else values[finite]
    if values.dtype.kind == "f":
        finite = np.isfinite(values)
        return values if finite.all() else values[finite]
    missing = null_mask(values)
    return values[~missing] if missing.any() else values


def _to_float(values: np.ndarray, name: str) -> np.ndarray:
    missing = null_mask(values)
    out = np.full(values.shape, np.nan)
    try:
        out[~missing] = values[~missing].astype(np.float64)
    except (TypeError, ValueError):
        raise StatsError(
            f"column '{name}' is declared numeric but holds values that are not numbers "
            f"(its type_error_rate shows how many)"
        ) from None
    return out
