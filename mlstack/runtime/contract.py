"""The step contract: how every target hands a code step its inputs and where it expects outputs.

It is the same on the local emulator, SageMaker, Vertex AI and Azure ML. The emulator calls
`invocation` directly; on a cloud, mlstack's adapter (`python3 -m mlstack.runtime.step`, in the step's
image) maps the platform's own conventions onto it (see mlstack/runtime/step.py).

A code step (data_validation, processing, training, evaluation) is a Python file, run as
`python FILE --name=value ...`, or a `module:function` called with no arguments; either runs with
the folder of the spec (locally) or the image's working directory (on a cloud) as working directory
and on PYTHONPATH. It receives its parameters as `--name=value` arguments and, with everything else,
in environment variables:

  MLSTACK_PARAMS         JSON object: pipeline parameters, then the step's, then the run's (later wins)
  MLSTACK_OUTPUT_DIR     an empty directory for this step's outputs
  MLSTACK_INPUT_DIR      the output directory of the step's first dependency ("" when it has none)
  MLSTACK_INPUTS         JSON object: dependency step name -> its output directory
  MLSTACK_DATA           the pipeline's `data` file, or the point-in-time training set built from it and
                         the pipeline's `feature_views` (Parquet); "" when the pipeline names no data
  MLSTACK_MODEL_FILE     $MLSTACK_OUTPUT_DIR/model.joblib: a training step writes its model here
                         (joblib dump of an object with `predict`, e.g. a scikit-learn estimator)
  MLSTACK_METRICS_FILE   $MLSTACK_OUTPUT_DIR/metrics.json: an evaluation step writes a flat JSON object
                         {"name": number} here; gates and the registry read it, on every target
  MLSTACK_METRICS_LOG    $MLSTACK_OUTPUT_DIR/tracking.jsonl: params and metrics (time series too) a step
                         logs with `mlstack.runtime.tracking.log_param/log_metric` (MLflow's names;
                         see mlstack/runtime/tracking.py); the run records them on every target
  MLSTACK_CHAMPION_MODEL the artifact of the champion of the pipeline's model group, when one exists
  MLSTACK_RUN_ID, MLSTACK_PIPELINE, MLSTACK_STEP, MLSTACK_STEP_KIND
  MLSTACK_STATE_DIR      the emulator's state directory (local target only)

Everything else a step writes to MLSTACK_OUTPUT_DIR reaches the steps that depend on it, in their
MLSTACK_INPUTS. Exit status 0 is success; anything else fails the step and the run. A training step
that writes no model file, or an evaluation step that writes no metrics, fails. Registration and
deployment steps are built in: registration takes the model of the nearest upstream step that wrote
one and the metrics of the nearest upstream step that wrote them.
"""

from __future__ import annotations

import json
import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlstack.runtime import tracking

CODE_KINDS = frozenset({"data_validation", "processing", "training", "evaluation"})
MODEL_FILE = "model.joblib"
METRICS_FILE = "metrics.json"


@dataclass(frozen=True)
class StepInvocation:
    argv: list[str]
    env: dict[str, str]
    cwd: str


def is_module_entrypoint(entrypoint: str) -> bool:
    return not entrypoint.endswith(".py") and ":" in entrypoint and "/" not in entrypoint


def invocation(
    *,
    run_id: str,
    pipeline: str,
    step: dict[str, Any],
    params: dict[str, Any],
    output_dir: Path,
    inputs: dict[str, Path],
    data: str,
    champion_model: str | None,
    workdir: str,
    state_dir: Path | None = None,
) -> StepInvocation:
    entrypoint = step["entrypoint"]
    args = [f"--{name}={value}" for name, value in params.items()]
    if is_module_entrypoint(entrypoint):
        module, function = entrypoint.split(":", 1)
        call = "import importlib, sys; getattr(importlib.import_module(sys.argv[1]), sys.argv[2])()"
        argv = [sys.executable, "-c", call, module, function, *args]
    else:
        argv = [sys.executable, entrypoint, *args]
    first_input = next(iter(inputs.values()), None)
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": os.pathsep.join(p for p in (workdir, os.environ.get("PYTHONPATH", "")) if p),
        "MLSTACK_RUN_ID": run_id,
        "MLSTACK_PIPELINE": pipeline,
        "MLSTACK_STEP": step["name"],
        "MLSTACK_STEP_KIND": step["kind"],
        "MLSTACK_PARAMS": json.dumps(params),
        "MLSTACK_OUTPUT_DIR": str(output_dir),
        "MLSTACK_INPUT_DIR": str(first_input) if first_input else "",
        "MLSTACK_INPUTS": json.dumps({name: str(path) for name, path in inputs.items()}),
        "MLSTACK_DATA": data,
        "MLSTACK_MODEL_FILE": str(output_dir / MODEL_FILE),
        "MLSTACK_METRICS_FILE": str(output_dir / METRICS_FILE),
        tracking.ENV: str(output_dir / tracking.TRACKING_FILE),
    }
    if state_dir is not None:
        env["MLSTACK_STATE_DIR"] = str(state_dir)
    if champion_model:
        env["MLSTACK_CHAMPION_MODEL"] = champion_model
    return StepInvocation(argv=argv, env=env, cwd=workdir)


def read_metrics(path: Path) -> dict[str, float]:
    """metrics.json as {name: number}; ValueError naming what is wrong otherwise."""
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path.name} is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path.name} must hold a JSON object of metric name to number")
    bad = [k for k, v in data.items() if isinstance(v, bool) or not isinstance(v, int | float)]
    if bad:
        raise ValueError(f"{path.name}: metrics must be numbers, not {', '.join(bad)}")
    # NaN passes every comparison a gate makes and cannot be sent as JSON: the step fails instead.
    infinite = [f"{k} = {v}" for k, v in data.items() if not math.isfinite(v)]
    if infinite:
        raise ValueError(f"{path.name}: metrics must be finite numbers, not {', '.join(infinite)}")
    return {k: float(v) for k, v in data.items()}


def missing_output(kind: str, output_dir: Path) -> str | None:
    """What a finished step failed to write, as a sentence; None when its outputs are complete."""
    if kind == "training" and not (output_dir / MODEL_FILE).is_file():
        return f"the training step wrote no model to $MLSTACK_MODEL_FILE ({MODEL_FILE})"
    if kind == "evaluation" and not (output_dir / METRICS_FILE).is_file():
        return f"the evaluation step wrote no metrics to $MLSTACK_METRICS_FILE ({METRICS_FILE})"
    return None
