"""Drift between a reference and a current sample: PSI, KS, Jensen-Shannon, Wasserstein, chi², L-infinity.

Numbers follow Evidently 0.7 (see `binning` for the bins and `registry` for each metric's definition,
direction and default threshold) and equal a plain numpy/scipy computation on the same bins to
1e-9; `benchmarks/bench_drift.py` checks both and measures the speed.

Two entry points:

* `drift_metric(metric, reference, current)` for one column;
* `drift_table(reference, current, metrics)` for every column of a table, the columns spread over a
  thread pool (numpy releases the GIL in the heavy steps).

What makes the table fast: nulls are dropped once per column; each sample is sorted once and KS and
Wasserstein share the sorted arrays; the KS statistic searches only the blocks of current values that
can hold the maximum, and its p-value sums scipy's Smirnov series vectorised instead of in a scalar
loop; Wasserstein is computed on the quantile functions, whose breakpoints depend only on the two
sample sizes and are shared by all columns; histograms are one vectorised comparison per bin edge.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from mlstack.stats.binning import Histogram, histogram
from mlstack.stats.columns import Table, as_array, check_kind, clean, null_mask
from mlstack.stats.reference import ReferenceColumn, ReferenceProfile
from mlstack.stats.registry import DRIFT_METRICS, Kind, MetricResult, MetricSpec, StatsError, lookup

# scipy's ks_2samp computes an exact p-value up to this sample size and the asymptotic one above it;
# below it we call ks_2samp itself, above it we reproduce its asymptotic branch on our own statistic.
KS_EXACT_MAX_N = 10_000
# Current values are bounded in blocks of this many before any is searched for individually.
_KS_BLOCK = 64
# Every this-many-th term of the Smirnov series is evaluated first to find where the sum lives.
_SMIRNOV_STRIDE = 64
# Wasserstein is divided by the reference's standard deviation, but never by less than this.
WASSERSTEIN_MIN_STD = 0.001


@dataclass(frozen=True, kw_only=True)
class DriftResult(MetricResult):
    """A drift metric for one column. `bins` is the histogram the value was computed on (None for KS
    and Wasserstein, which use the raw values); the counts are of non-null values."""

    kind: Kind
    bins: Histogram | None
    reference_count: int
    current_count: int

    @property
    def drifted(self) -> bool:
        return self.breached

    def to_dict(self) -> dict[str, object]:
        return {
            **super().to_dict(),
            "drifted": self.drifted,
            "kind": self.kind,
            "bins": None if self.bins is None else self.bins.to_dict(),
            "reference_count": self.reference_count,
            "current_count": self.current_count,
        }


class _Pair:
    """One column's cleaned reference (raw, or summarised once in a `ReferenceColumn`) and current
    values, with the sorts and histogram shared by every metric computed on it."""

    def __init__(self, name: str, kind: Kind, reference: np.ndarray | ReferenceColumn, current: np.ndarray) -> None:
        self.name = name
        self.kind = kind
        self.profile = reference if isinstance(reference, ReferenceColumn) else None
        self.raw = None if isinstance(reference, ReferenceColumn) else reference
        self.current = current

    @property
    def reference_size(self) -> int:
        return self.profile.size if self.profile is not None else int(self.raw.size)

    @property
    def reference(self) -> np.ndarray:
        """The reference values, in their order or (from a profile) ascending."""
        return self.raw if self.raw is not None else self.sorted[0]

    @property
    def reference_std(self) -> float:
        return self.profile.std if self.profile is not None else float(np.std(self.raw))

    @functools.cached_property
    def histogram(self) -> Histogram:
        if self.profile is not None:
            return self.profile.histogram(self.current)
        return histogram(self.raw, self.current, self.kind)

    @functools.cached_property
    def sorted(self) -> tuple[np.ndarray, np.ndarray]:
        if self.profile is not None:
            assert self.profile.sorted is not None  # numeric metrics only
            return self.profile.sorted, np.sort(self.current)
        return np.sort(self.raw), np.sort(self.current)


def _filled_shares(counts: np.ndarray) -> np.ndarray:
    # Evidently 0.7: an empty bin's share becomes 1e-4, or the smallest non-zero share / 1e6 when
    # that share is itself at most 1e-4, so the logarithm stays finite.
    shares = counts / counts.sum()
    empty = shares == 0
    if empty.any():
        smallest = shares[~empty].min()
        shares[empty] = smallest / 1e6 if smallest <= 1e-4 else 1e-4
    return shares


def _psi(pair: _Pair) -> float:
    ref = _filled_shares(pair.histogram.reference_counts)
    cur = _filled_shares(pair.histogram.current_counts)
    return float(np.sum((ref - cur) * np.log(ref / cur)))


def _jensen_shannon(pair: _Pair) -> float:
    from scipy.spatial.distance import jensenshannon

    return float(jensenshannon(pair.histogram.reference_shares, pair.histogram.current_shares))


def _ks(pair: _Pair) -> float:
    from scipy import stats

    n, m = pair.reference_size, pair.current.size
    if max(n, m) <= KS_EXACT_MAX_N:
        return float(stats.ks_2samp(pair.reference, pair.current).pvalue)
    # scipy's asymptotic two-sided branch: the Kolmogorov distribution at the effective size.
    return ks_asymptotic_pvalue(ks_statistic(*pair.sorted), round(n * m / (n + m)))


def ks_statistic(reference_sorted: np.ndarray, current_sorted: np.ndarray) -> float:
    """The two-sided KS statistic sup |F_ref - F_cur| of two sorted, non-empty samples.

    F_ref - F_cur peaks just before a current value and F_cur - F_ref at one, so only the counts of
    reference values below / at-or-below each current value matter. Those counts never decrease, so
    a block of consecutive current values has a cheap upper bound from its two ends; only blocks
    whose bound beats the best exact value found so far are searched value by value.
    """
    u, v = reference_sorted, current_sorted
    n, m = u.size, v.size
    first = np.arange(0, m, _KS_BLOCK)
    last = np.minimum(first + _KS_BLOCK - 1, m - 1)
    ends = np.concatenate([first, last])
    below = np.searchsorted(u, v[ends], side="left")
    at_or_below = np.searchsorted(u, v[ends], side="right")
    # rank undercounts current values below a value inside a tie and rank + 1 overcounts those at
    # or below it, except at the tie's first (resp. last) member, where each is extreme: so the
    # maxima over all ranks are exact.
    best_up = np.max(below / n - ends / m)
    best_down = np.max((ends + 1) / m - at_or_below / n)
    k = first.size
    bound_up = below[k:] / n - first / m
    bound_down = (last + 1) / m - at_or_below[:k] / n
    open_blocks = (bound_up > best_up) | (bound_down > best_down)
    if open_blocks.any():
        ranks = (first[open_blocks, None] + np.arange(_KS_BLOCK)).ravel()
        ranks = ranks[ranks < m]
        needles = v[ranks]
        below = np.searchsorted(u, needles, side="left")
        best_up = max(best_up, np.max(below / n - ranks / m))
        # Reference values equal to a current one are rare in continuous data: search again only there.
        at_or_below = below.copy()
        tied = np.flatnonzero(u[np.minimum(below, n - 1)] == needles)
        at_or_below[tied] = np.searchsorted(u, needles[tied], side="right")
        best_down = max(best_down, np.max((ranks + 1) / m - at_or_below / n))
    return float(max(best_up, best_down, 0.0))


def ks_asymptotic_pvalue(statistic: float, n: int) -> float:
    """``scipy.stats.kstwo.sf(statistic, n)``, the two-sided Kolmogorov survival function.

    For n > 140 and 2.2 <= n d² < 370 (d < 0.5) scipy evaluates it as twice the one-sided Smirnov
    probability, a sum of n terms in a scalar C loop that takes about a second at n = 10⁶. The same
    Birnbaum-Tingey sum is evaluated here in one vectorised pass (agreeing to ~1e-11); every other
    case is scipy's own.
    """
    from scipy import stats

    d = statistic
    if n > 140 and d < 0.5 and 2.2 <= n * d * d < 370:
        return float(np.clip(2 * _smirnov(n, d), 0.0, 1.0))
    return float(np.clip(stats.kstwo.sf(d, n), 0.0, 1.0))


def _smirnov(n: int, d: float) -> float:
    # P(D+_n >= d) = d * sum_{v <= n(1-d)} C(n, v) (d + v/n)^(v-1) (1 - d - v/n)^(n-v). The log of a
    # term is concave in v, so a coarse pass finds the span of terms within e^-60 of the largest
    # (the rest change the sum by less than 1e-20 of itself) and only that span is summed exactly.
    v, log_binomial = _smirnov_terms(n)
    count = int(np.floor(n * (1 - d))) + 1
    coarse = np.append(np.arange(0, count, _SMIRNOV_STRIDE), count - 1)
    coarse_logs = _smirnov_log_terms(n, d, v[coarse], log_binomial[coarse])
    near = np.flatnonzero(coarse_logs >= np.max(coarse_logs) - 60)
    lo = coarse[max(near[0] - 1, 0)]
    hi = coarse[min(near[-1] + 1, coarse.size - 1)] + 1
    log_terms = _smirnov_log_terms(n, d, v[lo:hi], log_binomial[lo:hi])
    return float(d * np.exp(log_terms).sum())


def _smirnov_log_terms(n: int, d: float, v: np.ndarray, log_binomial: np.ndarray) -> np.ndarray:
    p = d + v / n
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = log_binomial + (v - 1) * np.log(p) + (n - v) * np.log1p(-p)
    # A term with 1 - d - v/n == 0 is zero (0 * log 0 would be NaN).
    return np.where(p < 1, logs, -np.inf)


@functools.lru_cache(maxsize=2)
def _smirnov_terms(n: int) -> tuple[np.ndarray, np.ndarray]:
    from scipy import special

    v = np.arange(n + 1, dtype=np.float64)
    log_binomial = -np.log(n + 1) - special.betaln(n - v + 1, v + 1)
    v.setflags(write=False)
    log_binomial.setflags(write=False)
    return v, log_binomial


def _wasserstein(pair: _Pair) -> float:
    norm = max(pair.reference_std, WASSERSTEIN_MIN_STD)
    return wasserstein_w1(*pair.sorted) / norm


def wasserstein_w1(reference_sorted: np.ndarray, current_sorted: np.ndarray) -> float:
    """First Wasserstein distance of two sorted, non-empty samples: the integral over t in [0, 1] of
    |Q_ref(t) - Q_cur(t)|, the quantile functions being step functions."""
    steps, ref_index, cur_index = _quantile_steps(reference_sorted.size, current_sorted.size)
    ref = reference_sorted if ref_index is None else reference_sorted[ref_index]
    cur = current_sorted if cur_index is None else current_sorted[cur_index]
    # Not np.dot: its BLAS call spins up OpenBLAS threads that fight the column thread pool.
    return float(np.sum(steps * np.abs(ref - cur)))


@functools.lru_cache(maxsize=4)
def _quantile_steps(n: int, m: int) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Widths of the intervals on which both empirical quantile functions are constant, and the
    sample indices they take there (None when that is every index in order, as for equal sizes).
    Depends only on the sizes, so a table's columns share it.

    Q_ref jumps at i/n and Q_cur at j/m. Measured in units of 1/(n m), the jumps are i*m and j*n;
    merging the two sorted sequences needs no sort: i*m has ceil(i*m/n) of the j*n before it.
    """
    if n * m >= 2**62:
        raise StatsError(f"samples of {n} and {m} rows are too large for the Wasserstein distance")
    i = np.arange(n, dtype=np.int64)
    j = np.arange(m, dtype=np.int64)
    ref_jump = i * m
    cur_jump = j * n
    cur_before_ref = ref_jump // n  # floor(i*m/n): current jumps at or before reference jump i ...
    ref_position = i + cur_before_ref + (cur_before_ref * n < ref_jump)  # ... strictly before: ceil
    ref_before_cur = cur_jump // m
    cur_position = j + ref_before_cur + 1  # reference jumps at or before current jump j
    jumps = np.empty(n + m + 1, dtype=np.int64)
    jumps[ref_position] = ref_jump
    jumps[cur_position] = cur_jump
    jumps[-1] = n * m
    ref_index = np.empty(n + m, dtype=np.int64)
    cur_index = np.empty(n + m, dtype=np.int64)
    ref_index[ref_position] = i
    ref_index[cur_position] = ref_before_cur
    cur_index[ref_position] = cur_before_ref
    cur_index[cur_position] = j
    widths = np.diff(jumps)
    nonempty = widths > 0  # where jumps coincide (always, for equal sizes)
    steps = widths[nonempty] / (n * m)
    ref_index, cur_index = ref_index[nonempty], cur_index[nonempty]
    for array in (steps, ref_index, cur_index):
        array.setflags(write=False)
    return steps, _unless_identity(ref_index, n), _unless_identity(cur_index, m)


def _unless_identity(index: np.ndarray, size: int) -> np.ndarray | None:
    identity = index.size == size and bool(np.all(index == np.arange(size)))
    return None if identity else index


def _chi2(pair: _Pair) -> float:
    from scipy import stats

    reference = pair.histogram.reference_counts
    current = pair.histogram.current_counts
    if np.any(reference == 0):
        # A category the reference never saw has zero expected count: an infinite statistic.
        return 0.0
    if reference.size == 1:
        return 1.0  # one category on both sides: nothing can differ
    expected = reference * (current.sum() / reference.sum())
    return float(stats.chisquare(current, expected).pvalue)


def _l_infinity(pair: _Pair) -> float:
    return float(np.max(np.abs(pair.histogram.reference_shares - pair.histogram.current_shares)))


_KERNELS: dict[str, Callable[[_Pair], float]] = {
    "psi": _psi,
    "ks": _ks,
    "jensen_shannon": _jensen_shannon,
    "wasserstein": _wasserstein,
    "chi2": _chi2,
    "l_infinity": _l_infinity,
}
_BINNED = frozenset({"psi", "jensen_shannon", "chi2", "l_infinity"})


def _result(pair: _Pair, spec: MetricSpec, threshold: float) -> DriftResult:
    if pair.reference_size == 0 or pair.current.size == 0:
        empty = "reference" if pair.reference_size == 0 else "current"
        value, bins, note = math.nan, None, f"no non-null {empty} values"
    else:
        value = _KERNELS[spec.name](pair)
        bins = pair.histogram if spec.name in _BINNED else None
        note = None
    return DriftResult(
        column=pair.name,
        metric=spec.name,
        value=value,
        threshold=threshold,
        direction=spec.direction,
        note=note,
        kind=pair.kind,
        bins=bins,
        reference_count=pair.reference_size,
        current_count=int(pair.current.size),
    )


def _pair(name: str, reference: np.ndarray | ReferenceColumn, current: np.ndarray, kind: str | None) -> _Pair:
    if isinstance(reference, ReferenceColumn):
        agreed = reference.agreed_kind(current, check_kind(kind, current, name) if kind is not None else None)
        return _Pair(name, agreed, reference, clean(current, agreed, name))
    if kind is None:
        kind = _agreed_kind(name, reference, current)
    checked = check_kind(kind, reference, name)
    return _Pair(name, checked, clean(reference, checked, name), clean(current, checked, name))


def _agreed_kind(name: str, reference: np.ndarray, current: np.ndarray) -> Kind:
    # A side with no values at all (often an all-null object column) takes the other side's kind.
    if null_mask(current).all():
        return check_kind(None, reference, name)
    if null_mask(reference).all():
        return check_kind(None, current, name)
    ref_kind, cur_kind = check_kind(None, reference, name), check_kind(None, current, name)
    if ref_kind != cur_kind:
        raise StatsError(
            f"column '{name}' is {ref_kind} in the reference but {cur_kind} in the current data "
            f"({reference.dtype} vs {current.dtype}); declare its kind to compare them"
        )
    return ref_kind


def column_histogram(
    reference: Any, current: Any, *, kind: Kind | None = None, column: str = "value"
) -> Histogram | None:
    """Reference and current counts over the bins the binned metrics use, for reports; None when a
    side has no non-null values."""
    pair = _pair(column, as_array(reference, column), as_array(current, column), kind)
    return pair.histogram if pair.reference.size and pair.current.size else None


def _metric_specs(metrics: Sequence[str], thresholds: Mapping[str, float] | None) -> list[tuple[MetricSpec, float]]:
    if isinstance(metrics, str):
        metrics = [metrics]
    if not metrics:
        raise StatsError("no drift metric requested")
    unknown = set(thresholds or {}) - set(metrics)
    if unknown:
        raise StatsError(f"thresholds given for metrics not requested: {', '.join(sorted(unknown))}")
    chosen = []
    for name in dict.fromkeys(metrics):
        spec = lookup(name, DRIFT_METRICS)
        threshold = spec.check_threshold((thresholds or {}).get(name))
        assert threshold is not None  # every drift metric has a default
        chosen.append((spec, threshold))
    return chosen


def drift_metric(
    metric: str,
    reference: Any,
    current: Any,
    *,
    threshold: float | None = None,
    kind: Kind | None = None,
    column: str = "value",
) -> DriftResult:
    """One drift metric for one column.

    `reference` and `current` are 1-D array-likes (numpy, list, pandas Series, pyarrow array); nulls
    and infinities are dropped. `kind` defaults to numeric for numbers and categorical otherwise.
    Raises StatsError when the metric is unknown or does not apply to the column's kind; an empty
    side gives a NaN value with a note, never flagged as drift.
    """
    ((spec, chosen),) = _metric_specs([metric], None if threshold is None else {metric: threshold})
    summarised = isinstance(reference, ReferenceColumn)
    pair = _pair(column, reference if summarised else as_array(reference, column), as_array(current, column), kind)
    if pair.kind not in spec.kinds:
        raise StatsError(f"'{metric}' applies to {' and '.join(spec.kinds)} columns; column '{column}' is {pair.kind}")
    return _result(pair, spec, chosen)


def drift_table(
    reference: Any,
    current: Any,
    metrics: Sequence[str],
    *,
    columns: Sequence[str] | None = None,
    kinds: Mapping[str, Kind] | None = None,
    thresholds: Mapping[str, float] | None = None,
    max_workers: int | None = None,
) -> list[DriftResult]:
    """Drift of every column (or of `columns`) for each metric in `metrics` that applies to it.

    `reference` and `current` are 2-D numpy arrays (columns named "0", "1", ...), pandas DataFrames,
    pyarrow Tables or mappings of column name to values; `current` must hold every selected column.
    `reference` may also be a `ReferenceProfile` of the reference, computed once for many runs: the
    results are the same, and only the current side is sorted and counted.
    `kinds` overrides the inferred kind per column, `thresholds` the default threshold per metric.
    Results come column by column in order, metrics in the order given. A metric that applies to
    none of the selected columns (chi2 on an all-numeric table) is an error.
    """
    specs = _metric_specs(metrics, thresholds)
    ref_table = reference if isinstance(reference, ReferenceProfile) else Table(reference, "reference")
    cur_table = Table(current, "current")
    names = ref_table.select(columns)
    cur_table.select(names)
    unknown_kinds = set(kinds or {}) - set(names)
    if unknown_kinds:
        raise StatsError(f"kinds given for unknown columns: {', '.join(sorted(unknown_kinds))}")

    def one_column(name: str) -> tuple[Kind, list[DriftResult]]:
        pair = _pair(name, ref_table.column(name), cur_table.column(name), (kinds or {}).get(name))
        return pair.kind, [_result(pair, spec, threshold) for spec, threshold in specs if pair.kind in spec.kinds]

    workers = min(max_workers or os.cpu_count() or 1, len(names)) or 1
    if workers == 1:
        per_column = [one_column(name) for name in names]
    else:
        with ThreadPoolExecutor(workers) as pool:
            per_column = list(pool.map(one_column, names))
    column_kinds = {kind for kind, _ in per_column}
    inapplicable = [spec.name for spec, _ in specs if not column_kinds & set(spec.kinds)]
    if names and inapplicable:
        raise StatsError(
            f"metric(s) {', '.join(inapplicable)} apply to none of the columns, which are all "
            f"{' or '.join(sorted(column_kinds))}"
        )
    results = [r for _, column_results in per_column for r in column_results]
    return results
