"""Which engine runs each monitor on SageMaker, and the CloudWatch metric its alarm watches.

A monitor acts (alerts, retrains, rolls back) through a CloudWatch alarm, so it needs a metric:

- model_quality runs SageMaker's own model-quality job, which publishes one value per metric to
  `aws/sagemaker/Endpoints/model-metrics`;
- data_drift with `l_infinity` and data_quality with `null_rate` run SageMaker's analyzer (a data-quality
  job definition) when the monitor names at most 10 features: the analyzer publishes drift distance and
  completeness per feature (`feature_baseline_drift_<f>`, `feature_non_null_<f>`) and one metric-math alarm
  takes the worst of them (an alarm may combine at most 10 metrics);
- everything else (psi, jensen_shannon, wasserstein, chi2, ks, type_error_rate, out_of_range_rate,
  prediction_drift, or no features named) runs mlstack's own monitoring container on the same schedule
  (bring-your-own-container Model Monitor), computing with mlstack.stats and publishing one value,
  `mlstack_<metric>` (worst column), with the Endpoint and MonitoringSchedule dimensions.

Pure data and functions: validation may import this module."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from mlstack.resolve import metric_of, threshold_of
from mlstack.spec.models import Monitor
from mlstack.stats.registry import (
    Direction,
    MetricSpec,
)
from mlstack.targets.aws import (
    ANALYZER,
    ANALYZER_KINDS,
    DATA_NAMESPACE,
    MAX_ALARM_METRICS,
    MODEL_METRICS,
    MODEL_NAMESPACE,
)

Engine = Literal["data_quality", "model_quality", "mlstack"]


@dataclass(frozen=True)
class Signal:
    """What a monitor's alarm watches: one metric, or the worst of several per-feature metrics."""

    namespace: str
    metric_names: tuple[str, ...]
    statistic: Literal["Maximum", "Minimum"]
    comparison: Literal["GreaterThanThreshold", "LessThanThreshold"]
    threshold: float

    @property
    def combine(self) -> str:
        return "MAX" if self.statistic == "Maximum" else "MIN"


def metric_spec(monitor: Monitor) -> MetricSpec:
    return metric_of(monitor.metric)


def engine(monitor: Monitor) -> Engine:
    if monitor.kind == "model_quality":
        return "model_quality"
    if (
        ANALYZER_KINDS.get(monitor.metric) == monitor.kind
        and monitor.features
        and len(monitor.features) <= MAX_ALARM_METRICS
    ):
        return "data_quality"
    return "mlstack"


def threshold(monitor: Monitor) -> float | None:
    return threshold_of(monitor)


def signal(monitor: Monitor) -> Signal | None:
    """The alarm's metric, or None when the monitor has no threshold (no alarm, reports only)."""
    limit = threshold(monitor)
    if limit is None:
        return None
    higher_is_better = metric_spec(monitor).direction is Direction.HIGHER_IS_BETTER
    kind = engine(monitor)
    if kind == "data_quality":
        template, inverted = ANALYZER[monitor.metric]
        names = tuple(template.format(feature=f) for f in monitor.features)
        if inverted:  # completeness = 1 - null rate: alarm when the least complete feature falls below
            return Signal(DATA_NAMESPACE, names, "Minimum", "LessThanThreshold", 1.0 - limit)
        return Signal(DATA_NAMESPACE, names, "Maximum", "GreaterThanThreshold", limit)
    if kind == "model_quality":
        assert monitor.problem_type is not None
        names = (MODEL_METRICS[monitor.problem_type][monitor.metric],)
        namespace = MODEL_NAMESPACE
    else:
        names = (f"mlstack_{monitor.metric}",)
        namespace = DATA_NAMESPACE
    if higher_is_better:
        return Signal(namespace, names, "Minimum", "LessThanThreshold", limit)
    return Signal(namespace, names, "Maximum", "GreaterThanThreshold", limit)
