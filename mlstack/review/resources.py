"""Resource-level changes between two plans, as `terraform plan` shows them: `+` create, `~` update,
`-/+` replace, `-` delete, with the changed inputs as dotted paths (old → new).

Resources are matched as Pulumi matches them, by URN: the chain of parent types, the type and the
logical name. Whether an input change replaces a resource comes from the provider data in
`resource_rules` and from the plan's own `replaceOnChanges`; `ignoreChanges` paths are left out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlstack.plan import PlannedResource
from mlstack.review.resource_rules import rules_for
from mlstack.review.values import diff, path_covers

SYMBOLS = {"create": "+", "update": "~", "replace": "-/+", "delete": "-"}
ACTIONS = tuple(SYMBOLS)


@dataclass(frozen=True)
class PropertyChange:
    path: str
    old: Any  # MISSING when added
    new: Any  # MISSING when removed
    forces_replacement: bool = False


@dataclass(frozen=True)
class ResourceChange:
    action: str  # create | update | replace | delete
    type: str
    name: str
    component: tuple[str, str] | None  # (kind, name) of the spec object it belongs to
    changes: tuple[PropertyChange, ...] = ()
    delete_before_replace: bool = False
    protected: bool = False
    old: PlannedResource | None = None
    new: PlannedResource | None = None

    @property
    def symbol(self) -> str:
        return SYMBOLS[self.action]

    @property
    def replaced_by(self) -> tuple[str, ...]:
        return tuple(c.path for c in self.changes if c.forces_replacement)


class Index:
    """One plan's resources by URN, each with the spec component it belongs to."""

    def __init__(self, resources: list[PlannedResource]) -> None:
        self.by_key = {r.key: r for r in resources}
        self.by_urn: dict[str, PlannedResource] = {}
        self.component: dict[str, tuple[str, str] | None] = {}
        for r in resources:
            if r.custom:
                urn = self._urn(r)
                self.by_urn[urn] = r
                self.component[urn] = self._component(r)

    def _ancestors(self, r: PlannedResource) -> list[PlannedResource]:
        chain, seen = [], set()
        parent = self.by_key.get(r.parent) if r.parent else None
        while parent is not None and parent.key not in seen:
            seen.add(parent.key)
            chain.append(parent)
            parent = self.by_key.get(parent.parent) if parent.parent else None
        return chain

    def _urn(self, r: PlannedResource) -> str:
        types = [p.type for p in reversed(self._ancestors(r))]
        return "$".join((*types, r.type)) + "::" + r.name

    def _component(self, r: PlannedResource) -> tuple[str, str] | None:
        for parent in self._ancestors(r):
            if parent.type.startswith("mlstack:"):
                return parent.type.split(":")[1], parent.name
        return None


def _ignored(path: str, options: dict[str, Any]) -> bool:
    return any(path_covers(p, path) for p in options.get("ignoreChanges", ()))


def _update(old: PlannedResource, new: PlannedResource, component: tuple[str, str] | None) -> ResourceChange | None:
    rules = rules_for(new.type)
    changes = tuple(
        PropertyChange(c.path, c.old, c.new, rules.forces_replacement(c.path, new.options))
        for c in diff(old.inputs, new.inputs)
        if not _ignored(c.path, new.options)
    )
    if not changes:
        return None
    action = "replace" if any(c.forces_replacement for c in changes) else "update"
    return ResourceChange(
        action,
        new.type,
        new.name,
        component,
        changes,
        delete_before_replace=bool(new.options.get("deleteBeforeReplace")) or rules.delete_before_replace,
        protected=bool(old.options.get("protect")),
        old=old,
        new=new,
    )


def compare(base: list[PlannedResource], head: list[PlannedResource]) -> list[ResourceChange]:
    """Every created, updated, replaced and deleted cloud resource (components are not resources),
    sorted by type and name."""
    before, after = Index(base), Index(head)
    out = []
    for urn in sorted(set(before.by_urn) | set(after.by_urn)):
        old, new = before.by_urn.get(urn), after.by_urn.get(urn)
        if old is None and new is not None:
            created = tuple(PropertyChange(c.path, c.old, c.new) for c in diff({}, new.inputs))
            out.append(ResourceChange("create", new.type, new.name, after.component[urn], created, new=new))
        elif new is None and old is not None:
            protected = bool(old.options.get("protect"))
            out.append(
                ResourceChange("delete", old.type, old.name, before.component[urn], protected=protected, old=old)
            )
        elif old is not None and new is not None:
            change = _update(old, new, after.component[urn])
            if change is not None:
                out.append(change)
    return sorted(out, key=lambda c: (c.type, c.name, c.action))


def counts(changes: list[ResourceChange]) -> dict[str, int]:
    return {action: sum(1 for c in changes if c.action == action) for action in ACTIONS}
