"""`python3 -m mlstack.monitor_job --monitor NAME`: one run of a monitor on SageMaker.

A one-step SageMaker pipeline (a Processing step in mlstack's runtime image) runs it on the monitor's
schedule, started by EventBridge Scheduler: mlstack/backends/aws/monitors.py writes its command line and
environment. It reads S3 itself (the captures of one window, the baseline, the labels), so nothing is
copied into the job but what it needs:

  MLSTACK_MONITOR, MLSTACK_KIND, MLSTACK_METRIC   the spec monitor (any of the four kinds)
  MLSTACK_FEATURES                                columns to watch, comma-separated; all the baseline's when empty
  MLSTACK_BASELINE                                the reference dataset: CSV with a header (or .parquet), S3 or local
  MLSTACK_GROUND_TRUTH, MLSTACK_PROBLEM_TYPE      model_quality: labels in SageMaker's ground truth format (labels.py)
  MLSTACK_THRESHOLD                               past this a column is a violation; the metric's default when unset
  MLSTACK_CLOUDWATCH_NAMESPACE, _METRIC, _DIMENSIONS   the datum the monitor's alarm watches (dimensions: a JSON
                                                  object); without a namespace nothing is published
  --captures                                      the endpoint's data capture prefix (a folder or s3:// prefix)
  --end, --hours                                  the window: the `hours` before `end` (the scheduled time of the
                                                  run; now when empty); --start instead of --hours
  --output                                        where the reports go, uploaded to S3 after the job

Requests (data_drift, data_quality) or responses (prediction_drift; against the baseline's `prediction`
column when it has one, else all its columns) are compared with the baseline by mlstack.stats, column by
column; model_quality joins the window's answers with their labels. The worst value (the highest
distance or rate, the lowest p-value or accuracy) is published as one CloudWatch datum; the reports are
`constraint_violations.json` (SageMaker's schema) and `mlstack_report.json` (every column's result).
Violations do not fail the job; bad input does, with the reason.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from mlstack.jobs import capture, labels, tables
from mlstack.jobs.failures import JobFailed, run
from mlstack.jobs.s3 import Storage
from mlstack.runtime.monitors import DRIFT_KINDS, measure, worst
from mlstack.spec.models import METRICS_BY_KIND
from mlstack.stats.registry import (
    DATA_QUALITY_METRICS,
    DRIFT_METRICS,
    MODEL_QUALITY_METRICS,
    Direction,
    MetricResult,
    MetricSpec,
    lookup,
)
from mlstack.targets.aws import MODEL_QUALITY_ATTRIBUTES

VIOLATIONS_FILE = "constraint_violations.json"
REPORT_FILE = "mlstack_report.json"
# SageMaker's violation check types (model-monitor-interpreting-violations); ranges of numbers have none.
QUALITY_CHECKS = {"null_rate": "completeness_check", "type_error_rate": "data_type_check"}
DRIFT_CHECK = "baseline_drift_check"
PREDICTION = "prediction"
MISSING_CHECK = "missing_column_check"


def _variable(environ: Mapping[str, str], name: str, flag: str | None = None) -> str:
    value = environ.get(name, "")
    if not value:
        hint = f" (or pass {flag})" if flag else ""
        raise JobFailed(f"{name} is not set{hint}: the monitoring job definition sets it")
    return value


def _window(args: argparse.Namespace, now: datetime) -> capture.Window:
    """[start, end): `--hours` before `--end` (now when empty), or [--start, --end)."""
    end = capture.parse_time(args.end, "end time") if args.end else now
    if args.start:
        return capture.Window(capture.parse_time(args.start, "start time"), end)
    if args.hours is None:
        raise JobFailed("name the window: --hours N (before --end, or now) or --start TIME")
    try:
        hours = float(args.hours)
    except ValueError:
        raise JobFailed(f"--hours {args.hours} is not a number") from None
    if hours <= 0:
        raise JobFailed(f"--hours {args.hours}: the window must be longer than 0 hours")
    return capture.Window(end - timedelta(hours=hours), end)


def _dimensions(environ: Mapping[str, str]) -> dict[str, str]:
    text = _variable(environ, "MLSTACK_CLOUDWATCH_DIMENSIONS")
    try:
        found = json.loads(text)
    except json.JSONDecodeError:
        found = None
    if not isinstance(found, dict) or not found or not all(isinstance(v, str) for v in found.values()):
        raise JobFailed(
            f'MLSTACK_CLOUDWATCH_DIMENSIONS={text} is not a JSON object of names to texts: {{"Endpoint": "…"}}'
        )
    return found


@dataclass(frozen=True)
class Settings:
    monitor: str
    kind: str
    metric: str
    spec: MetricSpec
    features: tuple[str, ...]
    baseline: str | None
    ground_truth: str | None
    problem_type: str | None
    threshold: float | None
    captures: str
    output: Path
    window: capture.Window
    namespace: str | None  # None: publish nothing
    cloudwatch_metric: str
    dimensions: dict[str, str]

    @classmethod
    def load(cls, args: argparse.Namespace, environ: Mapping[str, str], now: datetime | None = None) -> Settings:
        monitor = environ.get("MLSTACK_MONITOR") or args.monitor
        if not monitor:
            raise JobFailed("name the monitor: --monitor NAME")
        if args.monitor and args.monitor != monitor:
            raise JobFailed(f"--monitor {args.monitor} does not match MLSTACK_MONITOR={monitor}")
        kind = _variable(environ, "MLSTACK_KIND")
        if kind not in METRICS_BY_KIND:
            raise JobFailed(f"MLSTACK_KIND={kind}: this job computes {', '.join(METRICS_BY_KIND)}")
        metric = _variable(environ, "MLSTACK_METRIC")
        if metric not in METRICS_BY_KIND[kind]:
            raise JobFailed(f"MLSTACK_METRIC={metric} is not a {kind} metric: {', '.join(METRICS_BY_KIND[kind])}")
        spec = lookup(metric, {**DRIFT_METRICS, **DATA_QUALITY_METRICS, **MODEL_QUALITY_METRICS})
        threshold = None
        if environ.get("MLSTACK_THRESHOLD"):
            try:
                threshold = float(environ["MLSTACK_THRESHOLD"])
            except ValueError:
                raise JobFailed(f"MLSTACK_THRESHOLD={environ['MLSTACK_THRESHOLD']} is not a number") from None
        threshold = spec.check_threshold(threshold)
        features = tuple(f.strip() for f in environ.get("MLSTACK_FEATURES", "").split(",") if f.strip())
        quality = kind == "model_quality"
        problem_type = _variable(environ, "MLSTACK_PROBLEM_TYPE") if quality else None
        if problem_type is not None and problem_type not in MODEL_QUALITY_ATTRIBUTES:
            raise JobFailed(f"MLSTACK_PROBLEM_TYPE={problem_type}: one of {', '.join(MODEL_QUALITY_ATTRIBUTES)}")
        namespace = environ.get("MLSTACK_CLOUDWATCH_NAMESPACE") or None
        return cls(
            monitor=monitor,
            kind=kind,
            metric=metric,
            spec=spec,
            features=features,
            baseline=None if quality else _variable(environ, "MLSTACK_BASELINE"),
            ground_truth=_variable(environ, "MLSTACK_GROUND_TRUTH") if quality else None,
            problem_type=problem_type,
            threshold=threshold,
            captures=args.captures or _variable(environ, "MLSTACK_CAPTURES", "--captures"),
            output=Path(args.output or _variable(environ, "MLSTACK_OUTPUT", "--output")),
            window=_window(args, now or datetime.now(UTC)),
            namespace=namespace,
            cloudwatch_metric=environ.get("MLSTACK_CLOUDWATCH_METRIC") or f"mlstack_{metric}",
            dimensions=_dimensions(environ) if namespace else {},
        )

    @property
    def rows_compared(self) -> str:
        return "responses" if self.kind in ("prediction_drift", "model_quality") else "requests"


@dataclass(frozen=True)
class Evaluation:
    results: list[MetricResult]
    missing: list[str]  # watched columns the captured rows lack
    checks: dict[str, str]  # column -> SageMaker's check type for its violations

    @property
    def worst(self) -> MetricResult | None:
        return worst(self.results)

    def violations(self, settings: Settings) -> list[dict[str, Any]]:
        found = [
            {
                "feature_name": name,
                "constraint_check_type": MISSING_CHECK,
                "description": f"{name} is watched but missing from the captured {settings.rows_compared}",
            }
            for name in self.missing
        ]
        for result in self.results:
            if result.breached:
                assert result.threshold is not None
                side = "below" if result.direction is Direction.HIGHER_IS_BETTER else "above"
                # a model-quality metric is over the answers: SageMaker names it and the comparison
                where = (
                    {"feature_name": result.column, "constraint_check_type": self.checks[result.column]}
                    if result.column is not None
                    else {
                        "metric_name": result.metric,
                        "constraint_check_type": f"{'Less' if side == 'below' else 'Greater'}ThanThreshold",
                    }
                )
                found.append(
                    {
                        **where,
                        "description": f"{result.metric} {result.value:.6g} is {side} the threshold {result.threshold:g}",
                        "metric": result.metric,
                        "value": result.value,
                        "threshold": result.threshold,
                    }
                )
        return found


def _as_kind(values: pd.Series, kind: str) -> pd.Series:
    """Captured values compared as the baseline's kind: text in a numeric column counts as missing here
    (type_error_rate measures it), categories are compared as text."""
    if kind == "numeric":
        return pd.to_numeric(values, errors="coerce")
    return values.astype(object).where(values.isna(), values.astype(str))


def evaluate(settings: Settings, reference: pd.DataFrame, current: pd.DataFrame) -> Evaluation:
    from mlstack.stats.columns import as_array, infer_kind

    unknown = [f for f in settings.features if f not in reference.columns]
    if unknown:
        raise JobFailed(
            f"the baseline {settings.baseline} has no column(s) {', '.join(unknown)}; "
            f"it has {', '.join(reference.columns)}"
        )
    watched = list(settings.features) or list(reference.columns)
    present = [c for c in watched if c in current.columns]
    # Unnamed features are the baseline's columns, which may hold what requests never carry (a label).
    missing = [c for c in watched if c not in current.columns] if settings.features else []
    if not present:
        raise JobFailed(
            f"the captured {settings.rows_compared} have none of the watched columns ({', '.join(watched)}); "
            f"they have {', '.join(map(str, current.columns))}"
        )
    kinds = {c: infer_kind(as_array(reference[c], c), c) for c in present}
    baseline = {c: reference[c] for c in present}
    drift = settings.kind in DRIFT_KINDS
    compared = {c: _as_kind(current[c], kinds[c]) if drift else current[c] for c in present}
    results = measure(
        settings.kind,
        settings.metric,
        threshold=settings.threshold,
        reference=baseline,
        current=compared,
        columns=present,
        kinds=kinds if drift else None,
    )
    if drift:
        checks = dict.fromkeys(present, DRIFT_CHECK)
    else:
        ranges = {"categorical": "categorical_values_check", "numeric": "range_check"}
        checks = {c: QUALITY_CHECKS.get(settings.metric) or ranges[kinds[c]] for c in present}
    return Evaluation(results, missing, checks)


def publish(settings: Settings, value: float) -> dict[str, Any]:
    """The worst value as one datum with the alarm's dimensions."""
    import boto3

    assert settings.namespace is not None
    boto3.client("cloudwatch").put_metric_data(
        Namespace=settings.namespace,
        MetricData=[
            {
                "MetricName": settings.cloudwatch_metric,
                "Dimensions": [{"Name": k, "Value": v} for k, v in settings.dimensions.items()],
                "Timestamp": datetime.now(UTC),
                "Value": value,
                "Unit": "None",
            }
        ],
    )
    return {
        "namespace": settings.namespace,
        "metric_name": settings.cloudwatch_metric,
        "value": value,
        "dimensions": settings.dimensions,
    }


def _write(directory: Path, name: str, content: dict[str, Any]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_text(json.dumps(content, indent=2, default=str) + "\n", encoding="utf-8")


def _empty(settings: Settings, report: dict[str, Any], why: str) -> str:
    _write(settings.output, VIOLATIONS_FILE, {"violations": []})
    _write(settings.output, REPORT_FILE, {**report, "results": [], "worst": None, "cloudwatch": None})
    return f"monitor {settings.monitor}: {why}; nothing to compare"


def _unreadable(settings: Settings, captured: capture.Captured) -> JobFailed:
    reasons = "; ".join(f"{n} x {why}" for why, n in captured.skipped.most_common())
    return JobFailed(f"no captured {settings.rows_compared} could be read: {reasons}")


def _model_quality(settings: Settings, storage: Storage, captured: capture.Captured, report: dict[str, Any]):
    """(evaluation, rows compared), or a summary when the window has nothing labelled."""
    assert settings.ground_truth is not None and settings.problem_type is not None
    truth = labels.read(settings.ground_truth, settings.window, storage, captured.skipped)
    cut = float(MODEL_QUALITY_ATTRIBUTES["binary_classification"]["probability_threshold_attribute"])
    joined = labels.join(captured.answers, truth, settings.problem_type, cut)
    report["captured"].update(
        {"answers": joined.answers, "unlabelled": joined.unlabelled, "rows": len(joined.labelled.labels)}
    )
    if not joined.answers and captured.skipped:
        raise _unreadable(settings, captured)
    if not joined.labelled.labels:
        why = "no captured responses in the window" if not joined.answers else "no answer of the window has a label yet"
        return _empty(settings, report, why)
    results = measure(
        settings.kind,
        settings.metric,
        threshold=settings.threshold,
        labelled=joined.labelled,
        problem_type=settings.problem_type,
    )
    return Evaluation(results, [], {}), len(joined.labelled.labels)


def _data(settings: Settings, storage: Storage, captured: capture.Captured, report: dict[str, Any]):
    """(evaluation, rows compared) of the drift and data-quality kinds, or a summary when nothing came."""
    assert settings.baseline is not None
    reference = tables.read_baseline(settings.baseline, storage)
    if settings.kind == "prediction_drift" and not settings.features and PREDICTION in reference.columns:
        # A training set with the served predictions beside it, as the local target reads baselines.
        reference = reference[[PREDICTION]]
    rows = captured.responses if settings.kind == "prediction_drift" else captured.requests
    current = tables.frame(rows, list(reference.columns), captured.skipped, settings.rows_compared)
    report["captured"]["rows"] = len(current)
    if current.empty:
        if captured.skipped:
            raise _unreadable(settings, captured)
        return _empty(settings, report, f"no captured {settings.rows_compared} in the window")
    return evaluate(settings, reference, current), len(current)


def monitor(settings: Settings) -> str:
    storage = Storage()
    captured = capture.read(settings.captures, settings.window, storage)
    report: dict[str, Any] = {
        "monitor": settings.monitor,
        "kind": settings.kind,
        "metric": settings.metric,
        "threshold": settings.threshold,
        "direction": settings.spec.direction.value,
        "window": {
            "start": settings.window.start and settings.window.start.isoformat(),
            "end": settings.window.end and settings.window.end.isoformat(),
        },
        "captured": {"records": captured.records, "skipped": captured.skipped},
    }
    found = (_model_quality if settings.kind == "model_quality" else _data)(settings, storage, captured, report)
    report["captured"]["skipped"] = dict(captured.skipped)
    if isinstance(found, str):
        return found
    evaluation, compared = found
    worst = evaluation.worst
    published = publish(settings, worst.value) if worst is not None and settings.namespace else None
    violations = evaluation.violations(settings)
    _write(settings.output, VIOLATIONS_FILE, {"violations": violations})
    _write(
        settings.output,
        REPORT_FILE,
        {
            **report,
            "missing_columns": evaluation.missing,
            "worst": worst and worst.to_dict(),
            "cloudwatch": published,
            "results": [r.to_dict() for r in evaluation.results],
        },
    )
    summary = f"monitor {settings.monitor}: {settings.metric} over {compared} {settings.rows_compared}"
    if worst is None:
        return (
            f"{summary}: no column has a value ({evaluation.results[0].note if evaluation.results else 'no results'})"
        )
    summary += f", worst {worst.column} {worst.value:.6g}" if worst.column else f" {worst.value:.6g}"
    return summary + (f", {len(violations)} violation(s)" if violations else ", no violations")


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="python3 -m mlstack.monitor_job", description=__doc__.split("\n")[0])
    main.add_argument("--monitor", help="the spec monitor's name (MLSTACK_MONITOR)")
    main.add_argument("--captures", help="captured data: a folder or an s3:// prefix (default: $MLSTACK_CAPTURES)")
    main.add_argument("--output", help="folder for the reports (default: $MLSTACK_OUTPUT)")
    main.add_argument("--end", help="window end, ISO 8601 (the run's scheduled time); now when empty")
    main.add_argument("--hours", help="window length in hours before --end")
    main.add_argument("--start", help="window start, ISO 8601, instead of --hours")
    return main


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    args = parser().parse_args(argv)
    env = os.environ if environ is None else environ
    what = f"monitor {args.monitor or env.get('MLSTACK_MONITOR', '')}".rstrip()
    return run("mlstack monitor_job", lambda: monitor(Settings.load(args, env)), what=what)
