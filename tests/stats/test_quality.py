import math

import numpy as np
import pandas as pd
import pytest

from mlstack.stats.quality import (
    data_quality,
    expected_type_of,
    null_rate,
    out_of_range_rate,
    type_error_rate,
)
from mlstack.stats.registry import StatsError


def test_null_rate_counts_every_kind_of_missing():
    assert null_rate([1.0, np.nan, 3.0, np.nan]) == 0.5
    assert null_rate(np.array(["a", None, pd.NA, np.nan], dtype=object)) == 0.75
    assert null_rate(pd.Series([1, None, 3], dtype="Int64")) == pytest.approx(1 / 3)
    assert null_rate(np.arange(4)) == 0.0
    assert math.isnan(null_rate([]))


@pytest.mark.parametrize(
    ("values", "expected", "rate"),
    [
        (np.array(["1.5", "2", "abc", None, "nan?"], dtype=object), "float", 2 / 4),
        (np.array([1.0, 2.5, 3.0, np.nan]), "int", 1 / 3),
        (np.array(["1", "2.0", "2.5", "x"], dtype=object), "int", 2 / 4),
        (np.array([True, "False", " true ", "yes", 1, 2], dtype=object), "bool", 2 / 6),
        (np.array([0, 1, 2]), "bool", 1 / 3),
        (np.array(["a", 3, None, "b"], dtype=object), "string", 1 / 3),
        (np.array([1.0, 2.0]), "string", 1.0),
        (np.array(["a", "b"]), "string", 0.0),
        (np.array([1, 2, 3]), "float", 0.0),
    ],
)
def test_type_error_rate(values, expected, rate):
    assert type_error_rate(values, expected) == pytest.approx(rate)


def test_type_error_rate_of_only_nulls_is_nan_and_unknown_type_is_an_error():
    assert math.isnan(type_error_rate([None, None], "float"))
    with pytest.raises(StatsError, match="expected type must be one of"):
        type_error_rate([1], "decimal")


def test_out_of_range_numeric_with_bounds_and_reference_defaults():
    values = np.array([-1.0, 0.0, 5.0, 10.0, 11.0, np.nan])
    assert out_of_range_rate(values, 0, 10) == pytest.approx(2 / 5)
    assert out_of_range_rate(values, reference=[0.0, 4.0, 10.0]) == pytest.approx(2 / 5)
    assert out_of_range_rate(values, low=-5, reference=[0.0, 4.0]) == pytest.approx(3 / 5)  # 5, 10, 11 > 4


def test_out_of_range_categorical_counts_values_the_reference_never_had():
    values = np.array(["a", "b", "z", None], dtype=object)
    assert out_of_range_rate(values, reference=np.array(["a", "b", "c"])) == pytest.approx(1 / 3)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: out_of_range_rate([1.0, 2.0]), "needs both bounds or the reference"),
        (lambda: out_of_range_rate(["a"]), "needs the reference values"),
        (lambda: out_of_range_rate([1.0], 5, 1), "range is empty"),
        (lambda: out_of_range_rate([1.0], reference=[np.nan]), "no numeric values"),
    ],
)
def test_out_of_range_errors(call, message):
    with pytest.raises(StatsError, match=message):
        call()


def test_expected_type_is_inferred_from_the_reference():
    assert expected_type_of(np.array([1.5])) == "float"
    assert expected_type_of(np.array([1, 2])) == "int"
    assert expected_type_of(np.array(["a", None], dtype=object)) == "string"
    assert expected_type_of(np.array([1, "a"], dtype=object)) is None


def test_data_quality_table():
    reference = pd.DataFrame({"age": [20.0, 30.0, 40.0, 50.0], "city": ["a", "b", "a", "b"]})
    current = pd.DataFrame(
        {
            "age": np.array([25.0, None, 90.0, 35.0]),
            "city": np.array(["a", None, "c", 7], dtype=object),
        }
    )
    results = data_quality(current, reference=reference, thresholds={"null_rate": 0.1})
    table = {(r.column, r.metric): r for r in results}
    assert table["age", "null_rate"].value == 0.25 and table["age", "null_rate"].breached
    assert table["age", "type_error_rate"].value == 0.0
    assert table["age", "out_of_range_rate"].value == pytest.approx(1 / 3)
    assert table["city", "type_error_rate"].value == pytest.approx(1 / 3)  # 7 is not text
    assert table["city", "out_of_range_rate"].value == pytest.approx(2 / 3)  # "c" and 7
    assert not table["city", "out_of_range_rate"].breached  # no threshold given


def test_data_quality_without_reference_says_what_is_missing():
    current = {"x": np.array([1.0, np.nan])}
    results = data_quality(current, expected_types={"x": "int"}, ranges={"x": (0, 0.5)})
    assert [(r.metric, r.value) for r in results] == [
        ("null_rate", 0.5),
        ("type_error_rate", 0.0),
        ("out_of_range_rate", 1.0),
    ]
    (no_type,) = data_quality(current, metrics=["type_error_rate"])
    assert math.isnan(no_type.value) and "no expected type" in no_type.note
    (no_range,) = data_quality(current, metrics=["out_of_range_rate"])
    assert math.isnan(no_range.value) and "no range" in no_range.note


def test_data_quality_rejects_unknown_metrics():
    with pytest.raises(StatsError, match="did you mean 'null_rate'"):
        data_quality({"x": [1.0]}, metrics=["nul_rate"])
