"""The monitor reports: drawn with matplotlib (full-width inline SVG with axes), the metric across runs
with the actions each run took, a confusion matrix and calibration for classifiers, residuals for
regressors, and a headline that agrees with the runs table or says why not. Then opened in headless
Chromium: no console errors, nothing fetched, charts as wide as the page, text visible, screenshots."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from sklearn.metrics import confusion_matrix

from mlstack.emulator import charts
from mlstack.emulator.report import headline, render
from tests import chromium
from tests.chromium import pages  # noqa: F401 - the fixture
from tests.reports.conftest import drift_evaluation, drift_report, drift_runs, quality_evaluation, quality_report

SVG = re.compile(r"<svg\b.*?</svg>", re.DOTALL)


def figures(html: str) -> dict[str, str]:
    """Each chart's SVG by its aria-label."""
    return {re.search(r'aria-label="([^"]+)"', svg).group(1): svg for svg in SVG.findall(html)}


def texts(svg: str) -> list[str]:
    return re.findall(r"<text\b[^>]*>([^<]*)</text>", svg)


def test_drift_report_draws_the_metric_over_runs_and_each_histogram_with_axes() -> None:
    evaluation = drift_evaluation()
    html = drift_report()
    charts = figures(html)
    assert sorted(charts) == [
        "histogram of amount: reference and current",
        "histogram of txn_count_24h: reference and current",
        "psi per run over time",
    ]
    for svg in charts.values():
        assert svg.startswith('<svg width="100%"') and 'viewBox="0 0 792 ' in svg
        assert 'height="' not in svg.split(">", 1)[0], "the height follows the width (viewBox), not a fixed size"
    over_time = texts(charts["psi per run over time"])
    assert {"psi", "run time (UTC)", "threshold 0.2", "run: ok", "run: alert"} <= set(over_time)
    assert "retrain started" in over_time and "1 alert not delivered" in over_time, "the alerting run's actions"
    histogram = texts(charts["histogram of txn_count_24h: reference and current"])
    assert {"share of rows", "reference (baseline)", "current (captured)", "0%"} <= set(histogram)
    # the runs table lists every action of the run that alerted, in words
    assert "<li>retrain started (train-fraud-20260921-0300)</li>" in html
    assert "<li>alert not delivered to fraud-oncall@example.com: recorded</li>" in html
    assert "<li>alert delivered to http://127.0.0.1:9/hook</li>" in html
    # the headline is the latest run's value
    assert f"psi {evaluation.worst.value:.4g} on txn_count_24h" in html
    assert "The same value as the latest run (2026-09-21 13:13:20 UTC)." in html
    assert re.search(r'\b(src|href)="(?!#)', html) is None, "nothing to fetch: the file stands alone"


def test_the_headline_says_why_it_differs_from_the_latest_run() -> None:
    evaluation = drift_evaluation()
    runs = drift_runs([0.05, 0.3])
    said = headline(evaluation, runs)
    assert said is not None and said.startswith("The latest run (2026-09-21 13:13:20 UTC, alert) recorded 0.3;")
    assert "evaluated the captures of 2026-09-21 13:13:20 UTC – 2026-09-21 14:13:20 UTC (300 rows) again" in said
    assert headline(evaluation, []) == "No run is recorded yet: the value above was evaluated for this report."
    html = render(evaluation, [])
    assert "No run has recorded a value yet." in html and "per run over time" not in html


def test_classifier_report_has_the_confusion_matrix_and_calibration() -> None:
    evaluation = quality_evaluation("binary_classification")
    joined = evaluation.labelled
    html = quality_report("binary_classification")
    charts = figures(html)
    [matrix] = [svg for label, svg in charts.items() if label.startswith("confusion matrix over 240 labelled rows")]
    counts = confusion_matrix(joined["label"], joined["prediction"])
    shown = texts(matrix)
    assert all(str(n) in shown for n in counts.ravel()), (counts, shown)
    rates = counts / counts.sum(axis=1, keepdims=True)
    assert all(f"{r:.0%}" in shown for r in rates.ravel())
    assert {"predicted", "actual", "rows", "share of the actual class"} <= set(shown)
    [calibration] = [svg for label, svg in charts.items() if label.startswith("calibration over 240 labelled rows")]
    assert {"mean predicted score", "observed share of positives", "perfectly calibrated"} <= set(texts(calibration))
    assert "accuracy per run over time" in charts
    assert not any(label.startswith("residuals") for label in charts)


def test_regressor_report_has_residuals_and_no_confusion_matrix() -> None:
    evaluation = quality_evaluation("regression")
    error = evaluation.labelled["label"] - evaluation.labelled["prediction"]
    charts = figures(quality_report("regression"))
    [residuals] = [svg for label, svg in charts.items() if label.startswith("residuals over 240")]
    shown = texts(residuals)
    assert {"predicted", "residual (actual − predicted)", "residual"} <= set(shown)
    assert f"residual distribution (mean {np.mean(error):.3g}, sd {np.std(error):.3g})" in shown
    assert not any(label.startswith(("confusion", "calibration")) for label in charts)


# --- in a browser ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("reports")
    out = {}
    for name, html in (
        ("drift", drift_report()),
        ("classifier", quality_report("binary_classification")),
        ("regressor", quality_report("regression")),
    ):
        out[name] = folder / f"{name}.html"
        out[name].write_text(html)
    return out


CHARTS_JS = """
[...document.querySelectorAll('figure.chart svg')].map(svg => {
  const r = svg.getBoundingClientRect();
  return {label: svg.getAttribute('aria-label'), width: r.width, height: r.height,
          page: document.body.clientWidth, texts: svg.querySelectorAll('text').length};
})
"""


@pytest.mark.parametrize(
    ("name", "must_see"),
    [
        ("drift", ["Monitor feature-drift", "ALERT", "retrain started (train-fraud-20260921-0300)", "psi per run"]),
        ("classifier", ["Monitor scorer-quality", "Confusion matrix", "Calibration", "share of the actual class"]),
        ("regressor", ["Monitor scorer-quality", "Residuals", "residual (actual − predicted)"]),
    ],
)
def test_reports_in_chromium(
    pages: Any,  # noqa: F811 - the fixture
    reports: dict[str, Path],
    tmp_path: Path,
    name: str,
    must_see: list[str],
) -> None:
    page = pages()
    url = reports[name].as_uri()
    page.open(url)
    assert page.console == [], "the report logs no errors or warnings"
    assert page.requests == [url], "the report fetches nothing but itself"
    drawn = page.js(CHARTS_JS)
    assert len(drawn) >= 2, drawn
    for chart in drawn:  # as wide as the page's content, tall enough to read, with axes text
        assert chart["width"] >= 0.98 * chart["page"] - 1 and chart["height"] >= 150, chart
        assert chart["texts"] >= 8, chart
    for text in must_see:
        assert chromium.visible_text(page, text), f"{text!r} is not visible"
    assert page.js("document.documentElement.scrollWidth") <= chromium.WIDTH, "nothing overflows sideways"
    shot = page.screenshot(tmp_path / f"{name}.png")
    with Image.open(shot) as image:
        assert image.width == chromium.WIDTH and image.height >= chromium.HEIGHT
    assert chromium.blank_fraction(shot) < 0.97, "the screenshot shows charts and text, not a blank page"
    painted = {c: chromium.colour_share(shot, charts.COLOURS[c]) for c in ("reference", "current")}
    assert max(painted.values()) > 0.002, f"the charts' colours are painted: {painted}"
