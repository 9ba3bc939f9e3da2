"""A review of a spec change: both sides planned offline, compared component by component and
resource by resource, with risks and the monthly cost delta. Everything is sorted; nothing depends on
the clock, so the same inputs give the same report."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from mlstack.errors import MlstackError, SpecInvalid
from mlstack.plan import PlannedResource, planned_apart
from mlstack.resolve import Resolved, resolve
from mlstack.review import cost, sources
from mlstack.review.resources import ResourceChange, compare, counts
from mlstack.review.risks import Risk, assess
from mlstack.review.summary import KINDS, NOUNS, SAME_KIND, ComponentChange, summarise
from mlstack.review.values import plain


@dataclass(frozen=True)
class Side:
    source: str
    resolved: Resolved | None
    plan: list[PlannedResource]

    def as_dict(self) -> dict[str, Any]:
        r = self.resolved
        return {
            "source": self.source,
            "spec": r.name if r else None,
            "target": r.cloud if r else None,
            "region": r.region if r else None,
            "environment": r.environment if r else None,
            "production": r.production if r else False,
            "resources": sum(1 for p in self.plan if p.custom),
        }


@dataclass(frozen=True)
class Row:
    """One line of the summary table: a spec component and everything that happens to it."""

    kind: str
    name: str
    label: str
    changes: tuple[str, ...]
    resources: dict[str, int]
    cost: cost.CostChange | None
    risks: tuple[Risk, ...]
    members: tuple[ResourceChange, ...]  # the resource changes of this component

    def as_dict(self) -> dict[str, Any]:
        return {
            "component": self.label,
            "kind": self.kind,
            "name": self.name,
            "changes": list(self.changes),
            "resources": self.resources,
            "monthly_cost_delta": None
            if self.cost is None
            else {"at_min": self.cost.delta_low, "at_max": self.cost.delta_high},
            "risks": len(self.risks),
        }


@dataclass(frozen=True)
class Review:
    base: Side
    head: Side
    components: list[ComponentChange]
    resources: list[ResourceChange]
    risks: list[Risk]
    cost: cost.CostReport

    @property
    def changed(self) -> bool:
        return bool(self.components or self.resources)

    @property
    def counts(self) -> dict[str, int]:
        return counts(self.resources)

    def row_key(self, component: tuple[str, str] | None) -> tuple[str, str]:
        """Resources of a renamed component's old name belong to the rename's row."""
        if component is None:
            return ("", "")
        kind, name = component
        kind = SAME_KIND.get(kind, kind)
        return kind, self._renamed_to.get((kind, name), name)

    @cached_property
    def _renamed_to(self) -> dict[tuple[str, str], str]:
        return {(c.kind, c.renamed_from): c.name for c in self.components if c.renamed_from}

    def rows(self) -> list[Row]:
        return list(self._rows)

    @cached_property
    def _rows(self) -> tuple[Row, ...]:
        by_key: dict[tuple[str, str], ComponentChange] = {(c.kind, c.name): c for c in self.components}
        members: dict[tuple[str, str], list[ResourceChange]] = {}
        for r in self.resources:
            members.setdefault(self.row_key(r.component), []).append(r)
        risks: dict[tuple[str, str], list[Risk]] = {}
        for risk in self.risks:
            if risk.component:
                risks.setdefault(self.row_key(risk.component), []).append(risk)
        costs = {(c.kind, c.name): c for c in self.cost.endpoints}
        keys = set(by_key) | set(members) | set(risks) | set(costs)
        order = {kind: i for i, kind in enumerate((*KINDS, "platform", "environment"))}
        rows = []
        for kind, name in sorted(keys, key=lambda k: (k == ("", ""), order.get(k[0], len(order)), k)):
            change = by_key.get((kind, name))
            label = change.label if change else (f"{NOUNS.get(kind, kind)} {name}" if kind else "other resources")
            mine = tuple(members.get((kind, name), ()))
            rows.append(
                Row(
                    kind,
                    name,
                    label,
                    change.details if change else (),
                    counts(list(mine)),
                    costs.get((kind, name)),
                    tuple(risks.get((kind, name), ())),
                    mine,
                )
            )
        return tuple(rows)

    def as_dict(self) -> dict[str, Any]:
        return {
            "base": self.base.as_dict(),
            "head": self.head.as_dict(),
            "changed": self.changed,
            "counts": self.counts,
            "summary": [c.line for c in self.components],
            "components": [r.as_dict() for r in self.rows()],
            "resources": [_resource_dict(r) for r in self.resources],
            "risks": [
                {
                    "severity": r.severity,
                    "rule": r.rule,
                    "message": r.message,
                    "component": None if r.component is None else list(r.component),
                    "resources": list(r.resources),
                }
                for r in self.risks
            ],
            "cost": _cost_dict(self.cost),
        }


def _resource_dict(r: ResourceChange) -> dict[str, Any]:
    return {
        "action": r.action,
        "symbol": r.symbol,
        "type": r.type,
        "name": r.name,
        "component": None if r.component is None else list(r.component),
        "replaced_by": list(r.replaced_by),
        "delete_before_replace": r.delete_before_replace,
        "changes": [
            {"path": c.path, "old": plain(c.old), "new": plain(c.new), "forces_replacement": c.forces_replacement}
            for c in r.changes
        ],
    }


def _cost_dict(report: cost.CostReport) -> dict[str, Any]:
    def side(c: cost.Cost | None) -> dict[str, Any] | None:
        return None if c is None else {"at_min": c.low, "at_max": c.high, "shape": c.shape}

    return {
        "hours_per_month": cost.HOURS,
        "currency": "USD",
        "endpoints": [
            {
                c.kind: c.name,
                "base": side(c.base),
                "head": side(c.head),
                "delta": {"at_min": c.delta_low, "at_max": c.delta_high},
            }
            for c in report.endpoints
        ],
        "total": {
            "base": {"at_min": report.base_total[0], "at_max": report.base_total[1]},
            "head": {"at_min": report.head_total[0], "at_max": report.head_total[1]},
            "delta": {"at_min": report.delta[0], "at_max": report.delta[1]},
        },
        "prices": [p.as_dict() for p in report.prices],
        "not_estimated": cost.NOT_ESTIMATED,
    }


def review(
    base_arg: str,
    head_arg: str,
    target: str | None = None,
    env: str | None = None,
    limits: cost.Limits = cost.Limits(),
) -> Review:
    """Read, validate and plan both sides (offline, under Pulumi mocks), then compare them."""
    base_src, head_src = sources.read(base_arg), sources.read(head_arg)
    if base_src.text is None and head_src.text is None:
        raise MlstackError(f"both sides are {sources.NOTHING}: nothing to compare")
    loaded, errors = [], []
    for src in (base_src, head_src):
        try:
            loaded.append(sources.load(src, env=env, target=target))
        except SpecInvalid as exc:
            errors += exc.errors
    if errors:
        raise SpecInvalid(errors)
    base_resolved, head_resolved = (resolve(x) if x is not None else None for x in loaded)
    if base_src.text == head_src.text and base_src.directory == head_src.directory:  # one plan serves both
        base_plan = head_plan = planned_apart(head_resolved)[0]
    else:
        base_plan, head_plan = planned_apart(base_resolved, head_resolved)
    components = summarise(base_resolved, head_resolved, env)
    resources = compare(base_plan, head_plan)
    renamed = {c.name: c.renamed_from for c in components if c.kind == "endpoint" and c.renamed_from}
    costs = cost.compare(base_resolved, head_resolved, renamed)
    return Review(
        base=Side(base_src.label, base_resolved, base_plan),
        head=Side(head_src.label, head_resolved, head_plan),
        components=components,
        resources=resources,
        risks=assess(base_resolved, head_resolved, base_plan, head_plan, components, resources, costs, limits),
        cost=costs,
    )
