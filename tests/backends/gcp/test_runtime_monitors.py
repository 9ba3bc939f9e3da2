"""The Vertex monitor task computes every monitor kind with the evaluator all targets share
(mlstack.runtime.monitors), over a fake BigQuery that answers the task's own SQL."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mlstack.backends.gcp import runtime

LOG = "p-123456.fraud.scorer_requests"
BASELINE = "p-123456.baselines.training"
LABELS = "p-123456.labels.scorer"


class FakeBigQuery:
    """Answers `SELECT ... FROM `table`` with the rows stored for that table."""

    def __init__(self, tables: dict[str, list[dict[str, Any]]]) -> None:
        self.tables = tables
        self.queries: list[str] = []

    def query(self, sql: str, job_config: Any = None) -> Any:
        self.queries.append(sql)
        table = next(name for name in self.tables if f"`{name}`" in sql)
        rows = self.tables[table]
        return type("Job", (), {"result": lambda self: rows})()


def logged(requests: list[list[dict[str, Any]]], answers: list[list[Any]]) -> list[dict[str, Any]]:
    return [
        {
            "request_id": f"r{i}",
            "request_payload": [json.dumps(x) for x in instances],
            "response_payload": [json.dumps(a) for a in outs],
        }
        for i, (instances, outs) in enumerate(zip(requests, answers, strict=True))
    ]


@pytest.fixture
def alerts(monkeypatch: pytest.MonkeyPatch) -> list[tuple]:
    sent: list[tuple] = []
    monkeypatch.setattr(runtime, "alert", lambda *args: sent.append(args))
    return sent


def run(monkeypatch: pytest.MonkeyPatch, tables: dict[str, list[dict[str, Any]]], monitor: dict[str, Any]) -> str:
    fake = FakeBigQuery(tables)
    monkeypatch.setattr(runtime, "_bigquery", lambda: fake)
    args = runtime.parser().parse_args(
        ["monitor", f"--monitor={json.dumps(monitor)}", f"--table={LOG}", "--topic=projects/p/topics/t", "--features=x"]
    )
    return runtime.monitor(args)


def test_data_quality_is_computed_and_alerts_past_the_threshold(monkeypatch, alerts):
    requests = [[{"amount": 1.0, "country": "FR"}], [{"amount": None, "country": "DE"}], [{"amount": 3.0}]]
    tables = {
        LOG: logged(requests, [[0], [1], [0]]),
        BASELINE: [{"amount": 2.0, "country": "FR"}, {"amount": 5.0, "country": "DE"}],
    }
    monitor = {
        "name": "input-quality",
        "kind": "data_quality",
        "metric": "null_rate",
        "baseline": f"bq://{BASELINE}",
        "threshold": 0.2,
        "features": [],
    }
    message = run(monkeypatch, tables, monitor)
    # one of three amounts and one of three countries are missing: a third, past 0.2
    assert "null_rate 0.333333" in message and "alerted" in message
    ((name, _topic, value, threshold),) = alerts
    assert (name, round(value, 6), threshold) == ("input-quality", 0.333333, 0.2)


def test_model_quality_joins_labels_by_request_and_uses_the_metrics_direction(monkeypatch, alerts):
    requests = [[{"amount": 1.0}, {"amount": 2.0}], [{"amount": 3.0}], [{"amount": 4.0}]]
    tables = {
        LOG: logged(requests, [[1, 0], [1], [0]]),
        LABELS: [{"request_id": "r0", "label": "[1, 1]"}, {"request_id": "r1", "label": 1}],  # r2 unlabelled
    }
    monitor = {
        "name": "scorer-accuracy",
        "kind": "model_quality",
        "metric": "accuracy",
        "threshold": 0.9,
        "problem_type": "binary_classification",
        "ground_truth": f"bq://{LABELS}",
    }
    message = run(monkeypatch, tables, monitor)
    # 2 of the 3 labelled answers are right: accuracy 0.667 is below 0.9 (higher is better)
    assert message.startswith("monitor scorer-accuracy: accuracy 0.666667") and "alerted" in message
    assert len(alerts) == 1


def test_prediction_drift_within_its_threshold_does_not_alert(monkeypatch, alerts):
    answers = [[0.1], [0.2], [0.3], [0.4]] * 10
    tables = {
        LOG: logged([[{"a": 1}]] * 40, answers),
        BASELINE: [{"prediction": v} for v in (0.1, 0.2, 0.3, 0.4) * 10],
    }
    monitor = {
        "name": "score-drift",
        "kind": "prediction_drift",
        "metric": "psi",
        "baseline": f"bq://{BASELINE}",
        "threshold": 0.1,
        "features": [],
    }
    message = run(monkeypatch, tables, monitor)
    assert "within 0.1" in message and not alerts


def test_labels_from_elsewhere_than_bigquery_are_a_clear_failure(monkeypatch, alerts):
    tables = {LOG: logged([[{"a": 1}]], [[1]])}
    monitor = {"name": "q", "kind": "model_quality", "metric": "accuracy", "ground_truth": "gs://labels/x.csv"}
    with pytest.raises(runtime.TaskFailed, match="reads labels from a bq:// table"):
        run(monkeypatch, tables, monitor)
