"""The review comment's Mermaid block renders: Mermaid 11 (the version family GitHub runs) draws it in
headless Chromium, every node and edge label showing, escaped labels included."""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from mlstack.graph import build, to_mermaid
from mlstack.spec import load
from tests.cli.conftest import REPO

# .ci/run installs both: Chromium from Debian, mermaid from npm into this prefix.
MERMAID_JS = Path(
    os.environ.get("MERMAID_JS", Path.home() / ".cache/mlstack-ci/node_modules/mermaid/dist/mermaid.min.js")
)
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None or not MERMAID_JS.is_file(), reason="needs chromium and mermaid.min.js (.ci/run installs them)"
)

# As a page embeds a diagram: a `mermaid` block that mermaid.run() replaces with the drawing.
PAGE = """<!doctype html><html><head><title>pending</title></head><body>
<script src="{script}"></script>
<pre class="mermaid">{source}</pre>
<script>
mermaid.initialize({{startOnLoad: false}});
mermaid.run()
  .then(() => {{ document.title = document.querySelector("svg") ? "rendered" : "no drawing"; }})
  .catch(e => {{ document.title = "error: " + e.message; }});
</script></body></html>"""


def rendered(text: str, folder: Path) -> str:
    page = folder / "page.html"
    page.write_text(PAGE.format(script=MERMAID_JS.as_uri(), source=html.escape(text)))
    result = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--virtual-time-budget=20000",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    title = re.search(r"<title>([^<]*)</title>", result.stdout).group(1)
    assert title == "rendered", title
    return result.stdout


def test_the_fraud_platform_renders_with_every_node_and_label(tmp_path: Path):
    graph = build(load(REPO / "specs" / "fraud-detection.yaml").spec)
    dom = rendered(to_mermaid(graph), tmp_path)
    assert len(re.findall(r'<g class="node default" id="[^"]*flowchart-n\d+', dom)) == len(graph.nodes)
    shown = set(re.findall(r"<p>([^<]*)</p>", dom))
    assert {e.label for e in graph.edges if e.label} <= {html.unescape(s) for s in shown}
    assert {"Feature views", "Pipelines", "Registry", "Endpoints", "Monitors", "Actions"} <= shown


def test_labels_with_quotes_bars_and_brackets_render_as_written(tmp_path: Path):
    spec = tmp_path / "mlstack.yaml"
    hook = 'https://hooks.example.com/x?a=1&b="2"|<b>#amp;'
    spec.write_text(
        (REPO / "specs" / "quickstart.yaml").read_text()
        + f"""
monitors:
  - name: drift
    kind: data_drift
    endpoint: iris
    baseline: quickstart/iris.csv
    metric: psi
    actions:
      - type: alert
        to: ['{hook}']
"""
    )
    shutil.copytree(REPO / "specs" / "quickstart", tmp_path / "quickstart")
    dom = rendered(to_mermaid(build(load(spec).spec)), tmp_path)
    labels = [html.unescape(s) for s in re.findall(r"<p>([^<]*)</p>", dom)]
    assert f"alert {hook}" in labels
