"""How a column is cut into bins before PSI, Jensen-Shannon, chi-square and L-infinity.

The rule is Evidently 0.7's, so numbers can be compared with it:

* a **numeric** column whose reference has more than 20 distinct values gets equal-width bins, their
  number chosen by Sturges' rule over reference and current **combined**, spanning the combined
  min..max: exactly ``numpy.histogram_bin_edges(concatenate([reference, current]), "sturges")``;
* any other column (categorical, or numeric with at most 20 distinct reference values) gets one bin
  per distinct value seen in reference or current.

Bins are chosen once per (reference, current) pair and carried in every result, so monitors and
reports show exactly the bins a number was computed on. Counting follows ``numpy.histogram``: bins are
half-open ``[a, b)`` except the last, which is closed. Inputs here are already cleaned (no nulls).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from mlstack.stats.registry import Kind

# A numeric column with more distinct reference values than this is binned by Sturges' rule.
SMALL_CARDINALITY = 20

BinRule = Literal["sturges", "categories"]


@dataclass(frozen=True, eq=False)
class Bins:
    """Equal-width edges (rule "sturges") or the list of categories (rule "categories")."""

    rule: BinRule
    edges: np.ndarray | None = None
    categories: np.ndarray | None = None

    def __len__(self) -> int:
        if self.edges is not None:
            return self.edges.size - 1
        return 0 if self.categories is None else self.categories.size

    def count(self, values: np.ndarray) -> np.ndarray:
        """How many of `values` fall in each bin; values outside every bin are not counted."""
        if self.edges is not None:
            return _count_between_edges(values, self.edges)
        assert self.categories is not None
        return _count_categories(values, self.categories)

    def labels(self) -> list[str]:
        """One readable label per bin, for tables and histogram axes."""
        if self.edges is not None:
            e = self.edges
            last = len(self) - 1
            return [f"[{e[i]:.6g}, {e[i + 1]:.6g}{']' if i == last else ')'}" for i in range(len(self))]
        assert self.categories is not None
        return [str(c) for c in self.categories.tolist()]

    def describe(self) -> str:
        if self.edges is not None:
            return (
                f"{len(self)} equal-width bins from {self.edges[0]:.6g} to {self.edges[-1]:.6g} "
                f"(Sturges' rule over reference and current combined)"
            )
        return f"{len(self)} categories (distinct values of reference and current)"

    def to_dict(self) -> dict[str, Any]:
        if self.edges is not None:
            return {"rule": self.rule, "edges": self.edges.tolist()}
        assert self.categories is not None
        return {"rule": self.rule, "categories": self.categories.tolist()}


@dataclass(frozen=True, eq=False)
class Histogram:
    """Reference and current counts over the same bins."""

    bins: Bins
    reference_counts: np.ndarray
    current_counts: np.ndarray

    @property
    def reference_shares(self) -> np.ndarray:
        return _shares(self.reference_counts)

    @property
    def current_shares(self) -> np.ndarray:
        return _shares(self.current_counts)

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.bins.to_dict(),
            "reference_counts": self.reference_counts.tolist(),
            "current_counts": self.current_counts.tolist(),
        }


def _shares(counts: np.ndarray) -> np.ndarray:
    total = counts.sum()
    return counts / total if total else np.zeros(counts.shape)


def histogram(reference: np.ndarray, current: np.ndarray, kind: Kind) -> Histogram:
    """Choose the bins for this pair and count both samples into them."""
    bins = choose_bins(reference, current, kind)
    return Histogram(bins, bins.count(reference), bins.count(current))


def choose_bins(reference: np.ndarray, current: np.ndarray, kind: Kind) -> Bins:
    """The module's rule (see the module docstring). Both samples must be non-empty and null-free."""
    if kind == "numeric" and _more_distinct_than(reference, SMALL_CARDINALITY):
        return Bins("sturges", edges=sturges_edges(reference, current))
    return Bins("categories", categories=_distinct(reference, current))


def sturges_edges(reference: np.ndarray, current: np.ndarray) -> np.ndarray:
    """``numpy.histogram_bin_edges(concatenate([reference, current]), "sturges")`` without building
    the concatenation: the same scalar arithmetic numpy does, so the edges are bit-identical."""
    size = reference.size + current.size
    first = np.minimum(reference.min(), current.min())
    last = np.maximum(reference.max(), current.max())
    integer = reference.dtype.kind in "iu" and current.dtype.kind in "iu"
    spread = float(int(last) - int(first)) if integer else last - first
    width = spread / (np.log2(size) + 1.0)
    if integer and width < 1:
        width = 1
    if first == last:
        first, last = first - 0.5, last + 0.5
    n_bins = int(np.ceil(spread / width)) if width else 1
    return np.linspace(first, last, n_bins + 1, endpoint=True, dtype=np.float64)


def _more_distinct_than(values: np.ndarray, limit: int) -> bool:
    # A prefix with more distinct values settles it without sorting the whole column.
    if np.unique(values[: 16 * limit]).size > limit:
        return True
    return np.unique(values).size > limit


def _count_between_edges(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    # One vectorised comparison per edge (tens of edges, never a loop over rows); matches
    # numpy.histogram, including its closed last bin and ignoring values outside the edges.
    below = [np.count_nonzero(values < edge) for edge in edges]
    below[-1] = np.count_nonzero(values <= edges[-1])
    return np.diff(np.asarray(below, dtype=np.int64))


def _distinct(reference: np.ndarray, current: np.ndarray) -> np.ndarray:
    if reference.dtype.kind == "O" or current.dtype.kind == "O":
        import pandas as pd

        values = pd.unique(np.concatenate([reference, current]).astype(object))
        return np.asarray(_sorted_mixed(values.tolist()), dtype=object)
    return np.union1d(np.unique(reference), np.unique(current))


def _sorted_mixed(values: list[Any]) -> list[Any]:
    try:
        return sorted(values)
    except TypeError:  # mixed types, e.g. 1 and "a": group by type, then order within
        return sorted(values, key=lambda v: (type(v).__name__, str(v)))


def _count_categories(values: np.ndarray, categories: np.ndarray) -> np.ndarray:
    if categories.dtype.kind == "O" or values.dtype.kind == "O":
        import pandas as pd

        codes = pd.Index(categories, dtype=object).get_indexer(values.astype(object))
    else:
        codes = np.searchsorted(categories, values)
        codes[codes == categories.size] = 0
        codes[categories[codes] != values] = -1
    return np.bincount(codes[codes >= 0], minlength=categories.size).astype(np.int64)
