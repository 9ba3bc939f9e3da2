import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import special, stats

from mlstack.stats.drift import (
    column_histogram,
    drift_metric,
    drift_table,
    ks_asymptotic_pvalue,
    ks_statistic,
    wasserstein_w1,
)
from mlstack.stats.registry import DRIFT_METRICS, StatsError

NUMERIC = ["psi", "ks", "jensen_shannon", "wasserstein"]
CATEGORICAL = ["psi", "jensen_shannon", "chi2", "l_infinity"]


def categorical_sample(shares: dict[str, int]) -> np.ndarray:
    return np.array([k for k, n in shares.items() for _ in range(n)], dtype=object)


# --- Independent references: written from the textbook definitions, not from the module. ---


def reference_histogram_shares(reference, current):
    edges = np.histogram_bin_edges(np.concatenate([reference, current]), bins="sturges")
    return np.histogram(reference, edges)[0] / len(reference), np.histogram(current, edges)[0] / len(current)


def evidently_fill(shares):
    out = shares.copy()
    smallest = min(s for s in shares if s > 0)
    out[out == 0] = smallest / 1e6 if smallest <= 1e-4 else 1e-4
    return out


def textbook_psi(p, q):
    return sum((a - b) * math.log(a / b) for a, b in zip(p, q, strict=True))


def textbook_js(p, q):
    m = [(a + b) / 2 for a, b in zip(p, q, strict=True)]
    kl = lambda x, y: sum(a * math.log(a / b) for a, b in zip(x, y, strict=True) if a > 0)  # noqa: E731
    return math.sqrt((kl(p, m) + kl(q, m)) / 2)


# --- Each metric against its reference ---


def test_psi_textbook_value_on_categories():
    reference = categorical_sample({"a": 25, "b": 25, "c": 50})
    current = categorical_sample({"a": 50, "b": 25, "c": 25})
    result = drift_metric("psi", reference, current)
    assert result.value == pytest.approx(0.5 * math.log(2), abs=1e-12)
    assert result.drifted


def test_psi_fills_empty_bins_like_evidently():
    reference = categorical_sample({"a": 90, "b": 10})
    current = categorical_sample({"a": 60, "c": 40})
    ref_shares = evidently_fill(np.array([0.9, 0.1, 0.0]))
    cur_shares = evidently_fill(np.array([0.6, 0.0, 0.4]))
    result = drift_metric("psi", reference, current)
    assert result.value == pytest.approx(textbook_psi(ref_shares, cur_shares), abs=1e-12)


def test_psi_fill_uses_the_smallest_share_when_it_is_tiny():
    reference = np.array(["a"] * 99_999 + ["b"])  # share of b: 1e-5 <= 1e-4
    current = np.array(["a", "c"])
    ref_shares = np.array([0.99999, 1e-5, 1e-5 / 1e6])
    cur_shares = np.array([0.5, 1e-4, 0.5])
    assert drift_metric("psi", reference, current).value == pytest.approx(
        textbook_psi(ref_shares, cur_shares), abs=1e-9
    )


@pytest.mark.parametrize("sizes", [(5_000, 5_000), (20_000, 7_000)])
def test_psi_and_js_on_numeric_bins_match_numpy_histograms(sizes):
    rng = np.random.default_rng(7)
    reference, current = rng.normal(size=sizes[0]), rng.normal(0.3, 1.2, size=sizes[1])
    p, q = reference_histogram_shares(reference, current)
    psi = drift_metric("psi", reference, current)
    js = drift_metric("jensen_shannon", reference, current)
    assert psi.value == pytest.approx(textbook_psi(evidently_fill(p), evidently_fill(q)), abs=1e-9)
    assert js.value == pytest.approx(textbook_js(p, q), abs=1e-9)
    np.testing.assert_array_equal(
        psi.bins.bins.edges, np.histogram_bin_edges(np.concatenate([reference, current]), "sturges")
    )


def test_jensen_shannon_uses_natural_log_and_no_fill():
    reference = categorical_sample({"a": 1, "b": 1})
    current = categorical_sample({"c": 1})
    # Disjoint supports: the maximum, sqrt(ln 2) in natural-log base.
    assert drift_metric("jensen_shannon", reference, current).value == pytest.approx(math.sqrt(math.log(2)))


@pytest.mark.parametrize(("n", "m"), [(40, 40), (300, 1_000), (10_000, 9_000)])
def test_ks_small_samples_equal_scipy_exact(n, m):
    rng = np.random.default_rng(n)
    reference, current = rng.normal(size=n), rng.normal(0.1, size=m)
    expected = stats.ks_2samp(reference, current, method="exact").pvalue
    assert drift_metric("ks", reference, current).value == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("shift", [0.0, 0.02, 0.05, 0.08, 0.2, 1.5])
def test_ks_large_samples_equal_scipy_ks_2samp(shift):
    # 30k vs 20k rows: effective n = 12,000, so these shifts walk through every branch of scipy's
    # Kolmogorov survival function, including the summed Smirnov one and the p = 0 one.
    rng = np.random.default_rng(11)
    reference, current = rng.normal(size=30_000), rng.normal(shift, size=20_000)
    expected = stats.ks_2samp(reference, current)
    result = drift_metric("ks", reference, current)
    assert ks_statistic(np.sort(reference), np.sort(current)) == pytest.approx(expected.statistic, abs=1e-15)
    assert result.value == pytest.approx(expected.pvalue, abs=1e-9)


@pytest.mark.parametrize(
    ("n", "n_d_squared"),
    [
        (n, nd2)
        for n in (141, 1_000, 12_000, 250_000)
        for nd2 in (2.21, 3.0, 6.0, 50.0, 369.0)
        if nd2 / n < 0.25  # d < 0.5: the branch's domain
    ],
)
def test_ks_summed_smirnov_branch_equals_scipy(n, n_d_squared):
    d = math.sqrt(n_d_squared / n)
    assert ks_asymptotic_pvalue(d, n) == pytest.approx(2 * special.smirnov(n, d), abs=1e-10)
    assert ks_asymptotic_pvalue(d, n) == pytest.approx(stats.kstwo.sf(d, n), abs=1e-10)


@settings(max_examples=80, deadline=None)
@given(
    hnp.arrays(np.int64, st.integers(1, 200), elements=st.integers(-5, 5)),
    hnp.arrays(np.int64, st.integers(1, 200), elements=st.integers(-5, 5)),
)
def test_ks_statistic_with_heavy_ties_equals_scipy(reference, current):
    expected = stats.ks_2samp(reference, current).statistic
    assert ks_statistic(np.sort(reference), np.sort(current)) == pytest.approx(expected, abs=1e-15)


def test_ks_statistic_refines_only_where_needed_but_stays_exact():
    rng = np.random.default_rng(5)
    reference = np.sort(np.round(rng.normal(size=200_000), 2))  # many ties across blocks
    current = np.sort(np.round(rng.normal(0.01, size=150_000), 2))
    expected = stats.ks_2samp(reference, current).statistic
    assert ks_statistic(reference, current) == pytest.approx(expected, abs=1e-15)


@pytest.mark.parametrize(("n", "m"), [(1, 1), (1, 7), (7, 13), (1_000, 1_000), (3_000, 2_999), (50_000, 30_000)])
def test_wasserstein_equals_scipy_over_reference_std(n, m):
    rng = np.random.default_rng(n + m)
    reference, current = rng.normal(size=n), rng.normal(0.4, 2, size=m)
    expected = stats.wasserstein_distance(reference, current) / max(np.std(reference), 0.001)
    assert drift_metric("wasserstein", reference, current).value == pytest.approx(expected, abs=1e-9)


@settings(max_examples=80, deadline=None)
@given(
    hnp.arrays(np.float64, st.integers(1, 100), elements=st.floats(-100, 100)),
    hnp.arrays(np.float64, st.integers(1, 100), elements=st.floats(-100, 100)),
)
def test_w1_equals_scipy_for_any_sizes_and_ties(reference, current):
    expected = stats.wasserstein_distance(reference, current)
    assert wasserstein_w1(np.sort(reference), np.sort(current)) == pytest.approx(expected, rel=1e-12, abs=1e-12)


def test_chi2_equals_scipy_chisquare_on_scaled_reference_counts():
    reference = categorical_sample({"a": 50, "b": 30, "c": 20})
    current = categorical_sample({"a": 30, "b": 40, "c": 30})
    expected = stats.chisquare([30, 40, 30], [50, 30, 20]).pvalue
    result = drift_metric("chi2", reference, current)
    assert result.value == pytest.approx(expected, abs=1e-12)
    assert result.drifted


def test_chi2_new_category_is_certain_drift_and_one_category_is_none():
    new = drift_metric("chi2", np.array(["a", "b"] * 10), np.array(["a", "b", "z"] * 10))
    assert new.value == 0.0 and new.drifted
    single = drift_metric("chi2", np.array(["a"] * 10), np.array(["a"] * 3))
    assert single.value == 1.0 and not single.drifted


def test_l_infinity_is_the_largest_share_difference():
    reference = categorical_sample({"a": 50, "b": 30, "c": 20})
    current = categorical_sample({"a": 30, "b": 40, "c": 20, "d": 10})
    result = drift_metric("l_infinity", reference, current)
    assert result.value == pytest.approx(max(abs(0.5 - 0.3), abs(0.3 - 0.4), abs(0.2 - 0.2), 0.1))
    assert result.drifted


# --- Direction of the flag ---


def test_p_value_metrics_drift_below_and_distances_above_the_threshold():
    rng = np.random.default_rng(2)
    reference, shifted = rng.normal(size=2_000), rng.normal(1.0, size=2_000)
    ks = drift_metric("ks", reference, shifted)
    assert ks.value < 0.05 and ks.drifted
    assert not drift_metric("ks", reference, shifted, threshold=ks.value / 2).drifted
    w = drift_metric("wasserstein", reference, shifted)
    assert w.value > 0.1 and w.drifted
    assert not drift_metric("wasserstein", reference, shifted, threshold=w.value).drifted


# --- Edge cases ---


def test_constant_columns():
    same = drift_metric("psi", np.full(100, 3.0), np.full(50, 3.0))
    assert same.value == 0.0 and not same.drifted and same.bins.bins.rule == "categories"
    assert drift_metric("ks", np.full(100, 3.0), np.full(50, 3.0)).value == 1.0
    # Wasserstein divides by the 0.001 floor when the reference does not vary.
    moved = drift_metric("wasserstein", np.full(100, 3.0), np.full(50, 3.5))
    assert moved.value == pytest.approx(0.5 / 0.001)


@pytest.mark.parametrize("metric", NUMERIC)
@pytest.mark.parametrize("current", [np.array([]), np.full(10, np.nan)])
def test_empty_or_all_null_current_is_nan_and_not_drift(metric, current):
    result = drift_metric(metric, np.arange(100.0), current)
    assert math.isnan(result.value)
    assert not result.drifted
    assert result.note == "no non-null current values"
    assert result.current_count == 0


def test_all_null_reference_is_nan_with_a_note():
    result = drift_metric("chi2", np.array([None, None], dtype=object), np.array(["a"]))
    assert math.isnan(result.value) and result.note == "no non-null reference values"


@pytest.mark.parametrize("metric", NUMERIC)
def test_nans_and_infinities_are_dropped(metric):
    rng = np.random.default_rng(3)
    reference, current = rng.normal(size=500), rng.normal(0.2, size=400)
    dirty_ref = np.concatenate([reference, [np.nan, np.inf]])
    dirty_cur = np.concatenate([[np.nan, -np.inf], current])
    clean = drift_metric(metric, reference, current)
    dirty = drift_metric(metric, dirty_ref, dirty_cur)
    assert dirty.value == clean.value
    assert (dirty.reference_count, dirty.current_count) == (500, 400)


def test_single_category_everywhere_shows_no_drift():
    for metric in CATEGORICAL:
        result = drift_metric(metric, np.array(["x"] * 5), np.array(["x"] * 9))
        assert not result.drifted, metric


# --- Bad input ---


def test_metric_that_does_not_apply_to_the_column_kind_is_an_error():
    with pytest.raises(StatsError, match="'chi2' applies to categorical columns; column 'value' is numeric"):
        drift_metric("chi2", np.arange(10.0), np.arange(10.0))
    with pytest.raises(StatsError, match="'ks' applies to numeric"):
        drift_metric("ks", np.array(["a"]), np.array(["b"]))


def test_declared_kind_is_used():
    result = drift_metric("chi2", np.array([1, 2, 2]), np.array([1, 1, 2]), kind="categorical")
    assert result.kind == "categorical"


def test_kinds_that_disagree_between_reference_and_current_are_an_error():
    with pytest.raises(StatsError, match="numeric in the reference but categorical in the current"):
        drift_metric("psi", np.arange(5.0), np.array(["a", "b"]))


def test_an_all_null_object_side_takes_the_other_sides_kind():
    nulls = np.array([None, None], dtype=object)
    result = drift_metric("ks", np.arange(50.0), nulls)
    assert result.kind == "numeric" and math.isnan(result.value) and not result.drifted
    assert drift_metric("wasserstein", nulls, np.arange(5.0)).note == "no non-null reference values"


def test_column_histogram_uses_the_metrics_bins():
    rng = np.random.default_rng(1)
    reference, current = rng.normal(size=1_000), rng.normal(size=800)
    hist = column_histogram(np.append(reference, np.nan), current)
    psi = drift_metric("psi", reference, current)
    np.testing.assert_array_equal(hist.bins.edges, psi.bins.bins.edges)
    np.testing.assert_array_equal(hist.reference_counts, psi.bins.reference_counts)
    assert column_histogram(reference, []) is None


def test_unknown_metric_and_bad_threshold_are_errors():
    with pytest.raises(StatsError, match="unknown metric 'kl'"):
        drift_metric("kl", np.arange(5.0), np.arange(5.0))
    with pytest.raises(StatsError, match=r"between 0\.0 and 1\.0"):
        drift_metric("ks", np.arange(5.0), np.arange(5.0), threshold=5)


def test_non_numbers_declared_numeric_are_an_error():
    with pytest.raises(StatsError, match="declared numeric but holds values that are not numbers"):
        drift_metric("psi", np.array(["1", "x"], dtype=object), np.array([1.0]), kind="numeric")


# --- Properties ---

samples = hnp.arrays(np.float64, st.integers(1, 120), elements=st.floats(-1e3, 1e3))


@settings(max_examples=60, deadline=None)
@given(samples, samples)
def test_psi_is_non_negative_and_js_within_bounds(reference, current):
    psi = drift_metric("psi", reference, current).value
    js = drift_metric("jensen_shannon", reference, current).value
    assert psi >= -1e-12
    assert 0 <= js <= math.sqrt(math.log(2)) + 1e-12 <= 1


@settings(max_examples=60, deadline=None)
@given(samples)
def test_identical_numeric_samples_never_drift(values):
    for metric in NUMERIC:
        result = drift_metric(metric, values, values.copy())
        assert not result.drifted, metric
        if metric != "ks":
            assert result.value == pytest.approx(0.0, abs=1e-12), metric


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(["a", "b", "c", "d"]), min_size=1, max_size=60))
def test_identical_categorical_samples_never_drift(values):
    for metric in CATEGORICAL:
        assert not drift_metric(metric, np.array(values), np.array(values)).drifted, metric


# --- Whole tables ---


@pytest.fixture
def tables():
    rng = np.random.default_rng(9)
    ref = {
        "x": rng.normal(size=3_000),
        "y": rng.exponential(size=3_000),
        "colour": rng.choice(["red", "green", "blue"], size=3_000),
    }
    cur = {
        "x": rng.normal(0.5, size=2_000),
        "y": rng.exponential(size=2_000),
        "colour": rng.choice(["red", "green"], size=2_000),
    }
    return ref, cur


def test_table_applies_each_metric_to_the_columns_of_its_kind(tables):
    ref, cur = tables
    results = drift_table(ref, cur, ["ks", "chi2", "psi"])
    assert [(r.column, r.metric) for r in results] == [
        ("x", "ks"),
        ("x", "psi"),
        ("y", "ks"),
        ("y", "psi"),
        ("colour", "chi2"),
        ("colour", "psi"),
    ]
    for r in results:
        single = drift_metric(r.metric, ref[r.column], cur[r.column], column=r.column)
        assert r.value == single.value and r.drifted == single.drifted
    assert {r.column for r in results if r.drifted} == {"x", "colour"}


def test_table_formats_agree(tables):
    ref, cur = tables
    expected = [(r.column, r.metric, r.value) for r in drift_table(ref, cur, [*CATEGORICAL, "ks"])]
    frames = (pd.DataFrame(ref), pd.DataFrame(cur))
    arrow = (pa.table(ref), pa.table(cur))
    for reference, current in (frames, arrow):
        got = [(r.column, r.metric, r.value) for r in drift_table(reference, current, [*CATEGORICAL, "ks"])]
        assert got == expected
    numeric = drift_table(np.column_stack([ref["x"], ref["y"]]), np.column_stack([cur["x"], cur["y"]]), ["ks"])
    ks = {column: value for column, metric, value in expected if metric == "ks"}
    assert [(r.column, r.value) for r in numeric] == [("0", ks["x"]), ("1", ks["y"])]


def test_table_with_nullable_pandas_and_arrow_columns():
    ref = pd.DataFrame({"n": pd.array([1, 2, None, 4] * 10, dtype="Int64")})
    cur = pa.table({"n": pa.array([1, None, 3, 3] * 10)})
    (result,) = drift_table(ref, cur, ["psi"])
    assert (result.reference_count, result.current_count) == (30, 30)


def test_table_runs_the_same_on_one_thread(tables):
    ref, cur = tables
    pooled = drift_table(ref, cur, NUMERIC)
    serial = drift_table(ref, cur, NUMERIC, max_workers=1)
    assert [r.value for r in pooled] == [r.value for r in serial]


def test_table_thresholds_kinds_and_column_selection(tables):
    ref, cur = tables
    results = drift_table(ref, cur, ["chi2"], columns=["colour"], thresholds={"chi2": 1e-300})
    assert [r.threshold for r in results] == [1e-300]
    as_categories = drift_table(ref, cur, ["chi2"], columns=["x"], kinds={"x": "categorical"})
    assert as_categories[0].kind == "categorical"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"metrics": ["chi2"], "columns": ["x", "y"]}, "apply to none of the columns, which are all numeric"),
        ({"metrics": ["psi"], "columns": ["nope"]}, "reference has no column"),
        ({"metrics": ["psi"], "thresholds": {"ks": 0.1}}, "thresholds given for metrics not requested"),
        ({"metrics": ["psi"], "kinds": {"nope": "numeric"}}, "kinds given for unknown columns"),
        ({"metrics": ["psi"], "kinds": {"x": "ordinal"}}, "kind must be one of"),
        ({"metrics": []}, "no drift metric requested"),
    ],
)
def test_table_errors(tables, kwargs, message):
    ref, cur = tables
    with pytest.raises(StatsError, match=message):
        drift_table(ref, cur, **kwargs)


def test_current_missing_a_column_and_bad_table_types_are_errors(tables):
    ref, cur = tables
    with pytest.raises(StatsError, match="current has no column"):
        drift_table(ref, {"x": cur["x"]}, ["psi"])
    with pytest.raises(StatsError, match="must be a 2-D numpy array"):
        drift_table([1, 2, 3], cur, ["psi"])
    with pytest.raises(StatsError, match="must be a 2-D array"):
        drift_table(np.arange(3.0), cur, ["psi"])


def test_result_serialises_with_its_bins(tables):
    ref, cur = tables
    result = drift_metric("psi", ref["colour"], cur["colour"], column="colour")
    as_dict = result.to_dict()
    assert as_dict["metric"] == "psi" and as_dict["drifted"] is result.drifted
    assert as_dict["bins"]["categories"] == ["blue", "green", "red"]
    assert as_dict["direction"] == DRIFT_METRICS["psi"].direction.value
