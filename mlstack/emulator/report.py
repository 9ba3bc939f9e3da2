"""A monitor's HTML report: the headline, the metric over time across runs with the actions each run
took, the metric table, and the pictures of what was measured: per feature, reference and current
histograms (drawn from the same bins the metrics were computed on,
`mlstack.stats.drift.column_histogram`); for model quality, a confusion matrix and a calibration plot
(classifiers) or residuals (regressors).

Self-contained: styles inline and charts as inline SVG drawn with matplotlib (`charts`), so the file
opens anywhere, offline. Rendered from `templates/reports/monitor.html.j2`.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

from mlstack.emulator import charts
from mlstack.errors import MlstackError
from mlstack.paths import TEMPLATES as TEMPLATES_ROOT

if TYPE_CHECKING:
    from mlstack.emulator.monitors import Evaluation

TEMPLATES = TEMPLATES_ROOT / "reports"
CLASSIFIERS = ("binary_classification", "multiclass_classification")


def histogram_svg(reference: Any, current: Any, column: str) -> dict[str, Any] | None:
    """A column's reference and current shares per bin, drawn; None when a side has no values (or the
    column cannot be binned)."""
    from mlstack.stats.drift import column_histogram
    from mlstack.stats.registry import StatsError

    try:
        histogram = column_histogram(reference, current, column=column)
    except StatsError:
        return None
    if histogram is None:
        return None
    labels = histogram.bins.labels()
    return {
        "column": column,
        "bins": histogram.bins.describe(),
        "svg": charts.histogram(column, labels, histogram.reference_shares.tolist(), histogram.current_shares.tolist()),
    }


def quality_charts(evaluation: Evaluation) -> list[dict[str, str]]:
    """What a model-quality monitor's labelled rows look like: for classifiers the confusion matrix and
    (with scores, binary) the calibration; for regressors the residuals."""
    joined = evaluation.labelled
    if joined is None or joined.empty:
        return []
    problem = evaluation.monitor.get("problem_type") or "binary_classification"
    labels, predictions = joined["label"].tolist(), joined["prediction"].tolist()
    drawn: list[tuple[str, str | None]]
    if problem in CLASSIFIERS:
        drawn = [("Confusion matrix", charts.confusion_matrix(labels, predictions))]
        scores = joined["score"].tolist()
        if problem == "binary_classification":
            drawn.append(("Calibration", charts.calibration(labels, scores)))
    else:
        drawn = [("Residuals", charts.residuals(labels, predictions))]
    return [{"title": title, "svg": svg} for title, svg in drawn if svg is not None]


def headline(evaluation: Evaluation, runs: list[dict[str, Any]]) -> str | None:
    """How the value evaluated for this report relates to the latest recorded run: the same, or why not."""
    if not runs:
        return "No run is recorded yet: the value above was evaluated for this report."
    latest = max(runs, key=lambda r: r["at"])
    worst = evaluation.worst
    now = None if worst is None or math.isnan(worst.value) else worst.value
    recorded = latest.get("value")
    when = _when(latest["at"])
    if now is None and recorded is None:
        return None
    if now is not None and recorded is not None and math.isclose(now, recorded, rel_tol=1e-9, abs_tol=1e-12):
        return f"The same value as the latest run ({when})."
    shown = "no value" if recorded is None else f"{recorded:.4g}"
    window = (
        "every labelled capture up to now"
        if evaluation.window[0] is None
        else f"the captures of {_when(evaluation.window[0])} – {_when(evaluation.window[1])}"
    )
    return (
        f"The latest run ({when}, {latest['status']}) recorded {shown}; this report evaluated {window} "
        f"({evaluation.rows} rows) again, so traffic or labels that arrived since then count here."
    )


def render(evaluation: Evaluation, runs: list[dict[str, Any]]) -> str:
    import jinja2

    if not (TEMPLATES / "monitor.html.j2").is_file():
        raise MlstackError(f"the report template is missing: expected {TEMPLATES / 'monitor.html.j2'}")
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, undefined=jinja2.StrictUndefined
    )
    histograms = []
    if evaluation.reference is not None and evaluation.current is not None and len(evaluation.current):
        for column in evaluation.columns:
            drawn = histogram_svg(evaluation.reference[column], evaluation.current[column], column)
            if drawn is not None:
                histograms.append(drawn)
    since, until = evaluation.window
    return environment.get_template("monitor.html.j2").render(
        monitor=evaluation.monitor,
        summary=evaluation.summary(),
        breached=bool(evaluation.breached),
        rows=evaluation.rows,
        since=_when(since) if since is not None else "every labelled capture",
        until=_when(until),
        generated=_when(time.time()),
        results=[_result_row(r.to_dict()) for r in evaluation.results],
        histograms=histograms,
        quality=quality_charts(evaluation),
        over_time=charts.metric_over_time(runs, evaluation.monitor["metric"], _threshold(evaluation, runs)),
        headline=headline(evaluation, runs),
        runs=[_run_row(run) for run in sorted(runs, key=lambda r: r["at"], reverse=True)],
    )


def _threshold(evaluation: Evaluation, runs: list[dict[str, Any]]) -> float | None:
    """The line a run's value is judged against: the spec's, else the metric's default as applied."""
    if evaluation.monitor.get("threshold") is not None:
        return evaluation.monitor["threshold"]
    if evaluation.worst is not None and evaluation.worst.threshold is not None:
        return evaluation.worst.threshold
    return next((r["threshold"] for r in sorted(runs, key=lambda r: -r["at"]) if r.get("threshold") is not None), None)


def _run_row(run: dict[str, Any]) -> dict[str, Any]:
    value = run.get("value")
    return {
        **run,
        "at": _when(run["at"]),
        "value": "—" if value is None else f"{value:.4g}",
        "actions": [charts.action_words(a) for a in run.get("actions") or []],
    }


def _result_row(result: dict[str, Any]) -> dict[str, Any]:
    value = result["value"]
    return {
        **result,
        "value": "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.4g}",
        "threshold": "none" if result["threshold"] is None else f"{result['threshold']:g}",
    }


def _when(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(epoch))
