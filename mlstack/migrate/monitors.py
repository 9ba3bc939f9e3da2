"""Monitors: a metric the destination lacks becomes the closest one it offers for that kind, and a
schedule its monitoring cannot run becomes the nearest one it can."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from itertools import pairwise

from ruamel.yaml.comments import CommentedMap

from mlstack.errors import Path
from mlstack.migrate.context import Context
from mlstack.migrate.markers import Derive, Outcome, Unmappable
from mlstack.migrate.walk import monitors
from mlstack.targets import profile, supports_metric
from mlstack.targets.schedules import schedule_problem

# For each metric, the others of its kind from most to least alike. Data-quality metrics measure
# different failures (nulls, types, ranges), so none stands in for another.
CLOSEST: dict[str, tuple[str, ...]] = {
    "psi": ("jensen_shannon", "wasserstein", "chi2", "ks", "l_infinity"),
    "jensen_shannon": ("psi", "l_infinity", "wasserstein", "chi2", "ks"),
    "wasserstein": ("ks", "jensen_shannon", "psi", "l_infinity", "chi2"),
    "ks": ("l_infinity", "wasserstein", "jensen_shannon", "psi", "chi2"),
    "chi2": ("l_infinity", "jensen_shannon", "psi", "ks", "wasserstein"),
    "l_infinity": ("ks", "chi2", "jensen_shannon", "psi", "wasserstein"),
    "accuracy": ("f1", "auc", "precision", "recall"),
    "auc": ("accuracy", "f1", "precision", "recall"),
    "f1": ("accuracy", "precision", "recall", "auc"),
    "precision": ("f1", "accuracy", "recall", "auc"),
    "recall": ("f1", "accuracy", "precision", "auc"),
    "mae": ("rmse",),
    "rmse": ("mae",),
}
MEANS = {
    "psi": "population stability index over binned shares (unbounded; 0.1 and 0.25 are the usual alerts)",
    "jensen_shannon": "Jensen–Shannon distance between binned distributions (0–1)",
    "wasserstein": "Wasserstein distance normalised by the reference's spread",
    "ks": "Kolmogorov–Smirnov two-sample test (a p-value: alerts below the threshold)",
    "chi2": "chi-squared test on category counts (a p-value)",
    "l_infinity": "the largest difference in any bin's or category's share (0–1)",
    "accuracy": "share of correct predictions",
    "auc": "area under the ROC curve",
    "f1": "harmonic mean of precision and recall",
    "precision": "share of positive predictions that are right",
    "recall": "share of positives found",
    "mae": "mean absolute error",
    "rmse": "root mean squared error",
}


def derive_metric(_cloud: str, value: object, to: str) -> object:
    target = profile(to)
    metric = str(value)
    if supports_metric(target, metric):
        return metric
    for candidate in CLOSEST.get(metric, ()):
        if supports_metric(target, candidate):
            return candidate
    raise Unmappable(f"{target.title} offers no metric close to '{metric}'")


# Whole-hour intervals each schedule rule accepts, besides daily.
_HOURS = {"sagemaker": tuple(range(1, 24)), "whole_hours": (1, 2, 3, 4, 6, 8, 12)}


def nearest_schedule(rule: str, cron: str) -> str:
    """The cron the rule accepts that runs closest to `cron`'s rhythm (never less often than daily)."""
    if schedule_problem(rule, cron) is None:
        return cron
    from croniter import croniter

    runs = croniter(cron, datetime(2026, 1, 5, tzinfo=UTC))
    times = [runs.get_next(datetime) for _ in range(4)]
    interval = min((b - a).total_seconds() for a, b in pairwise(times)) / 3600
    if interval >= 24:
        return f"0 {times[0].hour} * * *"
    hours = min(_HOURS[rule], key=lambda n: (abs(n - interval), n))
    return "0 * * * *" if hours == 1 else f"0 */{hours} * * *"


def migrate_monitors(ctx: Context) -> None:
    for path, monitor in monitors(ctx.root):
        if "metric" in monitor:
            _translate(ctx, path, monitor, "metric", derive_metric, lambda o, m=monitor: _metric_why(ctx, m, o))
        if isinstance(monitor.get("schedule"), str):
            _translate(ctx, path, monitor, "schedule", derive_schedule, lambda o: _schedule_why(ctx, o))


def derive_schedule(_cloud: str, value: object, to: str) -> object:
    return nearest_schedule(profile(to).schedule_rule, str(value))


def _translate(
    ctx: Context, path: Path, monitor: CommentedMap, key: str, derive: Derive, why: Callable[[Outcome], str]
) -> None:
    old = monitor[key]
    try:
        outcome = ctx.translate(monitor, key, derive)
    except Unmappable as exc:
        ctx.report.add((*path, key), "unsupported", f"{key} {old}", f"{exc}; choose another {key} or drop the monitor")
        return
    if ctx.settle(monitor, key, outcome) == outcome.value:
        return
    what = f"{key} '{old}' → '{outcome.value}'"
    if outcome.restored:
        ctx.restored((*path, key), what, outcome, before=old, after=outcome.value)
    else:
        ctx.report.add((*path, key), "approximate", what, why(outcome), before=old, after=outcome.value)


def _schedule_why(ctx: Context, outcome: Outcome) -> str:
    return f"{schedule_problem(ctx.target.schedule_rule, str(outcome.origin.value))}; the nearest it can run"


def _metric_why(ctx: Context, monitor: CommentedMap, outcome: Outcome) -> str:
    original = str(outcome.origin.value)
    why = (
        f"{ctx.target.title} has no {original} ({MEANS.get(original, original)}); {outcome.value} is the closest it "
        f"offers ({MEANS.get(str(outcome.value), outcome.value)})"
    )
    if monitor.get("threshold") is not None:
        why += (
            f"; the threshold {monitor['threshold']} was chosen for {original}: check it (and environment "
            f"overrides) against {outcome.value}"
        )
    return why
