"""`python3 -m mlstack.monitor_job --monitor NAME`: one run of a monitor SageMaker's analyzer cannot compute.

SageMaker Model Monitor starts it on the monitor's schedule as a bring-your-own-container job. Its
inputs, from the job definition the AWS backend writes (mlstack/backends/aws/monitors.py) and from
Model Monitor's container contract:

  MLSTACK_MONITOR, MLSTACK_KIND, MLSTACK_METRIC   the spec monitor (data_drift, prediction_drift, data_quality)
  MLSTACK_FEATURES                                columns to watch, comma-separated; all the baseline's when empty
  MLSTACK_BASELINE                                the reference dataset: CSV with a header (or .parquet), S3 or local
  MLSTACK_THRESHOLD                               past this a column is a violation; the metric's default when unset
  MLSTACK_CLOUDWATCH_METRIC                       the metric the monitor's alarm watches (mlstack_<metric>)
  dataset_source                                  the captured data of the window (`--captures`: a folder or s3:// prefix)
  start_time, end_time                            the window (`--start`, `--end`); records are kept by inferenceTime
  output_path                                     where the reports go (`--output`), uploaded to S3 after the job
  sagemaker_endpoint_name, sagemaker_monitoring_schedule_name   the alarm's Endpoint and MonitoringSchedule dimensions
  publish_cloudwatch_metrics                      "Disabled" to publish nothing

Requests (data_drift, data_quality) or responses (prediction_drift; against the baseline's `prediction`
column when it has one, else all its columns) are compared with the baseline by
mlstack.stats, column by column. The worst column's value (the highest distance or rate, the lowest
p-value) is published as one CloudWatch datum in the namespace the alarm watches; the reports are
`constraint_violations.json` (SageMaker's schema) and `mlstack_report.json` (every column's result,
with the bins it was computed on). Violations do not fail the job; bad input does, with the reason.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from mlstack.jobs import capture, tables
from mlstack.jobs.failures import JobFailed, run
from mlstack.jobs.s3 import Storage
from mlstack.runtime.monitors import DRIFT_KINDS, measure, worst
from mlstack.spec.models import METRICS_BY_KIND
from mlstack.stats.registry import DATA_QUALITY_METRICS, DRIFT_METRICS, Direction, MetricResult, MetricSpec
from mlstack.targets.aws import DATA_NAMESPACE

VIOLATIONS_FILE = "constraint_violations.json"
REPORT_FILE = "mlstack_report.json"
KINDS = (*DRIFT_KINDS, "data_quality")
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


@dataclass(frozen=True)
class Settings:
    monitor: str
    kind: str
    metric: str
    spec: MetricSpec
    features: tuple[str, ...]
    baseline: str
    threshold: float | None
    captures: str
    output: Path
    window: capture.Window
    publish: bool
    cloudwatch_metric: str
    endpoint: str | None
    schedule: str | None

    @classmethod
    def load(cls, args: argparse.Namespace, environ: Mapping[str, str]) -> Settings:
        monitor = environ.get("MLSTACK_MONITOR") or args.monitor
        if not monitor:
            raise JobFailed("name the monitor: --monitor NAME")
        if args.monitor and args.monitor != monitor:
            raise JobFailed(f"--monitor {args.monitor} does not match MLSTACK_MONITOR={monitor}")
        kind = _variable(environ, "MLSTACK_KIND")
        if kind not in KINDS:
            raise JobFailed(
                f"MLSTACK_KIND={kind}: this job computes {', '.join(KINDS)}"
                + ("; model_quality runs SageMaker's model-quality job" if kind == "model_quality" else "")
            )
        metric = _variable(environ, "MLSTACK_METRIC")
        if metric not in METRICS_BY_KIND[kind]:
            raise JobFailed(f"MLSTACK_METRIC={metric} is not a {kind} metric: {', '.join(METRICS_BY_KIND[kind])}")
        spec = (DRIFT_METRICS if kind in DRIFT_KINDS else DATA_QUALITY_METRICS)[metric]
        threshold = None
        if environ.get("MLSTACK_THRESHOLD"):
            try:
                threshold = float(environ["MLSTACK_THRESHOLD"])
            except ValueError:
                raise JobFailed(f"MLSTACK_THRESHOLD={environ['MLSTACK_THRESHOLD']} is not a number") from None
        threshold = spec.check_threshold(threshold)
        features = tuple(f.strip() for f in environ.get("MLSTACK_FEATURES", "").split(",") if f.strip())
        publish = environ.get("publish_cloudwatch_metrics", "Enabled") != "Disabled"
        endpoint = environ.get("sagemaker_endpoint_name") or None
        schedule = environ.get("sagemaker_monitoring_schedule_name") or None
        if publish and not (endpoint and schedule):
            raise JobFailed(
                "sagemaker_endpoint_name and sagemaker_monitoring_schedule_name name the alarm's dimensions and "
                "are not set; set publish_cloudwatch_metrics=Disabled to run without publishing"
            )
        start = args.start or environ.get("start_time")
        end = args.end or environ.get("end_time")
        return cls(
            monitor=monitor,
            kind=kind,
            metric=metric,
            spec=spec,
            features=features,
            baseline=_variable(environ, "MLSTACK_BASELINE"),
            threshold=threshold,
            captures=args.captures or _variable(environ, "dataset_source", "--captures"),
            output=Path(args.output or _variable(environ, "output_path", "--output")),
            window=capture.Window(
                capture.parse_time(start, "start time") if start else None,
                capture.parse_time(end, "end time") if end else None,
            ),
            publish=publish,
            cloudwatch_metric=environ.get("MLSTACK_CLOUDWATCH_METRIC") or f"mlstack_{metric}",
            endpoint=endpoint,
            schedule=schedule,
        )

    @property
    def rows_compared(self) -> str:
        return "responses" if self.kind == "prediction_drift" else "requests"


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
                assert result.threshold is not None and result.column is not None
                side = "below" if result.direction is Direction.HIGHER_IS_BETTER else "above"
                found.append(
                    {
                        "feature_name": result.column,
                        "constraint_check_type": self.checks[result.column],
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
    """The worst column's value as one datum with the alarm's dimensions."""
    import boto3

    assert settings.endpoint and settings.schedule  # Settings.load requires them when publishing
    dimensions = {"Endpoint": settings.endpoint, "MonitoringSchedule": settings.schedule}
    boto3.client("cloudwatch").put_metric_data(
        Namespace=DATA_NAMESPACE,
        MetricData=[
            {
                "MetricName": settings.cloudwatch_metric,
                "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()],
                "Timestamp": datetime.now(UTC),
                "Value": value,
                "Unit": "None",
            }
        ],
    )
    return {
        "namespace": DATA_NAMESPACE,
        "metric_name": settings.cloudwatch_metric,
        "value": value,
        "dimensions": dimensions,
    }


def _write(directory: Path, name: str, content: dict[str, Any]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_text(json.dumps(content, indent=2, default=str) + "\n", encoding="utf-8")


def monitor(settings: Settings) -> str:
    storage = Storage()
    reference = tables.read_baseline(settings.baseline, storage)
    if settings.kind == "prediction_drift" and not settings.features and PREDICTION in reference.columns:
        # A training set with the served predictions beside it, as the local target reads baselines.
        reference = reference[[PREDICTION]]
    captured = capture.read(settings.captures, settings.window, storage)
    rows = captured.responses if settings.kind == "prediction_drift" else captured.requests
    current = tables.frame(rows, list(reference.columns), captured.skipped, settings.rows_compared)
    window = {
        "start": settings.window.start and settings.window.start.isoformat(),
        "end": settings.window.end and settings.window.end.isoformat(),
    }
    report: dict[str, Any] = {
        "monitor": settings.monitor,
        "kind": settings.kind,
        "metric": settings.metric,
        "threshold": settings.threshold,
        "direction": settings.spec.direction.value,
        "window": window,
        "captured": {"records": captured.records, "rows": len(current), "skipped": dict(captured.skipped)},
    }
    if current.empty:
        if captured.skipped:
            reasons = "; ".join(f"{n} x {why}" for why, n in captured.skipped.most_common())
            raise JobFailed(f"no captured {settings.rows_compared} could be read: {reasons}")
        _write(settings.output, VIOLATIONS_FILE, {"violations": []})
        _write(settings.output, REPORT_FILE, {**report, "results": [], "worst": None, "cloudwatch": None})
        return f"monitor {settings.monitor}: no captured {settings.rows_compared} in the window; nothing to compare"
    evaluation = evaluate(settings, reference, current)
    worst = evaluation.worst
    published = publish(settings, worst.value) if worst is not None and settings.publish else None
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
    summary = f"monitor {settings.monitor}: {settings.metric} over {len(current)} {settings.rows_compared}"
    if worst is None:
        return (
            f"{summary}: no column has a value ({evaluation.results[0].note if evaluation.results else 'no results'})"
        )
    summary += f", worst {worst.column} {worst.value:.6g}"
    return summary + (f", {len(violations)} violation(s)" if violations else ", no violations")


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="python3 -m mlstack.monitor_job", description=__doc__.split("\n")[0])
    main.add_argument("--monitor", help="the spec monitor's name (MLSTACK_MONITOR)")
    main.add_argument("--captures", help="captured data: a folder or an s3:// prefix (default: $dataset_source)")
    main.add_argument("--output", help="folder for the reports (default: $output_path)")
    main.add_argument("--start", help="window start, ISO 8601 (default: $start_time)")
    main.add_argument("--end", help="window end, ISO 8601 (default: $end_time)")
    return main


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    args = parser().parse_args(argv)
    env = os.environ if environ is None else environ
    what = f"monitor {args.monitor or env.get('MLSTACK_MONITOR', '')}".rstrip()
    return run("mlstack monitor_job", lambda: monitor(Settings.load(args, env)), what=what)
