"""Which engine runs each monitor on SageMaker, and the CloudWatch metric its alarm watches.

A monitor acts (alerts, retrains, rolls back) through a CloudWatch alarm, so it needs a metric. By
default every monitor runs mlstack's own evaluator as a scheduled one-step SageMaker pipeline
(monitor_pipeline.py), which publishes one value, `mlstack_<metric>` (the worst column, or the metric over
the labelled answers), to `mlstack/Monitors` with the Endpoint and Monitor dimensions: SageMaker Model
Monitor is closed to new customers. With `target.aws.model_monitor: true` (an account that has it):

- model_quality runs SageMaker's own model-quality job, which publishes one value per metric to
  `aws/sagemaker/Endpoints/model-metrics`;
- data_drift with `l_infinity` and data_quality with `null_rate` run SageMaker's analyzer (a data-quality
  job definition) when the monitor names at most 10 features: the analyzer publishes drift distance and
  completeness per feature (`feature_baseline_drift_<f>`, `feature_non_null_<f>`) and one metric-math alarm
  takes the worst of them (an alarm may combine at most 10 metrics);
- everything else runs mlstack's evaluator as above.

Pure data and functions: validation may import this module."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from mlstack.resolve import metric_of, threshold_of
from mlstack.spec.models import Monitor, Spec
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
    MONITOR_NAMESPACE,
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


def model_monitor(spec: Spec) -> bool:
    """Whether the account has SageMaker Model Monitor and the spec asks to use it."""
    return bool(spec.target.aws and spec.target.aws.model_monitor)


def engine(monitor: Monitor, native: bool) -> Engine:
    """`native`: model_monitor(spec); without it every monitor runs mlstack's evaluator."""
    if not native:
        return "mlstack"
    if monitor.kind == "model_quality":
        return "model_quality"
    if (
        ANALYZER_KINDS.get(monitor.metric) == monitor.kind
        and monitor.features
        and len(monitor.features) <= MAX_ALARM_METRICS
    ):
        return "data_quality"
    return "mlstack"


def metric_name(monitor: Monitor) -> str:
    """What mlstack's monitor job publishes for the monitor."""
    return f"mlstack_{monitor.metric}"


def threshold(monitor: Monitor) -> float | None:
    return threshold_of(monitor)


def signal(monitor: Monitor, native: bool) -> Signal | None:
    """The alarm's metric, or None when the monitor has no threshold (no alarm, reports only)."""
    limit = threshold(monitor)
    if limit is None:
        return None
    higher_is_better = metric_spec(monitor).direction is Direction.HIGHER_IS_BETTER
    kind = engine(monitor, native)
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
        names = (metric_name(monitor),)
        namespace = MONITOR_NAMESPACE
    if higher_is_better:
        return Signal(namespace, names, "Minimum", "LessThanThreshold", limit)
    return Signal(namespace, names, "Maximum", "GreaterThanThreshold", limit)
