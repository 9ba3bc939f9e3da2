"""The HTML reports' charts, drawn with matplotlib and inlined as SVG.

Each chart is one `<svg>` that fills the width of the page (its viewBox keeps the proportions), with
axes, labels and a legend; text stays text (`svg.fonttype: none`) so a reader can select and search
it, and nothing is fetched when the report is opened. Figures are built with `matplotlib.figure.Figure`
(no pyplot state), so the emulator's server threads can draw at once."""

from __future__ import annotations

import io
import math
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

WIDTH_IN = 11.0  # inches at 72 pt: the viewBox is 792 pt wide and the browser scales it to the page
COLOURS = {"reference": "#4c72b0", "current": "#dd8452", "ok": "#2da44e", "alert": "#cf222e", "other": "#8c959f"}
_STYLE = {
    "svg.fonttype": "none",
    "svg.hashsalt": "mlstack",  # the same report twice is the same text
    "font.size": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#d1d9e0",
    "grid.linewidth": 0.6,
}


def _figure(height: float, columns: int = 1) -> tuple[Any, list[Any]]:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(WIDTH_IN, height), layout="constrained")
    axes = figure.subplots(1, columns, squeeze=False)[0]
    return figure, list(axes)


def to_svg(figure: Any, label: str) -> str:
    """The figure as an inline `<svg>` element that takes the page's width."""
    import matplotlib

    out = io.StringIO()
    with matplotlib.rc_context(_STYLE):
        figure.savefig(out, format="svg", metadata={"Date": None, "Creator": None})
    text = out.getvalue()
    text = text[text.index("<svg") :]
    text = re.sub(r'<svg([^>]*?) width="[^"]+" height="[^"]+"', r"<svg\1", text, count=1)
    # the viewBox keeps the aspect ratio; width 100% makes the chart as wide as the page
    return text.replace("<svg", f'<svg width="100%" role="img" aria-label="{_attr(label)}"', 1)


def _attr(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def _styled(draw: Any) -> Any:
    """Run `draw` with the report style (figures take rcParams when their artists are made)."""
    import matplotlib

    with matplotlib.rc_context(_STYLE):
        return draw()


# --- a metric over time, with what each run did -----------------------------------------------------


def action_words(action: dict[str, Any]) -> str:
    """One action a run took, as a reader says it."""
    kind = action.get("type")
    if kind == "retrain":
        runs = action.get("runs") or []
        return f"retrain started ({', '.join(runs)})" if runs else "retrain started"
    if kind == "alert":
        to = action.get("to", "")
        if action.get("delivered"):
            return f"alert delivered to {to}"
        return f"alert not delivered to {to}: {action.get('message', '')}".rstrip(": ")
    if kind == "rollback":
        return "rolled back" if action.get("ok") else f"rollback failed: {action.get('message', '')}"
    return str(kind)


def _short(actions: list[dict[str, Any]]) -> str:
    """The actions of one run in a few words, for a label next to its point."""
    words = []
    if any(a.get("type") == "retrain" for a in actions):
        words.append("retrain started")
    undelivered = sum(1 for a in actions if a.get("type") == "alert" and not a.get("delivered"))
    delivered = sum(1 for a in actions if a.get("type") == "alert" and a.get("delivered"))
    if delivered:
        words.append(f"{delivered} alert{'s' if delivered > 1 else ''} sent")
    if undelivered:
        words.append(f"{undelivered} alert{'s' if undelivered > 1 else ''} not delivered")
    for a in actions:
        if a.get("type") == "rollback":
            words.append("rolled back" if a.get("ok") else "rollback failed")
    return "\n".join(words)


def metric_over_time(runs: Sequence[dict[str, Any]], metric: str, threshold: float | None) -> str | None:
    """The monitor's value at each recorded run (oldest first), the threshold, and the actions taken.
    None when no run recorded a value."""
    valued = sorted((r for r in runs if r.get("value") is not None), key=lambda r: r["at"])
    if not valued:
        return None

    def draw() -> str:
        figure, (axes,) = _figure(3.2)
        times = [datetime.fromtimestamp(r["at"], UTC) for r in valued]
        values = [r["value"] for r in valued]
        axes.plot(times, values, color=COLOURS["reference"], linewidth=1.5, zorder=1)
        for status in ("ok", "alert", "other"):
            points = [
                (t, v)
                for t, v, r in zip(times, values, valued, strict=True)
                if (r["status"] if r["status"] in ("ok", "alert") else "other") == status
            ]
            if points:
                xs, ys = zip(*points, strict=True)
                axes.scatter(xs, ys, color=COLOURS[status], s=36, zorder=2, label=f"run: {status}")
        if threshold is not None:
            axes.axhline(
                threshold, color=COLOURS["alert"], linestyle="--", linewidth=1, label=f"threshold {threshold:g}"
            )
        for i, (t, v, r) in enumerate(zip(times, values, valued, strict=True)):
            said = _short(r.get("actions") or [])
            if said:  # to the left of the later half's points, so the words stay inside the axes
                later = i >= len(valued) / 2 and len(valued) > 1
                axes.annotate(
                    said,
                    (t, v),
                    textcoords="offset points",
                    xytext=(-8, -4) if later else (8, -4),
                    ha="right" if later else "left",
                    va="top",
                    fontsize=8,
                    color="#1f2328",
                )
        axes.margins(x=0.05, y=0.2)
        axes.set_ylabel(metric)
        axes.set_xlabel("run time (UTC)")
        axes.set_title(f"{metric} per run", loc="left", fontsize=11)
        axes.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, fontsize=9)
        _time_axis(axes, times)
        return to_svg(figure, f"{metric} per run over time")

    return _styled(draw)


def _time_axis(axes: Any, times: list[datetime]) -> None:
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator(minticks=3, maxticks=8)
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    if len(times) == 1:  # one point: a window around it, not a zero-width axis
        axes.set_xlim(times[0] - timedelta(hours=1), times[0] + timedelta(hours=1))


# --- distributions --------------------------------------------------------------------------------


def histogram(column: str, labels: Sequence[str], reference: Sequence[float], current: Sequence[float]) -> str:
    """Reference and current share of rows per bin, side by side."""

    def draw() -> str:
        import numpy as np

        figure, (axes,) = _figure(2.8)
        x = np.arange(len(labels))
        axes.bar(x - 0.2, reference, width=0.4, color=COLOURS["reference"], label="reference (baseline)")
        axes.bar(x + 0.2, current, width=0.4, color=COLOURS["current"], label="current (captured)")
        axes.set_xticks(x, labels, rotation=30 if len(labels) > 8 else 0, ha="right" if len(labels) > 8 else "center")
        axes.yaxis.set_major_formatter(_percent())
        axes.set_ylabel("share of rows")
        axes.legend(loc="upper right", frameon=False, fontsize=9)
        return to_svg(figure, f"histogram of {column}: reference and current")

    return _styled(draw)


def _percent() -> Any:
    from matplotlib.ticker import PercentFormatter

    return PercentFormatter(xmax=1.0, decimals=0)


# --- model quality --------------------------------------------------------------------------------


def confusion_matrix(labels: Sequence[Any], predictions: Sequence[Any]) -> str:
    """Counts of each (actual, predicted) pair of classes, and the same as a share of each actual class;
    the diagonal holds the correct answers."""

    def draw() -> str:
        import numpy as np

        classes = sorted({str(v) for v in (*labels, *predictions)})
        index = {c: i for i, c in enumerate(classes)}
        counts = np.zeros((len(classes), len(classes)), dtype=int)
        for truth, guess in zip(labels, predictions, strict=True):
            counts[index[str(truth)], index[str(guess)]] += 1
        shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
        figure, panels = _figure(max(3.2, 0.45 * len(classes) + 2.0), columns=2)
        for axes, grid, title, shown in (
            (panels[0], counts, "rows", lambda n: str(int(n))),
            (panels[1], shares, "share of the actual class", lambda n: f"{n:.0%}"),
        ):
            image = axes.imshow(grid, cmap="Blues", aspect="equal")
            axes.grid(False)
            axes.set_xticks(range(len(classes)), classes)
            axes.set_yticks(range(len(classes)), classes)
            axes.set_xlabel("predicted")
            axes.set_ylabel("actual")
            axes.set_title(title, loc="left", fontsize=11)
            top = grid.max() or 1
            for (i, j), n in np.ndenumerate(grid):
                axes.text(j, i, shown(n), ha="center", va="center", color="white" if n > top / 2 else "#1f2328")
            figure.colorbar(image, ax=axes, shrink=0.8)
        return to_svg(figure, f"confusion matrix over {int(counts.sum())} labelled rows")

    return _styled(draw)


def calibration(labels: Sequence[Any], scores: Sequence[float], positive: Any = 1, bins: int = 10) -> str | None:
    """Observed share of positives against the mean predicted score, per score bin (equal width);
    a calibrated model lies on the diagonal. None without scores."""
    pairs = [(1.0 if _same(t, positive) else 0.0, float(s)) for t, s in zip(labels, scores, strict=True) if _num(s)]
    if not pairs:
        return None

    def draw() -> str:
        import numpy as np

        truth = np.array([p[0] for p in pairs])
        score = np.clip(np.array([p[1] for p in pairs]), 0.0, 1.0)
        which = np.minimum((score * bins).astype(int), bins - 1)
        xs, ys, ns = [], [], []
        for b in range(bins):
            mask = which == b
            if mask.any():
                xs.append(float(score[mask].mean()))
                ys.append(float(truth[mask].mean()))
                ns.append(int(mask.sum()))
        figure, (left, right) = _figure(3.2, columns=2)
        left.plot([0, 1], [0, 1], linestyle="--", color=COLOURS["other"], label="perfectly calibrated")
        left.plot(xs, ys, marker="o", color=COLOURS["reference"], label="model")
        left.set_xlim(0, 1)
        left.set_ylim(0, 1)
        left.set_xlabel("mean predicted score")
        left.set_ylabel("observed share of positives")
        left.set_title("calibration", loc="left", fontsize=11)
        left.legend(loc="upper left", frameon=False, fontsize=9)
        right.hist(score, bins=bins, range=(0, 1), color=COLOURS["current"])
        right.set_xlabel("predicted score")
        right.set_ylabel("rows")
        right.set_title("scores", loc="left", fontsize=11)
        return to_svg(figure, f"calibration over {len(pairs)} labelled rows in {len(ns)} score bins")

    return _styled(draw)


def residuals(labels: Sequence[Any], predictions: Sequence[Any]) -> str | None:
    """Residuals (actual − predicted) against the prediction, and their distribution."""
    pairs = [(float(t), float(p)) for t, p in zip(labels, predictions, strict=True) if _num(t) and _num(p)]
    if not pairs:
        return None

    def draw() -> str:
        import numpy as np

        actual = np.array([p[0] for p in pairs])
        predicted = np.array([p[1] for p in pairs])
        error = actual - predicted
        figure, (left, right) = _figure(3.2, columns=2)
        left.scatter(predicted, error, s=12, alpha=0.7, color=COLOURS["reference"])
        left.axhline(0, color=COLOURS["other"], linestyle="--", linewidth=1)
        left.set_xlabel("predicted")
        left.set_ylabel("residual (actual − predicted)")
        left.set_title("residuals", loc="left", fontsize=11)
        right.hist(error, bins=min(30, max(5, len(pairs) // 5)), color=COLOURS["current"])
        right.set_xlabel("residual")
        right.set_ylabel("rows")
        right.set_title(
            f"residual distribution (mean {error.mean():.3g}, sd {error.std():.3g})", loc="left", fontsize=11
        )
        return to_svg(figure, f"residuals over {len(pairs)} labelled rows")

    return _styled(draw)


def _num(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _same(a: Any, b: Any) -> bool:
    return str(a) == str(b)
