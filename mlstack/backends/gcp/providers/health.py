"""The rollback alarms of a rollout, read from Cloud Monitoring's Vertex prediction metrics for one
deployed model over the alarm window (the provider's stand-in for SageMaker's CloudWatch alarms)."""

from __future__ import annotations

import time
from typing import Any

PREDICTIONS = "aiplatform.googleapis.com/prediction/online/prediction_count"
ERRORS = "aiplatform.googleapis.com/prediction/online/error_count"
LATENCY = "aiplatform.googleapis.com/prediction/online/prediction_latencies"


def monitoring() -> Any:
    from google.cloud import monitoring_v3

    return monitoring_v3


class Health:
    """Breaches of `rollback` (max_error_rate, max_p99_latency_ms, window) by one deployed model."""

    def __init__(self, project: str, endpoint_id: str, rollback: dict[str, Any] | None) -> None:
        self.project = project
        self.endpoint_id = endpoint_id
        self.rollback = rollback or {}

    @property
    def enabled(self) -> bool:
        return bool(self.rollback.get("max_error_rate") or self.rollback.get("max_p99_latency_ms"))

    def _series(self, client: Any, metric: str, deployed_model_id: str, aligner: Any, reducer: Any) -> float | None:
        m = monitoring()
        window = int(self.rollback.get("window", 300))
        now = time.time()
        request = m.ListTimeSeriesRequest(
            name=f"projects/{self.project}",
            filter=(
                f'metric.type = "{metric}" AND resource.labels.endpoint_id = "{self.endpoint_id}" '
                f'AND metric.labels.deployed_model_id = "{deployed_model_id}"'
            ),
            interval=m.TimeInterval(start_time={"seconds": int(now) - window}, end_time={"seconds": int(now)}),
            aggregation=m.Aggregation(
                alignment_period={"seconds": window}, per_series_aligner=aligner, cross_series_reducer=reducer
            ),
            view=m.ListTimeSeriesRequest.TimeSeriesView.FULL,
        )
        values = [
            point.value.double_value or float(point.value.int64_value)
            for series in client.list_time_series(request=request)
            for point in series.points
        ]
        return sum(values) if values else None

    def breaches(self, deployed_model_id: str) -> list[str]:
        if not self.enabled:
            return []
        m = monitoring()
        client = m.MetricServiceClient()
        agg = m.Aggregation
        found = []
        if (limit := self.rollback.get("max_error_rate")) is not None:
            errors = self._series(client, ERRORS, deployed_model_id, agg.Aligner.ALIGN_SUM, agg.Reducer.REDUCE_SUM)
            total = self._series(client, PREDICTIONS, deployed_model_id, agg.Aligner.ALIGN_SUM, agg.Reducer.REDUCE_SUM)
            if errors and total and errors / total > limit:
                found.append(f"error rate {errors / total:.2%} > {limit:.2%}")
        if (limit := self.rollback.get("max_p99_latency_ms")) is not None:
            p99 = self._series(
                client, LATENCY, deployed_model_id, agg.Aligner.ALIGN_PERCENTILE_99, agg.Reducer.REDUCE_MAX
            )
            if p99 is not None and p99 > limit:
                found.append(f"p99 latency {p99:.0f} ms > {limit:.0f} ms")
        return found
