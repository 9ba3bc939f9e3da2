"""How a step logs parameters and metrics: the one way that works on every target.

    from mlstack.runtime import tracking

    tracking.log_param("max_depth", 6)
    for epoch in range(10):
        tracking.log_metric("loss", loss, step=epoch)  # a time series: one value per step

Each call appends one JSON line to the file named by $MLSTACK_METRICS_LOG (`tracking.jsonl` in the step's
output folder), with no dependency beyond the standard library, because a step image carries mlstack
without its dependencies (runtime/images.py). The names and arguments are MLflow's (`log_param`,
`log_params`, `log_metric`, `log_metrics`), so a step written against MLflow changes one import.

Why a file and not `import mlflow` in the step: the MLflow client (even mlflow-skinny) pulls in a dozen
packages the user's image may not have or may pin differently, and the local target would need a
tracking server. The file is read after the step by whoever ran it:
- the local emulator stores it with the run (`mlstack runs show|compare`);
- the cloud step adapter (runtime/step.py) forwards it to MLflow when the job's environment names a
  tracking server (MLFLOW_TRACKING_URI: SageMaker managed MLflow, Azure ML's workspace tracking) and the
  image has `mlflow`; the file also stays in the step's output on every cloud.
"""

from __future__ import annotations

import json
import math
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ENV = "MLSTACK_METRICS_LOG"
TRACKING_FILE = "tracking.jsonl"
# MLflow's own rule for metric and param keys (mlflow/utils/validation.py), so what logs here logs there.
KEY = re.compile(r"^[\w\-. /]{1,250}$")
MAX_PARAM = 6000  # MLflow's limit on a param value's length


class TrackingError(ValueError):
    """A call or a logged line that breaks the contract; the message says which."""


@dataclass
class Tracked:
    """What a step logged: its params, and every metric value in the order logged."""

    params: dict[str, str] = field(default_factory=dict)
    metrics: list[dict[str, Any]] = field(default_factory=list)  # {"key", "value", "step", "t"}

    def last(self) -> dict[str, float]:
        """The last value of each metric, as a run summary shows it."""
        return {m["key"]: m["value"] for m in self.metrics}


def _key(key: Any) -> str:
    if not isinstance(key, str) or not KEY.match(key):
        raise TrackingError(
            f"tracking key {key!r} must be 1-250 letters, digits, '_', '-', '.', ' ' or '/' (MLflow's rule)"
        )
    return key


def _number(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise TrackingError(f"metric {key} must be a finite number, not {value!r}")
    return float(value)


def _append(entry: dict[str, Any]) -> None:
    path = os.environ.get(ENV)
    if not path:
        raise TrackingError(f"${ENV} is not set: log metrics from a step that mlstack runs")
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(entry) + "\n")


def log_param(key: str, value: Any) -> None:
    text = str(value)
    if len(text) > MAX_PARAM:
        raise TrackingError(f"param {key} is {len(text)} characters; at most {MAX_PARAM}")
    _append({"param": _key(key), "value": text})


def log_params(params: dict[str, Any]) -> None:
    for key, value in params.items():
        log_param(key, value)


def log_metric(key: str, value: float, step: int | None = None) -> None:
    if step is not None and (isinstance(step, bool) or not isinstance(step, int) or step < 0):
        raise TrackingError(f"metric {key}: step must be a whole number >= 0, not {step!r}")
    _append({"metric": _key(key), "value": _number(key, value), "step": step, "t": time.time()})


def log_metrics(metrics: dict[str, float], step: int | None = None) -> None:
    for key, value in metrics.items():
        log_metric(key, value, step)


def read(path: Path) -> Tracked:
    """The file a step wrote (nothing when it wrote none); TrackingError naming the bad line otherwise."""
    tracked = Tracked()
    if not path.is_file():
        return tracked
    with path.open(encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
                if not isinstance(entry, dict):
                    raise TrackingError("not a JSON object")
                if "param" in entry:
                    tracked.params[_key(entry["param"])] = str(entry["value"])
                elif "metric" in entry:
                    key = _key(entry["metric"])
                    step = entry.get("step")
                    tracked.metrics.append(
                        {
                            "key": key,
                            "value": _number(key, entry.get("value")),
                            "step": step if isinstance(step, int) and not isinstance(step, bool) else None,
                            "t": float(entry.get("t") or 0.0),
                        }
                    )
                else:
                    raise TrackingError("neither a param nor a metric")
            except (json.JSONDecodeError, TrackingError, TypeError, ValueError) as exc:
                raise TrackingError(f"{path.name} line {number}: {exc}") from None
    return tracked


def forward_to_mlflow(tracked: Tracked, metrics: dict[str, float], *, run_name: str, tags: dict[str, str]) -> str:
    """Send what a step logged (and an evaluation's metrics.json) to the MLflow tracking server the job's
    environment names, as one MLflow run; a sentence saying what happened. Tracking never fails a step
    whose model and metrics are written: a server that cannot be reached is said, not raised."""
    if not os.environ.get("MLFLOW_TRACKING_URI"):
        return f"kept in {TRACKING_FILE} (no MLFLOW_TRACKING_URI in the job's environment)"
    try:
        import mlflow
    except ImportError:
        return f"kept in {TRACKING_FILE}: MLFLOW_TRACKING_URI is set but the step image has no mlflow"
    try:
        with mlflow.start_run(run_name=run_name, tags=tags) as run:
            if tracked.params:
                mlflow.log_params(tracked.params)
            for m in tracked.metrics:
                mlflow.log_metric(m["key"], m["value"], step=m["step"] or 0, timestamp=int(m["t"] * 1000) or None)
            if metrics:
                mlflow.log_metrics(metrics)
    except Exception as exc:  # the tracking server's failure, whatever its client raises
        return f"kept in {TRACKING_FILE}: MLflow refused it ({type(exc).__name__}: {exc})"
    return f"logged to MLflow run {run.info.run_id}"
