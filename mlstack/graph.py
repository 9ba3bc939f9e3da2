"""The platform a spec describes as a picture: feature views → pipelines → model groups → endpoints
(with their traffic) and batch jobs → monitors → actions.

`build` makes one graph from the spec; `to_mermaid` writes it as a Mermaid flowchart (GitHub renders
it in the review comment) and `to_dot` as Graphviz DOT, which Graphviz's `dot` lays out as SVG or PNG."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import graphviz

    from mlstack.spec.models import Endpoint, ModelRef, Monitor, Spec

# Left to right, the order data and models flow through a platform.
COLUMNS = (
    ("feature_view", "Feature views"),
    ("pipeline", "Pipelines"),
    ("model_group", "Registry"),
    ("endpoint", "Endpoints"),
    ("batch_job", "Batch jobs"),
    ("monitor", "Monitors"),
    ("action", "Actions"),
)
COLOURS = {
    "feature_view": "#e8f1fb",
    "pipeline": "#eaf7ea",
    "model_group": "#fdf3e1",
    "endpoint": "#f3e9fb",
    "batch_job": "#f3e9fb",
    "monitor": "#fde8e8",
    "action": "#f2f2f2",
}


@dataclass(frozen=True)
class Node:
    key: str  # unique: kind/name
    kind: str
    label: str  # first line the name, further lines details


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    label: str = ""
    control: bool = False  # a monitor's action or trigger, drawn dashed: control, not data


@dataclass
class Graph:
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)

    def add(self, kind: str, name: str, *details: str) -> str:
        key = f"{kind}/{name}"
        self.nodes.setdefault(key, Node(key, kind, "\n".join((name, *details))))
        return key

    def link(self, source: str, target: str, label: str = "", control: bool = False) -> None:
        edge = Edge(source, target, label, control)
        if edge not in self.edges:
            self.edges.append(edge)


def build(spec: Spec) -> Graph:
    from mlstack.spec.types import format_duration

    graph = Graph()
    # Nodes with their details first; edges then find them by name.
    for view in spec.feature_store.views:
        graph.add("feature_view", view.name, *([f"ttl {format_duration(view.ttl)}"] if view.ttl else []))
    for pipeline in spec.pipelines:
        graph.add("pipeline", pipeline.name, f"{len(pipeline.steps)} steps")
    for group in spec.registry.model_groups:
        graph.add("model_group", group.name, f"approval {group.approval}")
    for endpoint in spec.endpoints:
        graph.add("endpoint", endpoint.name, _strategy(endpoint))
    for job in spec.batch_jobs:
        graph.add("batch_job", job.name, *([f"cron {job.schedule}"] if job.schedule else []))
    for pipeline in spec.pipelines:
        node = f"pipeline/{pipeline.name}"
        for view in pipeline.feature_views:
            graph.link(graph.add("feature_view", view.partition(":")[0]), node)
        for step in pipeline.steps:
            if step.kind == "registration" and step.model_group:
                moves = f"moves {', '.join(step.aliases)}" if step.aliases else "registers"
                graph.link(node, graph.add("model_group", step.model_group), moves)
            elif step.kind == "deployment" and step.endpoint:
                graph.link(node, graph.add("endpoint", step.endpoint), "deploys", control=True)
            elif step.kind == "batch_scoring" and step.batch_job:
                graph.link(node, graph.add("batch_job", step.batch_job), "runs", control=True)
    for job in spec.batch_jobs:
        graph.link(graph.add("model_group", job.model.group), f"batch_job/{job.name}", _ref(job.model))
    for endpoint in spec.endpoints:
        _endpoint(graph, endpoint)
    for monitor in spec.monitors:
        _monitor(graph, monitor)
    for pipeline in spec.pipelines:
        for trigger in pipeline.triggers:
            graph.link(graph.add("monitor", trigger.on_alert), f"pipeline/{pipeline.name}", "triggers", control=True)
    return graph


def _endpoint(graph: Graph, endpoint: Endpoint) -> None:
    strategy = endpoint.strategy
    node = f"endpoint/{endpoint.name}"
    if strategy.type == "ab":
        for variant in strategy.variants:
            ref = variant.model
            graph.link(graph.add("model_group", ref.group), node, f"{variant.name}: {_ref(ref)} {variant.weight}%")
        return
    assert endpoint.model is not None  # the spec's models require it for every other strategy
    graph.link(graph.add("model_group", endpoint.model.group), node, f"{_ref(endpoint.model)} 100%")
    if strategy.type == "shadow":
        challenger = strategy.challenger
        graph.link(
            graph.add("model_group", challenger.group), node, f"{_ref(challenger)} mirrors {strategy.percent:g}%"
        )


def _strategy(endpoint: Endpoint) -> str:
    strategy = endpoint.strategy
    if strategy.type == "canary":
        return f"canary {strategy.percent}%"
    if strategy.type == "linear":
        return f"linear +{strategy.step_percent}%"
    return strategy.type.replace("_", " ")


def _ref(ref: ModelRef) -> str:
    return f"@{ref.alias}" if ref.alias else f"v{ref.version}"


def _monitor(graph: Graph, monitor: Monitor) -> None:
    threshold = f", threshold {monitor.threshold:g}" if monitor.threshold is not None else ""
    node = graph.add("monitor", monitor.name, f"{monitor.metric}{threshold}")
    watched = graph.add("batch_job", monitor.batch_job) if monitor.batch_job else graph.add("endpoint", monitor.endpoint or "")
    graph.link(watched, node, monitor.kind.replace("_", " "))
    for action in monitor.actions:
        if action.type == "alert":
            target = graph.add("action", f"alert {', '.join(action.to)}")
            graph.link(node, target, control=True)
        elif action.type == "retrain":
            target = graph.add("action", f"retrain {action.pipeline}")
            graph.link(node, target, control=True)
            graph.link(target, graph.add("pipeline", action.pipeline), "starts", control=True)
        else:
            target = graph.add("action", f"rollback {monitor.endpoint}")
            graph.link(node, target, control=True)


# --- Mermaid ------------------------------------------------------------------------------------


def _mermaid_text(text: str) -> str:
    # Labels are HTML inside quotes: HTML entities for what would end the quote or the edge label, or
    # read as markup. Not Mermaid's own `#quot;` codes, which Mermaid 11 leaves undecoded in HTML labels
    # (and which any `#word;` in a label would be mistaken for: hence `&num;`).
    for char, entity in (
        ("&", "&amp;"),
        ('"', "&quot;"),
        ("<", "&lt;"),
        (">", "&gt;"),
        ("|", "&vert;"),
        ("#", "&num;"),
    ):
        text = text.replace(char, entity)
    return text.replace("\n", "<br/>")


def to_mermaid(graph: Graph) -> str:
    """A Mermaid flowchart, left to right, one subgraph per column."""
    ids = {key: f"n{i}" for i, key in enumerate(graph.nodes)}
    lines = ["flowchart LR"]
    styles = []
    for kind, title in COLUMNS:
        members = [n for n in graph.nodes.values() if n.kind == kind]
        if not members:
            continue  # a style for an absent subgraph would draw a stray node of that name
        lines.append(f'  subgraph {kind}["{title}"]')
        lines += [f'    {ids[n.key]}["{_mermaid_text(n.label.strip())}"]' for n in members]
        lines.append("  end")
        styles.append(f"  style {kind} fill:{COLOURS[kind]}")
    for edge in graph.edges:
        arrow = "-.->" if edge.control else "-->"
        label = f'|"{_mermaid_text(edge.label)}"|' if edge.label else ""
        lines.append(f"  {ids[edge.source]} {arrow}{label} {ids[edge.target]}")
    return "\n".join([*lines, *styles]) + "\n"


# --- Graphviz -----------------------------------------------------------------------------------


def to_dot(graph: Graph, title: str = "") -> graphviz.Digraph:
    import graphviz

    dot = graphviz.Digraph(
        "mlstack",
        graph_attr={"rankdir": "LR", "label": title, "labelloc": "t", "fontsize": "18", "fontname": "Helvetica"},
    )
    dot.attr("node", shape="box", style="rounded,filled", fontname="Helvetica", fontsize="11")
    dot.attr("edge", fontname="Helvetica", fontsize="9", color="#555555")
    for kind, heading in COLUMNS:
        members = [n for n in graph.nodes.values() if n.kind == kind]
        if not members:
            continue
        with dot.subgraph(name=f"cluster_{kind}") as column:
            column.attr(label=heading, style="dashed", color="#bbbbbb", fontname="Helvetica")
            for node in members:
                column.node(node.key, node.label.strip(), fillcolor=COLOURS[kind])
    for edge in graph.edges:
        backwards = _column(graph, edge.target) <= _column(graph, edge.source)
        dot.edge(
            edge.source,
            edge.target,
            label=edge.label,
            style="dashed" if edge.control else "solid",
            constraint="false" if backwards else "true",  # a retrain loops back: do not let it bend the columns
        )
    return dot


def _column(graph: Graph, key: str) -> int:
    kinds = [kind for kind, _ in COLUMNS]
    return kinds.index(graph.nodes[key].kind)


def render(graph: Graph, fmt: str, title: str = "") -> bytes:
    """The picture as SVG or PNG bytes, laid out by Graphviz's `dot`."""
    import graphviz

    from mlstack.errors import MlstackError

    try:
        return to_dot(graph, title).pipe(format=fmt)
    except graphviz.ExecutableNotFound:
        raise MlstackError(
            f"drawing {fmt.upper()} needs Graphviz's `dot` (Debian/Ubuntu: apt-get install graphviz; "
            "macOS: brew install graphviz); `--format mermaid` needs nothing"
        ) from None
