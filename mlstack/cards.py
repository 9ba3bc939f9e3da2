"""Model cards: what a version is for, how it was made and who let it through, from the registry, the
run that registered it and the spec (`intended_use`, `limitations` on the model group).

The emulator builds the card's data (`Emulator.card`); `render` writes it as markdown or HTML. On AWS
a group with `intended_use` also gets a SageMaker Model Card per declared version in the plan
(backends/aws/registry.py). Vertex has no card resource: its register task renders this card into each
version's artifact folder (`model_card.md`, backends/gcp/runtime.py). Azure has none either, and mlstack
writes no card there yet (its registration step only copies the model folder)."""

from __future__ import annotations

import datetime
from typing import Any

import jinja2

MARKDOWN = """\
# Model card: {{ c.group }} v{{ c.version }}

{{ c.description or "_No description in the spec._" }}

| | |
|---|---|
| framework | {{ c.framework }} |
| registered | {{ c.created_at | when }} by {{ c.source }} |
| approval | {{ c.approval }} |
| aliases | {{ c.aliases | join(", ") or "none" }} |
| artifact sha256 | `{{ c.lineage.get("artifact_sha256", "unknown") }}` |

## Intended use

{{ c.intended_use or "_Not stated: set `intended_use` on the model group in the spec._" }}

## Limitations

{{ c.limitations or "_Not stated: set `limitations` on the model group in the spec._" }}

## Metrics

{% if c.metrics %}| metric | value |
|---|---|
{% for name, value in c.metrics.items() %}| {{ name }} | {{ value | number }} |
{% endfor %}{% else %}_None recorded._
{% endif %}
## Training

{% if c.run %}- run: `{{ c.run.id }}` of pipeline `{{ c.run.pipeline }}` ({{ c.run.status }}, started {{ c.run.started_at | when }})
{% endif %}- data: {{ c.lineage.get("data_uri") or "not recorded" }}{% if c.lineage.get("data_sha256") %} (sha256 `{{ c.lineage.data_sha256 }}`){% endif %}
- code: {% if c.lineage.get("code_commit") %}commit `{{ c.lineage.code_commit }}`{% if c.lineage.get("code_dirty") %} with uncommitted changes{% endif %}, {% endif %}sha256 `{{ c.lineage.get("code_sha256") or "not recorded" }}`
{% if c.params %}- parameters: {% for name, value in c.params.items() %}`{{ name }}={{ value }}`{{ ", " if not loop.last }}{% endfor %}
{% endif %}
## Approvals and promotions

{% if c.promotion.policy %}Stages: {{ c.promotion.policy.stages | join(" → ") }}; in {{ c.promotion.stages | join(", ") }}.

{% for p in c.promotion.promotions %}- {{ p.at | when }}: promoted to **{{ p.stage }}** by {{ p.promoted_by }}, approved by {{ p.approvers | join(", ") }}{% if p.reason %} — {{ p.reason }}{% endif %}
{% else %}- not promoted beyond {{ c.promotion.policy.stages[0] }} yet
{% endfor %}{% else %}The group has no promotion stages; approval: {{ c.approval }}.
{% endif %}"""

HTML = """\
<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Model card: {{ c.group }} v{{ c.version }}</title>
<style>body{font-family:system-ui,sans-serif;max-width:48rem;margin:2rem auto;line-height:1.5}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2rem .6rem;text-align:left}</style></head>
<body>
<h1>Model card: {{ c.group }} v{{ c.version }}</h1>
<p>{{ c.description or "No description in the spec." }}</p>
<table>
<tr><th>framework</th><td>{{ c.framework }}</td></tr>
<tr><th>registered</th><td>{{ c.created_at | when }} by {{ c.source }}</td></tr>
<tr><th>approval</th><td>{{ c.approval }}</td></tr>
<tr><th>aliases</th><td>{{ c.aliases | join(", ") or "none" }}</td></tr>
<tr><th>artifact sha256</th><td><code>{{ c.lineage.get("artifact_sha256", "unknown") }}</code></td></tr>
</table>
<h2>Intended use</h2><p>{{ c.intended_use or "Not stated: set intended_use on the model group in the spec." }}</p>
<h2>Limitations</h2><p>{{ c.limitations or "Not stated: set limitations on the model group in the spec." }}</p>
<h2>Metrics</h2>
{% if c.metrics %}<table><tr><th>metric</th><th>value</th></tr>
{% for name, value in c.metrics.items() %}<tr><td>{{ name }}</td><td>{{ value | number }}</td></tr>
{% endfor %}</table>{% else %}<p>None recorded.</p>{% endif %}
<h2>Training</h2><ul>
{% if c.run %}<li>run <code>{{ c.run.id }}</code> of pipeline <code>{{ c.run.pipeline }}</code> ({{ c.run.status }})</li>{% endif %}
<li>data: {{ c.lineage.get("data_uri") or "not recorded" }} {% if c.lineage.get("data_sha256") %}(sha256 <code>{{ c.lineage.data_sha256 }}</code>){% endif %}</li>
<li>code: {% if c.lineage.get("code_commit") %}commit <code>{{ c.lineage.code_commit }}</code>, {% endif %}sha256 <code>{{ c.lineage.get("code_sha256") or "not recorded" }}</code></li>
{% for name, value in c.params.items() %}<li>parameter <code>{{ name }}={{ value }}</code></li>{% endfor %}
</ul>
<h2>Approvals and promotions</h2>
{% if c.promotion.policy %}<p>Stages: {{ c.promotion.policy.stages | join(" → ") }}; in {{ c.promotion.stages | join(", ") }}.</p><ul>
{% for p in c.promotion.promotions %}<li>{{ p.at | when }}: promoted to <strong>{{ p.stage }}</strong> by {{ p.promoted_by }}, approved by {{ p.approvers | join(", ") }}{% if p.reason %} — {{ p.reason }}{% endif %}</li>
{% else %}<li>not promoted beyond {{ c.promotion.policy.stages[0] }} yet</li>{% endfor %}</ul>
{% else %}<p>The group has no promotion stages; approval: {{ c.approval }}.</p>{% endif %}
</body></html>
"""

FORMATS = ("markdown", "html")


def _when(epoch: float | None) -> str:
    if epoch is None:
        return "unknown"
    return datetime.datetime.fromtimestamp(epoch, datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"


def render(card: dict[str, Any], fmt: str = "markdown") -> str:
    """The card as markdown or HTML (every value from the registry escaped in HTML)."""
    env = jinja2.Environment(autoescape=fmt == "html", undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    env.filters.update(when=_when, number=_number)
    return env.from_string(HTML if fmt == "html" else MARKDOWN).render(c=card)
