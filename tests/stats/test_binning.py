import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from mlstack.stats.binning import SMALL_CARDINALITY, Bins, choose_bins, histogram, sturges_edges

finite_floats = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)


@pytest.mark.parametrize("sizes", [(30, 30), (1000, 10), (10, 1000), (100_000, 50_000)])
def test_sturges_edges_equal_numpy_on_the_concatenation(sizes):
    rng = np.random.default_rng(sum(sizes))
    reference = rng.normal(size=sizes[0])
    current = rng.normal(2, 3, size=sizes[1])
    expected = np.histogram_bin_edges(np.concatenate([reference, current]), bins="sturges")
    np.testing.assert_array_equal(sturges_edges(reference, current), expected)


def test_sturges_edges_apply_numpys_integer_width_floor():
    # 21 distinct integers over 2**20 rows: Sturges alone would give 21 bins narrower than 1.
    rng = np.random.default_rng(0)
    reference = rng.integers(0, 21, size=2**19)
    current = rng.integers(0, 21, size=2**19)
    expected = np.histogram_bin_edges(np.concatenate([reference, current]), bins="sturges")
    edges = sturges_edges(reference, current)
    np.testing.assert_array_equal(edges, expected)
    assert np.all(np.diff(edges) >= 1)


@settings(max_examples=60, deadline=None)
@given(
    hnp.arrays(np.float64, st.integers(1, 300), elements=finite_floats),
    hnp.arrays(np.float64, st.integers(1, 300), elements=finite_floats),
)
def test_sturges_edges_and_counts_match_numpy_histogram(reference, current):
    edges = sturges_edges(reference, current)
    np.testing.assert_array_equal(edges, np.histogram_bin_edges(np.concatenate([reference, current]), "sturges"))
    bins = Bins("sturges", edges=edges)
    np.testing.assert_array_equal(bins.count(reference), np.histogram(reference, edges)[0])
    np.testing.assert_array_equal(bins.count(current), np.histogram(current, edges)[0])


def test_counting_ignores_values_outside_the_edges_and_closes_the_last_bin():
    bins = Bins("sturges", edges=np.array([0.0, 1.0, 2.0]))
    values = np.array([-1.0, 0.0, 0.5, 1.0, 2.0, 2.5])
    assert bins.count(values).tolist() == [2, 2]
    assert bins.labels() == ["[0, 1)", "[1, 2]"]


def test_many_distinct_numeric_values_get_sturges_bins():
    reference = np.arange(SMALL_CARDINALITY + 1, dtype=float)
    bins = choose_bins(reference, reference, "numeric")
    assert bins.rule == "sturges"
    assert "Sturges" in bins.describe()


def test_few_distinct_numeric_values_are_binned_as_categories_of_both_samples():
    reference = np.tile(np.arange(SMALL_CARDINALITY, dtype=float), 5)  # exactly 20 distinct
    current = np.array([0.0, 1.0, 99.0])
    hist = histogram(reference, current, "numeric")
    assert hist.bins.rule == "categories"
    assert hist.bins.categories.tolist() == [*range(SMALL_CARDINALITY), 99.0]
    assert hist.reference_counts.tolist() == [5] * SMALL_CARDINALITY + [0]
    assert hist.current_counts.tolist() == [1, 1] + [0] * (SMALL_CARDINALITY - 2) + [1]


def test_the_distinct_count_looks_past_the_first_rows():
    # The first 320 values hold one distinct value; the column as a whole holds 21.
    reference = np.concatenate([np.zeros(1000), np.arange(1, SMALL_CARDINALITY + 1, dtype=float)])
    assert choose_bins(reference, reference, "numeric").rule == "sturges"


def test_string_and_mixed_object_categories():
    hist = histogram(np.array(["b", "a", "b"]), np.array(["c", "a"]), "categorical")
    assert hist.bins.categories.tolist() == ["a", "b", "c"]
    assert hist.reference_counts.tolist() == [1, 2, 0]
    assert hist.current_counts.tolist() == [1, 0, 1]

    mixed = histogram(np.array([1, "x", 1], dtype=object), np.array(["x", 2], dtype=object), "categorical")
    assert dict(zip(mixed.bins.categories.tolist(), mixed.reference_counts.tolist(), strict=True)) == {
        1: 2,
        2: 0,
        "x": 1,
    }


def test_shares_and_serialisation():
    hist = histogram(np.array([True, True, False, True]), np.array([False, False]), "categorical")
    np.testing.assert_allclose(hist.reference_shares, [0.25, 0.75])
    np.testing.assert_allclose(hist.current_shares, [1.0, 0.0])
    assert hist.to_dict() == {
        "rule": "categories",
        "categories": [False, True],
        "reference_counts": [1, 3],
        "current_counts": [2, 0],
    }
