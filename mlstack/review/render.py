"""A review as text, JSON or a GitHub comment (markdown from the Jinja2 templates in templates/review/).

A comment must stay within GitHub's 65,536-character limit. When the full report does not fit, it is
rendered again with less detail, step by step (inputs of created resources, then property changes,
then per-resource lines, then table rows) and the comment says what was summarised and how much."""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, replace
from functools import cache
from typing import Any

from mlstack import graph
from mlstack.errors import MlstackError, printable
from mlstack.paths import TEMPLATES as TEMPLATES_ROOT
from mlstack.review.cost import HOURS, NOT_ESTIMATED, CostReport, span
from mlstack.review.report import Review, Row
from mlstack.review.resources import ACTIONS, SYMBOLS, ResourceChange
from mlstack.review.summary import NOUNS
from mlstack.review.values import MISSING, show
from mlstack.targets import profile

GITHUB_COMMENT_LIMIT = 65_536
MARKER = "<!-- mlstack-review -->"
TEMPLATES = TEMPLATES_ROOT / "review"
FOLLOWS = "no change of its own: follows from the others"
_ACTION_WORDS = {"create": "to create", "update": "to update", "replace": "to replace", "delete": "to delete"}


@dataclass(frozen=True)
class Detail:
    """How much a rendering shows; each step down is said in the comment."""

    created_inputs: bool = True
    properties: bool = True
    resources: bool = True
    changes_per_row: int | None = None
    risks_per_rule: int | None = None  # risks listed per rule, each with at most this many resources
    rows: int | None = None  # table rows (and cost rows) shown, rows with risks first; None: all
    graph: bool = True  # the platform's Mermaid graph; the first thing left out


_STEPS = (
    Detail(),
    Detail(created_inputs=False),
    Detail(created_inputs=False, properties=False),
    Detail(created_inputs=False, properties=False, resources=False),
    Detail(created_inputs=False, properties=False, resources=False, changes_per_row=3),
    Detail(created_inputs=False, properties=False, resources=False, changes_per_row=3, risks_per_rule=5),
)


@cache
def _environment() -> Any:
    import jinja2

    if not TEMPLATES.is_dir():
        raise MlstackError(f"the review templates are missing: expected {TEMPLATES}")
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters["cell"] = cell
    env.filters["fence"] = fence
    return env


def cell(text: str) -> str:
    """Text safe inside a markdown table cell (and as inline HTML): no links, images or @-mentions
    a spec could smuggle into a PR comment, and NUL, bidi and zero-width characters shown as escapes."""
    text = printable(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = text.replace("[", "&#91;").replace("]", "&#93;").replace("@", "&#64;")
    return text.replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def fence(lines: list[str]) -> str:
    """A code fence longer than any backtick run inside, so values cannot close it."""
    longest = max((len(run) for line in lines for run in re.findall(r"`+", line)), default=0)
    return "`" * max(3, longest + 1)


def _value(value: Any) -> str:
    return '""' if value == "" else show(value)


def _counts_text(counts: dict[str, int]) -> str:
    return " ".join(f"{SYMBOLS[a]}{counts[a]}" for a in ACTIONS if counts[a])


def _counts_words(counts: dict[str, int]) -> str:
    parts = [f"{counts[a]} {_ACTION_WORDS[a]}" for a in ACTIONS if counts[a]]
    return ", ".join(parts) if parts else "no resource changes"


def _resource_lines(r: ResourceChange, detail: Detail) -> list[str]:
    notes = []
    if r.action == "replace":
        notes.append("delete, then create" if r.delete_before_replace else "create, then delete")
    if r.protected:
        notes.append("protected")
    head = f"{r.symbol} {r.type} {r.name}" + (f" ({'; '.join(notes)})" if notes else "")
    lines = [head]
    show_props = detail.properties and (r.action != "create" or detail.created_inputs)
    for c in r.changes if show_props else ():
        if c.old is MISSING:
            text = f"{c.path}: {_value(c.new)}" if r.action == "create" else f"{c.path}: (absent) → {_value(c.new)}"
        else:
            text = f"{c.path}: {_value(c.old)} → {_value(c.new)}"
        lines.append(f"      {text}" + ("   # forces replacement" if c.forces_replacement else ""))
    return lines


def _row_symbol(row: Row) -> str:
    if row.changes in (("added",),):
        return "+"
    if row.changes in (("removed",),):
        return "-"
    return "~"


def _context(review: Review, detail: Detail, limit: int = GITHUB_COMMENT_LIMIT) -> dict[str, Any]:
    rows = review.rows()
    shown_rows = rows
    if detail.rows is not None:
        kept = {id(r) for r in _ranked(rows)[: detail.rows]}
        shown_rows = [r for r in rows if id(r) in kept]
    groups = [
        {
            "label": row.label,
            "counts": _counts_words(row.resources),
            "lines": [line for r in row.members for line in _resource_lines(r, detail)],
        }
        for row in rows
        if row.members and detail.resources
    ]
    head = review.head.resolved or review.base.resolved
    assert head is not None
    env = head.environment
    return {
        "marker": MARKER,
        "title": f"{head.name} on {head.cloud}" + (f" ({env})" if env else ""),
        "graph": graph.to_mermaid(graph.build(head.spec)) if detail.graph else "",
        "production": head.production,
        "base": review.base.source,
        "head": review.head.source,
        "changed": review.changed,
        "counts": _counts_words(review.counts),
        "rows": [
            {
                "symbol": _row_symbol(row),
                "label": row.label,
                "changes": _capped(row.changes or (FOLLOWS,), detail.changes_per_row),
                "resources": _counts_text(row.resources),
                "cost": "" if row.cost is None else span(row.cost.delta_low, row.cost.delta_high, signed=True),
                "risk": row.risks[0].severity if row.risks else "",
            }
            for row in shown_rows
        ],
        "hidden_rows": len(rows) - len(shown_rows),
        "risks": _risks(review, detail),
        "high_risks": sum(1 for r in review.risks if r.severity == "high"),
        "groups": groups,
        "cost": _cost_context(review, detail),
        "notes": _notes(review, rows, detail),
        "limit": limit,
    }


def _ranked(rows: list[Row]) -> list[Row]:
    """Rows with risks first, then in table order: what stays when rows must go."""
    return sorted(rows, key=lambda r: not r.risks)


def _risks(review: Review, detail: Detail) -> list[dict[str, Any]]:
    out, seen = [], {}
    for r in review.risks:
        seen[r.rule] = seen.get(r.rule, 0) + 1
        limit = detail.risks_per_rule
        if limit is not None and seen[r.rule] > limit:
            continue
        out.append({"severity": r.severity, "message": r.message, "resources": _capped(r.resources, limit)})
    if detail.risks_per_rule is not None:
        for rule, count in sorted(seen.items()):
            if count > detail.risks_per_rule:
                out.append(
                    {
                        "severity": "",
                        "message": f"(+{count - detail.risks_per_rule} more {rule} risks)",
                        "resources": [],
                    }
                )
    return out


def _capped(items: tuple[str, ...], limit: int | None) -> list[str]:
    if limit is None or len(items) <= limit:
        return list(items)
    return [*items[:limit], f"(+{len(items) - limit} more)"]


def _notes(review: Review, rows: list[Row], detail: Detail) -> list[str]:
    """What this rendering leaves out, with numbers, so nothing is cut silently."""
    notes = []
    if not detail.graph:
        notes.append(f"the platform's graph (`mlstack graph -f {review.head.source} --format mermaid` prints it)")
    created = [r for r in review.resources if r.action == "create" and r.changes]
    if not detail.created_inputs and detail.properties and created:
        notes.append(f"the inputs of {len(created)} created resources")
    changed = [r for r in review.resources if r.changes]
    if not detail.properties and detail.resources and changed:
        notes.append(f"the {sum(len(r.changes) for r in changed)} property changes of {len(changed)} resources")
    if not detail.resources and review.resources:
        notes.append(f"the per-resource list ({len(review.resources)} resources; their counts stay in the table)")
    if detail.changes_per_row is not None:
        long_rows = [r for r in rows if len(r.changes) > detail.changes_per_row]
        if long_rows:
            notes.append(f"summary lines beyond {detail.changes_per_row} per component in {len(long_rows)} rows")
    limit = detail.risks_per_rule
    if limit is not None:
        per_rule = Counter(r.rule for r in review.risks)
        if any(n > limit for n in per_rule.values()) or any(len(r.resources) > limit for r in review.risks):
            notes.append(f"risks beyond {limit} per rule, and affected resources beyond {limit} per risk")
    if detail.rows is not None and len(rows) > detail.rows:
        hidden = _ranked(rows)[detail.rows :]
        kinds = Counter(NOUNS.get(r.kind, r.kind) or "other" for r in hidden)
        what = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))
        notes.append(f"{len(hidden)} table rows ({what}) and their cost rows; rows with risks are kept first")
    return notes


def _cost_context(review: Review, detail: Detail) -> dict[str, Any]:
    report = review.cost
    endpoints = report.endpoints
    if detail.rows is not None:
        kept = {(r.kind, r.name) for r in _ranked(review.rows())[: detail.rows]}
        endpoints = tuple(c for c in endpoints if (c.kind, c.name) in kept)
    return {
        "hours": HOURS,
        "endpoints": [
            {
                "name": c.name if c.kind == "endpoint" else f"batch job {c.name}",
                "base": "—" if c.base is None else f"{span(c.base.low, c.base.high)} ({c.base.shape})",
                "head": "—" if c.head is None else f"{span(c.head.low, c.head.high)} ({c.head.shape})",
                "delta": span(c.delta_low, c.delta_high, signed=True),
            }
            for c in endpoints
        ],
        "hidden_endpoints": len(report.endpoints) - len(endpoints),
        "base_total": span(*report.base_total),
        "head_total": span(*report.head_total),
        "delta": span(*report.delta, signed=True),
        "ranged": report.base_total[0] != report.base_total[1] or report.head_total[0] != report.head_total[1],
        "prices": [
            {
                "sku": p.sku.sku,
                "price": "unknown" if p.sku.price_usd_hour is None else f"${p.sku.price_usd_hour:g}/h",
                "region": p.sku.price_region,
                "source": p.sku.price_source,
                "as_of": p.sku.price_as_of,
                "confirmed": "read" if p.sku.price_confirmed else "looked for, not found",
            }
            for p in report.prices
        ],
        "not_estimated": NOT_ESTIMATED,
        "caveats": _price_caveats(report),
    }


def _price_caveats(report: CostReport) -> list[str]:
    """How far to trust the prices summed: unknown figures counted (their endpoints are not estimated), and
    what a cloud's figures are."""
    out = []
    if report.unpriced:
        out.append(
            f"{len(report.unpriced)} of {len(report.prices)} prices are unknown ({', '.join(report.unpriced)}): "
            "no figure could be read on the vendor's price page, so the endpoints on them are not estimated"
        )
    clouds = dict.fromkeys(p.sku.cloud for p in report.prices if p.sku.price_confirmed)
    return out + [caveat for c in clouds if (caveat := profile(c).price_caveat)]


def to_json(review: Review) -> str:
    return json.dumps(review.as_dict(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def to_text(review: Review) -> str:
    return _environment().get_template("report.txt.j2").render(_context(review, Detail()))


def to_markdown(review: Review, limit: int = GITHUB_COMMENT_LIMIT) -> str:
    """The comment, within `limit` characters; less detail (said in the comment) when it must."""
    template = _environment().get_template("report.md.j2")
    steps = [_STEPS[0], *(replace(step, graph=False) for step in _STEPS)]
    rows = len(review.rows())
    while rows:
        rows //= 2
        steps.append(replace(_STEPS[-1], rows=rows, graph=False))
    for detail in steps:
        text = template.render(_context(review, detail, limit))
        if len(text) <= limit:
            return text
    raise MlstackError(f"the review does not fit in {limit} characters even as counts only")


def render(review: Review, fmt: str) -> str:
    if fmt == "json":
        return to_json(review)
    if fmt == "markdown":
        return to_markdown(review)
    return to_text(review)
