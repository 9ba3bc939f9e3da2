"""A drift baseline summarised once, so that every run against it does only the current side's work.

A monitor compares each window of traffic with the same reference sample. What the drift metrics need
from that sample never changes between runs: its cleaned values in ascending order (the exact
empirical CDF, which gives KS, Wasserstein and the histogram counts over any bin edges by binary
search), its standard deviation (Wasserstein's scale), and for columns binned by category their
distinct values and counts. `ReferenceProfile.of(reference)` computes that once (as SageMaker's
baselining job computes statistics once); `drift_table(profile, current, ...)` then sorts or counts
only the current window. The numbers are those of `drift_table(reference, current, ...)`, bins
included: the counts are the same integers and the standard deviation is taken over the values in
their original order, as before.

A profile saves to and loads from one `.npz` file (no pickles: categories are kept as JSON).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mlstack.stats.binning import (
    SMALL_CARDINALITY,
    Bins,
    Histogram,
    _count_categories,
    _distinct,
    _more_distinct_than,
    sturges_edges,
)
from mlstack.stats.columns import Table, check_kind, clean, null_mask
from mlstack.stats.registry import Kind, StatsError


@dataclass(frozen=True, eq=False)
class ReferenceColumn:
    """One reference column, summarised. `sorted` is None for categorical columns (no metric reads
    their order); `categories`/`counts` are None for numeric columns with many distinct values."""

    name: str
    kind: Kind
    declared: bool  # the kind was given, not inferred from the values
    size: int  # non-null values
    sorted: np.ndarray | None
    std: float
    categories: np.ndarray | None
    counts: np.ndarray | None

    @classmethod
    def of(cls, name: str, values: np.ndarray, kind: Kind | None = None) -> ReferenceColumn:
        checked = check_kind(kind, values, name)
        cleaned = clean(values, checked, name)
        numeric = checked == "numeric"
        binned_by_category = not numeric or not _more_distinct_than(cleaned, SMALL_CARDINALITY)
        categories = counts = None
        if binned_by_category and cleaned.size:
            categories = _distinct(cleaned, cleaned[:0])
            counts = _count_categories(cleaned, categories)
        return cls(
            name=name,
            kind=checked,
            declared=kind is not None,
            size=int(cleaned.size),
            sorted=np.sort(cleaned) if numeric else None,
            std=float(np.std(cleaned)) if numeric and cleaned.size else 0.0,
            categories=categories,
            counts=counts,
        )

    def histogram(self, current: np.ndarray) -> Histogram:
        """`binning.histogram(reference, current, kind)`, from the summary."""
        if self.categories is None:
            assert self.sorted is not None
            edges = sturges_edges(self.sorted, current)
            bins = Bins("sturges", edges=edges)
            below = np.searchsorted(self.sorted, edges, side="left")
            below[-1] = np.searchsorted(self.sorted, edges[-1], side="right")  # numpy's closed last bin
            return Histogram(bins, np.diff(below).astype(np.int64), bins.count(current))
        assert self.counts is not None
        categories = _distinct(self.categories, current)
        reference_counts = np.zeros(categories.size, dtype=np.int64)
        reference_counts[_positions(self.categories, categories)] = self.counts
        bins = Bins("categories", categories=categories)
        return Histogram(bins, reference_counts, bins.count(current))

    def agreed_kind(self, current: np.ndarray, kind: Kind | None) -> Kind:
        """The kind to compare as: the one asked for, the declared one, or the inferred one when the
        current values agree (an empty side takes the other's), as for two raw samples."""
        if kind is not None:
            if kind != self.kind:
                raise StatsError(f"column '{self.name}' was profiled as {self.kind}, not {kind}")
            return kind
        if self.declared or null_mask(current).all():
            return self.kind
        current_kind = check_kind(None, current, self.name)
        if self.size == 0:
            return current_kind
        if current_kind != self.kind:
            raise StatsError(
                f"column '{self.name}' is {self.kind} in the reference but {current_kind} in the current data "
                f"({current.dtype}); declare its kind to compare them"
            )
        return self.kind


def _positions(values: np.ndarray, categories: np.ndarray) -> np.ndarray:
    if categories.dtype.kind == "O" or values.dtype.kind == "O":
        import pandas as pd

        return pd.Index(categories, dtype=object).get_indexer(values.astype(object))
    return np.searchsorted(categories, values)


class ReferenceProfile:
    """Every column of a reference table, summarised (see the module docstring)."""

    def __init__(self, columns: Mapping[str, ReferenceColumn]) -> None:
        self.columns = dict(columns)
        self.names = list(self.columns)

    @classmethod
    def of(
        cls, reference: Any, *, columns: Sequence[str] | None = None, kinds: Mapping[str, Kind] | None = None
    ) -> ReferenceProfile:
        """`reference` is any table `drift_table` takes; `kinds` declares columns' kinds."""
        table = Table(reference, "reference")
        names = table.select(columns)
        unknown = set(kinds or {}) - set(names)
        if unknown:
            raise StatsError(f"kinds given for unknown columns: {', '.join(sorted(unknown))}")
        return cls({n: ReferenceColumn.of(n, table.column(n), (kinds or {}).get(n)) for n in names})

    def select(self, columns: Sequence[str] | None) -> list[str]:
        if columns is None:
            return list(self.names)
        missing = [c for c in columns if c not in self.columns]
        if missing:
            raise StatsError(f"reference has no column(s) {', '.join(map(repr, missing))}")
        return list(columns)

    def column(self, name: str) -> ReferenceColumn:
        return self.columns[name]

    def save(self, path: Path) -> None:
        """Writes the profile; StatsError when a column's categories are not plain JSON values."""
        header, arrays = [], {}
        for i, c in enumerate(self.columns.values()):
            entry: dict[str, Any] = {
                "name": c.name,
                "kind": c.kind,
                "declared": c.declared,
                "size": c.size,
                "std": c.std,
            }
            if c.sorted is not None:
                arrays[f"sorted{i}"] = c.sorted
            if c.categories is not None and c.counts is not None:
                arrays[f"counts{i}"] = c.counts
                if c.categories.dtype.kind == "O":
                    entry["categories"] = _json_values(c)
                else:
                    arrays[f"categories{i}"] = c.categories
            header.append(entry)
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "wb") as out:
            np.savez(out, header=np.array(json.dumps(header)), **arrays)
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> ReferenceProfile:
        with np.load(path, allow_pickle=False) as data:
            columns = {}
            for i, entry in enumerate(json.loads(str(data["header"]))):
                categories = data.get(f"categories{i}")
                if "categories" in entry:
                    categories = np.empty(len(entry["categories"]), dtype=object)
                    categories[:] = entry["categories"]
                columns[entry["name"]] = ReferenceColumn(
                    name=entry["name"],
                    kind=entry["kind"],
                    declared=entry["declared"],
                    size=entry["size"],
                    sorted=data.get(f"sorted{i}"),
                    std=entry["std"],
                    categories=categories,
                    counts=data.get(f"counts{i}"),
                )
        return cls(columns)


def _json_values(column: ReferenceColumn) -> list[Any]:
    assert column.categories is not None
    values = column.categories.tolist()
    if not all(type(v) in (str, int, float, bool) for v in values):
        raise StatsError(f"column '{column.name}' has categories that do not save as JSON")
    return values
