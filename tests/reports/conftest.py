"""Monitor reports rendered from real evaluations: the metrics are mlstack.stats' own over seeded data,
the runs are what `Monitors.run` records (value, status, actions), so a report shows what a user's would."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mlstack.emulator.monitors import Evaluation
from mlstack.emulator.report import render
from mlstack.stats.drift import drift_table
from mlstack.stats.model_quality import model_quality

NOW = 1_790_000_000.0  # a fixed clock: 2026-09-21
HOUR = 3600.0


def drift_config() -> dict[str, Any]:
    return {
        "name": "feature-drift",
        "kind": "data_drift",
        "endpoint": "fraud-scorer",
        "metric": "psi",
        "threshold": 0.2,
        "schedule": "0 * * * *",
    }


def drift_runs(values: list[float]) -> list[dict[str, Any]]:
    """Hourly runs, newest last; the last one alerted: retraining started, one alert delivered to a local
    webhook and one e-mail address recorded but not delivered."""
    runs = []
    for i, value in enumerate(values):
        alert = value > 0.2
        actions = (
            [
                {"type": "retrain", "runs": ["train-fraud-20260921-0300"]},
                {"type": "alert", "to": "http://127.0.0.1:9/hook", "delivered": True, "message": "HTTP 204"},
                {"type": "alert", "to": "fraud-oncall@example.com", "delivered": False, "message": "recorded"},
            ]
            if alert
            else []
        )
        runs.append(
            {
                "id": f"feature-drift-{i}",
                "monitor": "feature-drift",
                "at": NOW - (len(values) - i) * HOUR,
                "trigger": "schedule",
                "status": "alert" if alert else "ok",
                "value": value,
                "threshold": 0.2,
                "message": f"psi {value:.4g} on txn_count_24h",
                "results": [],
                "actions": actions,
            }
        )
    return runs


def drift_evaluation(seed: int = 7) -> Evaluation:
    rng = np.random.default_rng(seed)
    reference = pd.DataFrame({"txn_count_24h": rng.normal(10, 3, 500), "amount": rng.gamma(2, 30, 500)})
    current = pd.DataFrame({"txn_count_24h": rng.normal(14, 3, 300), "amount": rng.gamma(2, 30, 300)})
    results = drift_table(reference, current, ["psi"], thresholds={"psi": 0.2})
    return Evaluation(
        drift_config(), (NOW - HOUR, NOW), len(current), list(results), reference, current, list(reference.columns)
    )


def drift_report(runs: list[dict[str, Any]] | None = None) -> str:
    evaluation = drift_evaluation()
    return render(evaluation, drift_runs([0.05, 0.08, 0.11, evaluation.worst.value]) if runs is None else runs)


def quality_evaluation(problem: str, seed: int = 11) -> Evaluation:
    rng = np.random.default_rng(seed)
    n = 240
    if problem == "regression":
        truth = rng.normal(50, 10, n)
        predicted = truth + rng.normal(0, 4, n)
        labelled = pd.DataFrame({"label": truth, "prediction": predicted, "score": [None] * n})
        metric, results = "rmse", model_quality(truth, predicted, metrics=["rmse"])
    else:
        score = rng.uniform(0, 1, n)
        truth = (rng.uniform(0, 1, n) < score).astype(int)
        predicted = (score > 0.5).astype(int)
        labelled = pd.DataFrame({"label": truth, "prediction": predicted, "score": score})
        metric = "accuracy"
        results = model_quality(truth, predicted, metrics=["accuracy"], thresholds={"accuracy": 0.9})
    config = {
        "name": "scorer-quality",
        "kind": "model_quality",
        "endpoint": "fraud-scorer",
        "metric": metric,
        "threshold": 0.9 if metric == "accuracy" else None,
        "schedule": "0 4 * * *",
        "problem_type": problem,
    }
    return Evaluation(config, (None, NOW), n, list(results), labelled=labelled)


def quality_report(problem: str) -> str:
    evaluation = quality_evaluation(problem)
    value = evaluation.worst.value
    threshold = evaluation.monitor["threshold"]
    runs = [
        {
            "id": f"q-{i}",
            "monitor": "scorer-quality",
            "at": NOW - (3 - i) * 24 * HOUR,
            "trigger": "schedule",
            "status": "alert" if threshold is not None and value * (1 + 0.02 * i) < threshold else "ok",
            "value": value * (1 + 0.02 * i),
            "threshold": evaluation.monitor["threshold"],
            "message": "",
            "results": [],
            "actions": [],
        }
        for i in range(3)
    ]
    return render(evaluation, runs)
