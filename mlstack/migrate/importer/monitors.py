"""Monitoring schedules -> monitors: the kind from the job (data quality, model quality, or mlstack's own
container, whose environment names everything), the schedule from its expression, the features and
threshold from the CloudWatch alarm on its metrics, and the alarm's actions."""

from __future__ import annotations

import re
from typing import Any

from mlstack.migrate.importer.context import Import
from mlstack.migrate.importer.schedules import from_monitor

# backends/aws/signals.py: SageMaker's analyzer metrics per feature, and model-quality metric names.
ANALYZER = {
    "feature_baseline_drift_": ("data_drift", "l_infinity", False),
    "feature_non_null_": ("data_quality", "null_rate", True),
}
PROBLEM_TYPES = {
    "BinaryClassification": "binary_classification",
    "MulticlassClassification": "multiclass_classification",
    "Regression": "regression",
}
MODEL_METRICS = {"weighted_precision": "precision", "weighted_recall": "recall", "weighted_f1": "f1"}
TOPIC = re.compile(r"arn:aws[a-z-]*:sns:.+")


def _metric_names(alarm: dict[str, Any]) -> list[str]:
    names = [alarm["MetricName"]] if alarm.get("MetricName") else []
    return names + [q["MetricStat"]["Metric"]["MetricName"] for q in alarm.get("Metrics", []) if "MetricStat" in q]


def _environment(schedule: dict[str, Any]) -> dict[str, str]:
    inline = schedule["MonitoringScheduleConfig"].get("MonitoringJobDefinition") or {}
    return inline.get("Environment", {})


def monitor(
    ctx: Import, schedule: dict[str, Any], job: dict[str, Any] | None, tags: dict[str, str], index: int
) -> dict[str, Any] | None:
    path = ("monitors", index)
    vendor = schedule["MonitoringScheduleName"]
    config = schedule["MonitoringScheduleConfig"]
    kind = config.get("MonitoringType", "DataQuality")
    if kind in ("ModelBias", "ModelExplainability"):
        ctx.report.add(
            path,
            "unsupported",
            f"{kind} monitor {vendor}",
            "the spec monitors drift, data quality and model quality: skipped",
        )
        return None
    endpoint = schedule.get("EndpointName") or (job or {}).get("DataQualityJobInput", {}).get("EndpointInput", {}).get(
        "EndpointName", ""
    )
    out: dict[str, Any] = {
        "name": ctx.name(vendor, "monitor", (*path, "name")),
        "kind": "data_quality",
        "endpoint": ctx.endpoints.get(endpoint, endpoint),
    }
    alarms = ctx.alarms_of_schedule(vendor)
    alarm = alarms[0] if alarms else None
    env = _environment(schedule)
    if env.get("MLSTACK_KIND"):  # mlstack's own container: its environment says everything
        out |= {"kind": env["MLSTACK_KIND"], "metric": env["MLSTACK_METRIC"]}
        if env.get("MLSTACK_FEATURES"):
            out["features"] = env["MLSTACK_FEATURES"].split(",")
        if env.get("MLSTACK_BASELINE"):
            out["baseline"] = env["MLSTACK_BASELINE"]
        if env.get("MLSTACK_THRESHOLD"):
            out["threshold"] = float(env["MLSTACK_THRESHOLD"])
    elif kind == "ModelQuality":
        _model_quality(ctx, out, job or {}, alarm, path)
    else:
        _analyzer(ctx, out, job or {}, alarm, tags, path)
    expression = config.get("ScheduleConfig", {}).get("ScheduleExpression", "")
    cron = from_monitor(expression)
    if cron is None:
        ctx.report.add(
            (*path, "schedule"),
            "approximate",
            f"schedule {expression}",
            "not hourly, daily or every N hours: imported as hourly",
        )
        cron = "0 * * * *"
    out["schedule"] = cron
    actions = _actions(ctx, alarm, path)
    if actions:
        out["actions"] = actions
    ctx.report.add(path, "exact", f"monitoring schedule {vendor} ({kind}) on {endpoint}, {expression}")
    return out


def _analyzer(
    ctx: Import,
    out: dict[str, Any],
    job: dict[str, Any],
    alarm: dict[str, Any] | None,
    tags: dict[str, str],
    path: tuple,
) -> None:
    names = _metric_names(alarm) if alarm else []
    found = [(prefix, name.removeprefix(prefix)) for name in names for prefix in ANALYZER if name.startswith(prefix)]
    if found:
        kind, metric, inverted = ANALYZER[found[0][0]]
        out |= {"kind": kind, "metric": metric, "features": [feature for _, feature in found]}
        assert alarm is not None
        out["threshold"] = round(1 - alarm["Threshold"], 12) if inverted else alarm["Threshold"]
    else:
        kind = tags.get("mlstack-monitor-kind", "data_quality")
        out |= {"kind": kind, "metric": "l_infinity" if kind == "data_drift" else "null_rate"}
        ctx.report.add(
            (*path, "metric"),
            "approximate",
            f"{out['metric']} over all columns",
            "no alarm names the analyzer's per-feature metrics: the monitor watches every column with no threshold",
        )
    statistics = job.get("DataQualityBaselineConfig", {}).get("StatisticsResource", {}).get("S3Uri", "")
    out["baseline"] = statistics.rsplit("/", 1)[0] + "/" if statistics else "baseline/"
    ctx.report.add(
        (*path, "baseline"),
        "approximate" if statistics else "unsupported",
        "baseline dataset",
        "SageMaker keeps the baseline's statistics, not the dataset: their folder stands in; point at the training data",
    )


def _model_quality(
    ctx: Import, out: dict[str, Any], job: dict[str, Any], alarm: dict[str, Any] | None, path: tuple
) -> None:
    app = job.get("ModelQualityAppSpecification", {})
    problem = PROBLEM_TYPES.get(app.get("ProblemType", ""), "binary_classification")
    out |= {"kind": "model_quality", "problem_type": problem}
    truth = job.get("ModelQualityJobInput", {}).get("GroundTruthS3Input", {}).get("S3Uri")
    if truth:
        out["ground_truth"] = truth
    names = _metric_names(alarm) if alarm else []
    if names:
        out["metric"] = MODEL_METRICS.get(names[0], names[0])
        assert alarm is not None
        out["threshold"] = alarm["Threshold"]
    else:
        out["metric"] = "mae" if problem == "regression" else "accuracy"
        ctx.report.add(
            (*path, "metric"),
            "approximate",
            f"metric {out['metric']}",
            "no alarm names the metric to watch: the problem type's first",
        )


def _actions(ctx: Import, alarm: dict[str, Any] | None, path: tuple) -> list[dict[str, Any]]:
    if alarm is None:
        return []
    actions: list[dict[str, Any]] = []
    topics = [a for a in alarm.get("AlarmActions", []) if TOPIC.fullmatch(a)]
    if topics:
        actions.append({"type": "alert", "to": topics})
        ctx.report.add(
            (*path, "actions"),
            "approximate",
            f"alerts to {', '.join(topics)}",
            "the topics' e-mail and https subscribers are not read: list them under `to` to have mlstack manage them",
        )
    if alarm["AlarmName"] in ctx.rollback_alarms:
        actions.append({"type": "rollback"})
    return actions
