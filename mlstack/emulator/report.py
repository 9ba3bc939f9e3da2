"""A monitor's HTML report: the metric table and, per feature, reference and current histograms.

Self-contained: styles inline and histograms as inline SVG drawn from the same bins the metrics
were computed on (`mlstack.stats.drift.column_histogram`), so the file opens anywhere, offline.
Rendered from `templates/reports/monitor.html.j2`.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

from mlstack.errors import MlstackError
from mlstack.paths import TEMPLATES as TEMPLATES_ROOT

if TYPE_CHECKING:
    from mlstack.emulator.monitors import Evaluation

TEMPLATES = TEMPLATES_ROOT / "reports"
WIDTH, HEIGHT, AXIS = 520, 170, 20  # an SVG histogram's size and the room under it for labels


def histogram_svg(reference: Any, current: Any, column: str) -> dict[str, Any] | None:
    """Bars of reference and current shares per bin, as geometry for the template; None when a
    side has no values (or the column cannot be binned)."""
    from mlstack.stats.drift import column_histogram
    from mlstack.stats.registry import StatsError

    try:
        histogram = column_histogram(reference, current, column=column)
    except StatsError:
        return None
    if histogram is None:
        return None
    labels = histogram.bins.labels()
    ref, cur = histogram.reference_shares, histogram.current_shares
    top = max(float(ref.max(initial=0)), float(cur.max(initial=0))) or 1.0
    slot = WIDTH / max(len(labels), 1)
    bar = max(slot * 0.4, 0.5)
    bars = []
    for i, label in enumerate(labels):
        for offset, (series, shares) in enumerate((("reference", ref), ("current", cur))):
            height = (HEIGHT - AXIS) * float(shares[i]) / top
            bars.append(
                {
                    "x": round(i * slot + slot * 0.1 + offset * bar, 2),
                    "y": round(HEIGHT - AXIS - height, 2),
                    "w": round(bar, 2),
                    "h": round(height, 2),
                    "series": series,
                    "title": f"{label}: {series} {float(shares[i]):.1%}",
                }
            )
    return {
        "column": column,
        "bins": histogram.bins.describe(),
        "width": WIDTH,
        "height": HEIGHT,
        "axis_y": HEIGHT - AXIS + 14,
        "first": labels[0] if labels else "",
        "last": labels[-1] if labels else "",
        "bars": bars,
    }


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
        runs=[{**run, "at": _when(run["at"])} for run in runs],
    )


def _result_row(result: dict[str, Any]) -> dict[str, Any]:
    value = result["value"]
    return {
        **result,
        "value": "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.4g}",
        "threshold": "none" if result["threshold"] is None else f"{result['threshold']:g}",
    }


def _when(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(epoch))
