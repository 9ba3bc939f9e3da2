import math
import subprocess
import sys

import pytest

from mlstack.stats import drift, model_quality
from mlstack.stats.registry import (
    DATA_QUALITY_METRICS,
    DRIFT_METRICS,
    MODEL_QUALITY_METRICS,
    Direction,
    MetricResult,
    StatsError,
    lookup,
)


def test_drift_metric_names_directions_defaults_and_kinds():
    expected = {
        "psi": (Direction.LOWER_IS_BETTER, 0.1, {"numeric", "categorical"}),
        "ks": (Direction.HIGHER_IS_BETTER, 0.05, {"numeric"}),
        "jensen_shannon": (Direction.LOWER_IS_BETTER, 0.1, {"numeric", "categorical"}),
        "wasserstein": (Direction.LOWER_IS_BETTER, 0.1, {"numeric"}),
        "chi2": (Direction.HIGHER_IS_BETTER, 0.05, {"categorical"}),
        "l_infinity": (Direction.LOWER_IS_BETTER, 0.1, {"categorical"}),
    }
    actual = {n: (s.direction, s.default_threshold, set(s.kinds)) for n, s in DRIFT_METRICS.items()}
    assert actual == expected


def test_every_registered_metric_has_an_implementation():
    assert set(drift._KERNELS) == set(DRIFT_METRICS)
    implemented = set(model_quality._LABEL_METRICS) | set(model_quality._PLAIN_METRICS) | {"auc"}
    assert implemented == set(MODEL_QUALITY_METRICS)
    assert set(DATA_QUALITY_METRICS) == {"null_rate", "type_error_rate", "out_of_range_rate"}


def test_model_quality_directions():
    higher = {n for n, s in MODEL_QUALITY_METRICS.items() if s.direction is Direction.HIGHER_IS_BETTER}
    assert higher == {"accuracy", "precision", "recall", "f1", "auc"}


@pytest.mark.parametrize(
    ("direction", "value", "threshold", "breached"),
    [
        (Direction.HIGHER_IS_BETTER, 0.01, 0.05, True),
        (Direction.HIGHER_IS_BETTER, 0.05, 0.05, False),
        (Direction.HIGHER_IS_BETTER, 0.5, 0.05, False),
        (Direction.LOWER_IS_BETTER, 0.2, 0.1, True),
        (Direction.LOWER_IS_BETTER, 0.1, 0.1, False),
        (Direction.LOWER_IS_BETTER, 0.0, 0.1, False),
        (Direction.LOWER_IS_BETTER, math.nan, 0.1, False),
        (Direction.HIGHER_IS_BETTER, math.nan, 0.1, False),
    ],
)
def test_direction_breached(direction, value, threshold, breached):
    assert direction.breached(value, threshold) is breached


def test_unknown_metric_suggests_the_close_name():
    with pytest.raises(StatsError, match="did you mean 'jensen_shannon'"):
        lookup("jensen_shanon", DRIFT_METRICS)


@pytest.mark.parametrize(("name", "threshold"), [("ks", 1.5), ("psi", -0.1), ("psi", "high"), ("ks", True)])
def test_nonsense_thresholds_are_rejected(name, threshold):
    with pytest.raises(StatsError, match=f"threshold for '{name}'"):
        DRIFT_METRICS[name].check_threshold(threshold)


def test_threshold_defaults_when_not_given():
    assert DRIFT_METRICS["ks"].check_threshold(None) == 0.05
    assert DRIFT_METRICS["psi"].check_threshold(0.25) == 0.25


def test_result_without_threshold_is_never_breached():
    result = MetricResult(metric="mae", value=10.0, threshold=None, direction=Direction.LOWER_IS_BETTER)
    assert not result.breached
    assert result.to_dict()["breached"] is False


def test_registry_imports_without_numpy():
    code = "import sys, mlstack.stats.registry; print('numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
