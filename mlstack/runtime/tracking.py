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
- the cloud step adapter (runtime/step.py) forwards it to each cloud's own tracker (`forward`), when
  the job's environment names one and the step image has its client; the file also stays in the step's
  output on every cloud:
  * SageMaker: the platform's managed MLflow tracking server; the plan sets MLFLOW_TRACKING_URI (the
    server's ARN) and MLFLOW_EXPERIMENT_NAME (the pipeline); the image needs `mlflow-skinny` and
    `sagemaker-mlflow` (the plugin that signs requests to an ARN);
  * Azure ML: the workspace's built-in MLflow; Azure sets MLFLOW_TRACKING_URI and the job's own
    MLFLOW_RUN_ID in every job, so a step's params and metrics land on its job in the pipeline's
    experiment; the image needs `mlflow-skinny` and `azureml-mlflow`;
  * Vertex AI: Vertex AI Experiments; the plan sets MLSTACK_VERTEX_EXPERIMENT (the pipeline),
    MLSTACK_VERTEX_PROJECT and MLSTACK_VERTEX_REGION; each step is one experiment run holding its
    params and the last value of each metric (a time series needs a TensorBoard, which mlstack does not
    create); the image needs `google-cloud-aiplatform`.
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
VERTEX_EXPERIMENT = "MLSTACK_VERTEX_EXPERIMENT"
VERTEX_PROJECT = "MLSTACK_VERTEX_PROJECT"
VERTEX_REGION = "MLSTACK_VERTEX_REGION"
# Vertex AI's rule for experiment and run names; a run's resource id is "<experiment>-<run>", at most 128.
VERTEX_NAME = re.compile(r"[^a-z0-9-]+")
VERTEX_ID_MAX = 128
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


def vertex_environment(project: str, region: str, experiment: str) -> dict[str, str]:
    """What a Vertex task's environment carries for `forward_to_vertex`: the experiment a pipeline's runs go into."""
    return {VERTEX_EXPERIMENT: experiment, VERTEX_PROJECT: project, VERTEX_REGION: region}


def forward(tracked: Tracked, metrics: dict[str, float], *, run_name: str, tags: dict[str, str]) -> str:
    """Send what a step logged to the tracker the job's environment names; a sentence saying what happened."""
    if os.environ.get(VERTEX_EXPERIMENT):
        return forward_to_vertex(tracked, metrics, run_name=run_name)
    return forward_to_mlflow(tracked, metrics, run_name=run_name, tags=tags)


def vertex_run_name(experiment: str, run_name: str) -> str:
    """`run_name` as Vertex accepts it: lower-case letters, digits and '-', short enough for its run id."""
    clean = VERTEX_NAME.sub("-", run_name.lower()).strip("-") or "run"
    return clean[-(VERTEX_ID_MAX - len(experiment) - 1) :].lstrip("-")


def forward_to_vertex(tracked: Tracked, metrics: dict[str, float], *, run_name: str) -> str:
    """One Vertex AI Experiments run per step, in the experiment the plan named: its params, and the last
    value of each metric with an evaluation's metrics.json. Never fails the step (as forward_to_mlflow)."""
    experiment = os.environ[VERTEX_EXPERIMENT]
    try:
        from google.cloud import aiplatform
    except ImportError:
        return f"kept in {TRACKING_FILE}: {VERTEX_EXPERIMENT} is set but the step image has no google-cloud-aiplatform"
    name = vertex_run_name(experiment, run_name)
    try:
        aiplatform.init(
            project=os.environ.get(VERTEX_PROJECT), location=os.environ.get(VERTEX_REGION), experiment=experiment
        )
        aiplatform.start_run(name)
        if tracked.params:
            aiplatform.log_params(dict(tracked.params))
        if values := {**tracked.last(), **metrics}:
            aiplatform.log_metrics(values)
        aiplatform.end_run()
    except Exception as exc:  # the service's failure, whatever its client raises
        return f"kept in {TRACKING_FILE}: Vertex AI Experiments refused it ({type(exc).__name__}: {exc})"
    return f"logged to Vertex AI experiment {experiment} run {name}"


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
        # Azure ML hands each job its own run (MLFLOW_RUN_ID): log into it and keep the job's name.
        named = None if os.environ.get("MLFLOW_RUN_ID") else run_name
        with mlflow.start_run(run_name=named, tags=tags) as run:
            if tracked.params:
                mlflow.log_params(tracked.params)
            for m in tracked.metrics:
                mlflow.log_metric(m["key"], m["value"], step=m["step"] or 0, timestamp=int(m["t"] * 1000) or None)
            if metrics:
                mlflow.log_metrics(metrics)
    except Exception as exc:  # the tracking server's failure, whatever its client raises
        return f"kept in {TRACKING_FILE}: MLflow refused it ({type(exc).__name__}: {exc})"
    return f"logged to MLflow run {run.info.run_id}"
