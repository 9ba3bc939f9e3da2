import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as sk

from mlstack.stats.model_quality import accuracy, auc, f1, mae, model_quality, precision, recall, rmse
from mlstack.stats.registry import StatsError


@pytest.fixture
def binary():
    rng = np.random.default_rng(4)
    truth = rng.integers(0, 2, size=500)
    score = np.round(truth * 0.3 + rng.random(500), 2)  # rounded: plenty of tied scores
    return truth, (score > 0.6).astype(int), score


def test_classification_metrics_equal_scikit_learn(binary):
    truth, pred, score = binary
    assert accuracy(truth, pred) == pytest.approx(sk.accuracy_score(truth, pred), abs=1e-12)
    assert precision(truth, pred) == pytest.approx(sk.precision_score(truth, pred), abs=1e-12)
    assert recall(truth, pred) == pytest.approx(sk.recall_score(truth, pred), abs=1e-12)
    assert f1(truth, pred) == pytest.approx(sk.f1_score(truth, pred), abs=1e-12)
    assert auc(truth, score) == pytest.approx(sk.roc_auc_score(truth, score), abs=1e-12)


def test_string_labels_and_macro_average():
    rng = np.random.default_rng(5)
    truth = rng.choice(["cat", "dog", "fox"], size=300)
    pred = np.where(rng.random(300) < 0.7, truth, rng.choice(["cat", "dog", "fox", "owl"], size=300))
    for ours, theirs in ((precision, sk.precision_score), (recall, sk.recall_score), (f1, sk.f1_score)):
        expected = theirs(truth, pred, average="macro", zero_division=0)
        assert ours(truth, pred, average="macro") == pytest.approx(expected, abs=1e-12)
    assert precision(truth, pred, pos_label="dog") == pytest.approx(
        sk.precision_score(truth, pred, labels=["dog"], average="macro"), abs=1e-12
    )


def test_regression_metrics_textbook_values():
    truth, pred = [1.0, 2.0, 3.0, 4.0], [2.0, 2.0, 1.0, 4.0]
    assert mae(truth, pred) == pytest.approx(0.75)
    assert rmse(truth, pred) == pytest.approx(math.sqrt(5 / 4))


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.floats(-1e3, 1e3), st.floats(-1e3, 1e3)), min_size=1, max_size=50))
def test_regression_metrics_equal_scikit_learn(pairs):
    truth, pred = np.array(pairs).T
    assert mae(truth, pred) == pytest.approx(sk.mean_absolute_error(truth, pred), rel=1e-9, abs=1e-9)
    assert rmse(truth, pred) == pytest.approx(sk.root_mean_squared_error(truth, pred), rel=1e-9, abs=1e-9)


def test_rows_without_labels_are_dropped():
    truth = np.array([1.0, np.nan, 0.0, 1.0])
    pred = np.array([1.0, 0.0, np.nan, 0.0])
    assert accuracy(truth, pred) == 0.5
    assert mae(truth, pred) == 0.5


def test_undefined_metrics_are_nan():
    assert math.isnan(auc([1, 1, 1], [0.2, 0.3, 0.9]))
    assert math.isnan(accuracy([], []))
    assert precision([0, 0], [0, 0]) == 0.0  # nothing predicted positive


def test_model_quality_checks_thresholds_by_direction(binary):
    truth, pred, score = binary
    results = model_quality(
        truth,
        pred,
        y_score=score,
        metrics=["accuracy", "auc", "mae"],
        thresholds={"accuracy": 0.99, "auc": 0.5, "mae": 0.0},
    )
    by_name = {r.metric: r for r in results}
    assert by_name["accuracy"].breached  # below a higher-is-better threshold
    assert not by_name["auc"].breached
    assert by_name["mae"].breached  # above a lower-is-better threshold


def test_model_quality_input_errors(binary):
    truth, pred, _ = binary
    with pytest.raises(StatsError, match="'auc' needs y_score"):
        model_quality(truth, pred, metrics=["auc"])
    with pytest.raises(StatsError, match="y_true has 500 rows but y_pred has 3"):
        model_quality(truth, [1, 0, 1], metrics=["accuracy"])
    with pytest.raises(StatsError, match="unknown metric 'r2'"):
        model_quality(truth, pred, metrics=["r2"])
    with pytest.raises(StatsError, match="average must be"):
        precision(truth, pred, average="micro")
    with pytest.raises(StatsError, match="need numeric labels"):
        mae(["a"], ["b"])
