"""`mlstack graph`: the platform as Graphviz SVG/PNG and as Mermaid, and the Mermaid block in the review
comment. The SVG is read back as XML: the nodes and edges Graphviz drew are the spec's."""

from __future__ import annotations

import os
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from mlstack.graph import build, to_mermaid
from mlstack.spec import load
from tests.cli.conftest import REPO, mlstack

FRAUD = REPO / "specs" / "fraud-detection.yaml"
SVG = "{http://www.w3.org/2000/svg}"
needs_dot = pytest.mark.skipif(
    shutil.which("dot") is None, reason="Graphviz's dot is not installed (.ci/run installs it)"
)

# What the fraud-detection spec says, edge by edge: (from, to, label).
FRAUD_EDGES = {
    ("feature_view/customer-txn-stats", "pipeline/train-fraud", ""),
    ("feature_view/merchant-risk", "pipeline/train-fraud", ""),
    ("pipeline/train-fraud", "model_group/fraud-model", "moves challenger"),
    ("pipeline/train-fraud", "endpoint/fraud-scorer", "deploys"),
    ("model_group/fraud-model", "endpoint/fraud-scorer", "@champion 100%"),
    ("model_group/fraud-model", "endpoint/fraud-shadow", "@champion 100%"),
    ("model_group/fraud-model", "endpoint/fraud-shadow", "@challenger mirrors 25%"),
    ("model_group/fraud-model", "endpoint/fraud-ab", "boosted: v3 80%"),
    ("model_group/fraud-rules-model", "endpoint/fraud-ab", "rules: @champion 20%"),
    ("endpoint/fraud-scorer", "monitor/feature-drift", "data drift"),
    ("endpoint/fraud-scorer", "monitor/score-drift", "prediction drift"),
    ("endpoint/fraud-scorer", "monitor/input-quality", "data quality"),
    ("endpoint/fraud-scorer", "monitor/scorer-accuracy", "model quality"),
    ("monitor/feature-drift", "action/alert fraud-oncall@example.com", ""),
    ("monitor/feature-drift", "action/retrain train-fraud", ""),
    ("action/retrain train-fraud", "pipeline/train-fraud", "starts"),
    ("monitor/score-drift", "action/alert fraud-oncall@example.com", ""),
    ("monitor/input-quality", "action/alert fraud-oncall@example.com", ""),
    ("monitor/scorer-accuracy", "action/rollback fraud-scorer", ""),
    ("monitor/feature-drift", "pipeline/train-fraud", "triggers"),
}


def test_mermaid_says_what_the_spec_says():
    result = mlstack("graph", "-f", str(FRAUD), "--format", "mermaid")
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert text.startswith("flowchart LR\n")
    names = dict(re.findall(r'^\s+(n\d+)\["([^"]*)"\]$', text, re.MULTILINE))
    first_line = {node: label.split("<br/>")[0] for node, label in names.items()}
    edges = {
        (first_line[a], first_line[b], label or "")
        for a, label, b in re.findall(r"^\s+(n\d+) -\.?->(?:\|\"([^\"]*)\"\|)? (n\d+)$", text, re.MULTILINE)
    }
    expected = {(a.split("/", 1)[1], b.split("/", 1)[1], label) for a, b, label in FRAUD_EDGES}
    assert edges == expected
    assert "canary 10%" in names[next(n for n, f in first_line.items() if f == "fraud-scorer")]
    # Subgraphs in the order data flows.
    assert re.findall(r'subgraph \w+\["([^"]+)"\]', text) == [
        "Feature views",
        "Pipelines",
        "Registry",
        "Endpoints",
        "Monitors",
        "Actions",
    ]


def test_mermaid_labels_cannot_break_out_of_their_quotes(tmp_path: Path):
    spec = tmp_path / "mlstack.yaml"
    text = FRAUD.read_text().replace(
        "to: [fraud-oncall@example.com]", 'to: ["https://hooks.example.com/x?a=1&b=\\"2\\"|<b>"]', 1
    )
    spec.write_text(text)
    for path in ("schemas", "baselines", "labels"):
        if (REPO / "specs" / path).exists():
            shutil.copytree(REPO / "specs" / path, tmp_path / path)
    mermaid = to_mermaid(build(load(spec).spec))
    (label,) = [line for line in mermaid.splitlines() if "hooks.example.com" in line]
    assert label.strip() == 'n9["alert https://hooks.example.com/x?a=1&amp;b=&quot;2&quot;&vert;&lt;b&gt;"]'


@needs_dot
def test_svg_drawn_by_graphviz_has_every_node_and_edge(tmp_path: Path):
    result = mlstack("graph", "-f", str(FRAUD), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "wrote fraud-detection.svg\n"
    root = ET.parse(tmp_path / "fraud-detection.svg").getroot()
    groups = {g.get("class"): [] for g in root.iter(f"{SVG}g")}
    for g in root.iter(f"{SVG}g"):
        groups[g.get("class")].append(g)
    nodes = {g.find(f"{SVG}title").text for g in groups["node"]}
    assert nodes == {end for edge in FRAUD_EDGES for end in edge[:2]}
    drawn = set()
    for g in groups["edge"]:
        source, target = g.find(f"{SVG}title").text.split("->")
        label = " ".join(t.text or "" for t in g.iter(f"{SVG}text"))
        drawn.add((source, target, label))
    assert drawn == FRAUD_EDGES
    titles = [t.text for t in root.iter(f"{SVG}text") if t.text in ("Feature views", "Actions", "fraud-detection")]
    assert sorted(titles) == ["Actions", "Feature views", "fraud-detection"]


@needs_dot
def test_png_to_a_named_file(tmp_path: Path):
    out = tmp_path / "platform.png"
    result = mlstack("graph", str(FRAUD), "--format", "png", "-o", str(out), "--env", "prod")
    assert result.returncode == 0, result.stderr
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width > 1000 and height > 200  # six columns side by side


def test_without_graphviz_the_error_says_how_to_get_it(tmp_path: Path):
    env_path = os.environ.get("PATH")
    os.environ["PATH"] = str(tmp_path)  # no dot here; the interpreter is named by its full path
    try:
        result = mlstack("graph", "-f", str(FRAUD), "-o", str(tmp_path / "x.svg"))
    finally:
        os.environ["PATH"] = env_path or ""
    assert result.returncode == 1
    assert "needs Graphviz's `dot`" in result.stderr and "--format mermaid` needs nothing" in result.stderr
    assert not (tmp_path / "x.svg").exists()


def test_the_review_comment_shows_the_platform_after_the_change(tmp_path: Path):
    base = REPO / "specs" / "quickstart.yaml"
    head = tmp_path / "quickstart.yaml"
    head.write_text(
        base.read_text().replace(
            "      alias: champion\n",
            "      alias: champion\n    strategy: {type: canary, percent: 20, bake_time: 5m}\n",
        )
    )
    shutil.copytree(REPO / "specs" / "quickstart", tmp_path / "quickstart")
    result = mlstack("diff", str(base), str(head), "--target", "local", "--format", "markdown")
    assert result.returncode == 2, result.stderr
    block = re.search(r"```mermaid\n(.*?)```", result.stdout, re.DOTALL)
    assert block is not None, result.stdout
    assert block.group(1) == to_mermaid(build(load(head).spec))
    assert re.search(r'n\d+\["iris<br/>canary 20%"\]', block.group(1))
    assert re.findall(r"style (\w+)", block.group(1)) == ["pipeline", "model_group", "endpoint"]


def test_mermaid_to_a_file_is_what_stdout_shows(tmp_path: Path):
    out = tmp_path / "platform.mmd"
    written = mlstack("graph", "-f", str(FRAUD), "--format", "mermaid", "-o", str(out))
    assert written.returncode == 0, written.stderr
    assert written.stdout == f"wrote {out}\n"
    assert out.read_text() == to_mermaid(build(load(FRAUD).spec))
    unwritable = mlstack("graph", "-f", str(FRAUD), "--format", "mermaid", "-o", str(tmp_path / "no" / "such.mmd"))
    assert unwritable.returncode == 1 and "cannot write" in unwritable.stderr and "Traceback" not in unwritable.stderr


def test_batch_jobs_are_drawn_with_their_model_the_pipeline_running_them_and_their_monitors():
    from mlstack.spec.models import Monitor

    spec = load(REPO / "specs" / "batch-scoring.yaml").spec
    drift = Monitor(
        name="nightly-drift", kind="data_drift", batch_job="nightly-scores", baseline="b.csv", metric="psi"
    )
    graph = build(spec.model_copy(update={"monitors": [drift]}))
    edges = {(e.source, e.target, e.label) for e in graph.edges}
    assert {
        ("model_group/fraud-model", "batch_job/nightly-scores", "@champion"),
        ("pipeline/checked-scores", "batch_job/nightly-scores", "runs"),
        ("batch_job/nightly-scores", "monitor/nightly-drift", "data drift"),
    } <= edges
    assert "cron 0 2 * * *" in graph.nodes["batch_job/nightly-scores"].label
    assert not any(key.startswith("endpoint/") for key in graph.nodes)  # no endpoint is invented for it
