"""Whether access widened: the statements of IAM policy documents (AWS form: Statement, Effect, Action,
Resource, Principal, Condition) anywhere in a resource's inputs, and grants as (principal, permission).

A permission is a tuple of patterns; an old one covers a new one when each pattern matches (`*`, `?`
wildcards) and its condition is absent or the same. Access widened when something new is not covered,
or when an old Deny is gone."""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from mlstack.review.values import decode_json


@dataclass(frozen=True, order=True)
class Permission:
    effect: str  # Allow | Deny | Grant (a role or policy given to a principal)
    principal: str
    action: str
    resource: str
    condition: str = ""  # the statement's Condition as canonical JSON

    def covers(self, other: Permission) -> bool:
        return (
            self.effect == other.effect
            and all(
                fnmatchcase(theirs.lower(), mine.lower())
                for mine, theirs in (
                    (self.principal, other.principal),
                    (self.action, other.action),
                    (self.resource, other.resource),
                )
            )
            and self.condition in ("", other.condition)
        )

    def describe(self) -> str:
        if self.effect == "Grant":
            return self.action if self.resource == "*" else f"{self.action} on {self.resource}"
        who = "" if self.principal == "*" else f" for {self.principal}"
        when = " (with conditions)" if self.condition else ""
        return f"{self.effect} {self.action} on {self.resource}{who}{when}"


def _strings(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    if isinstance(value, dict):  # Principal: {"AWS": [...], "Service": "..."}
        return [f"{kind}:{s}" for kind, v in sorted(value.items()) for s in _strings(v)]
    return [str(value)]


def _statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    statements = document.get("Statement", [])
    return [s for s in (statements if isinstance(statements, list) else [statements]) if isinstance(s, dict)]


def _from_statement(statement: dict[str, Any], principal: str) -> Iterator[Permission]:
    effect = str(statement.get("Effect", "Allow"))
    # NotAction / NotResource allow everything but the list: as wide as `*` for this purpose
    actions = ["*"] if "NotAction" in statement else _strings(statement.get("Action")) or ["*"]
    resources = ["*"] if "NotResource" in statement else _strings(statement.get("Resource")) or ["*"]
    principals = ["*"] if "NotPrincipal" in statement else _strings(statement.get("Principal")) or [principal]
    condition = json.dumps(statement["Condition"], sort_keys=True) if statement.get("Condition") else ""
    for who in principals:
        for action in actions:
            for resource in resources:
                yield Permission(effect, who, action, resource, condition)


def documents(value: Any) -> Iterator[dict[str, Any]]:
    """Every policy document (a mapping with a Statement) inside `value`, JSON strings included."""
    value = decode_json(value)
    if isinstance(value, dict):
        if "Statement" in value:
            yield value
            return
        for key in sorted(value):
            yield from documents(value[key])
    elif isinstance(value, list):
        for item in value:
            yield from documents(item)


def permissions(inputs: dict[str, Any], principal: str = "*") -> set[Permission]:
    return {p for doc in documents(inputs) for s in _statements(doc) for p in _from_statement(s, principal)}


def renamer(renamed: dict[str, str]) -> Callable[[Permission], Permission]:
    """A permission as it reads after spec objects were renamed (old name → new, as a whole word), so
    a renamed object's own grants are not mistaken for new access."""
    if not renamed:
        return lambda p: p
    pattern = re.compile(
        r"(?<![A-Za-z0-9])("
        + "|".join(re.escape(n) for n in sorted(renamed, key=len, reverse=True))
        + r")(?![A-Za-z0-9])"
    )

    def carry(p: Permission) -> Permission:
        def sub(text: str) -> str:
            return pattern.sub(lambda m: renamed[m.group(1)], text)

        return Permission(p.effect, sub(p.principal), sub(p.action), sub(p.resource), sub(p.condition))

    return carry


_WILDCARDS = re.compile(r"[*?\[]")


class _Covering:
    """`any(o.covers(p) for o in permissions)` without the scan of every permission: one without a
    wildcard covers only its case-insensitive equal, found by lookup, and of those with one only the
    ones of the same effect, of the same action unless their action is a pattern, and whose resource's
    text before its first wildcard begins the resource asked about are tried (a role's hundreds of
    grants against hundreds of new ones were quadratic)."""

    def __init__(self, permissions: set[Permission]) -> None:
        self._exact: set[tuple[str, ...]] = set()
        self._patterns: dict[tuple[str, str], _ByPrefix] = {}
        for p in permissions:
            if any(_WILDCARDS.search(part) for part in (p.principal, p.action, p.resource)):
                action = "" if _WILDCARDS.search(p.action) else p.action.lower()
                self._patterns.setdefault((p.effect, action), _ByPrefix()).add(p)
            else:
                self._exact.add(_folded(p, p.condition))

    def __call__(self, p: Permission) -> bool:
        if _folded(p, "") in self._exact or (p.condition != "" and _folded(p, p.condition) in self._exact):
            return True
        for action in (p.action.lower(), ""):
            patterns = self._patterns.get((p.effect, action))
            if patterns is not None and any(o.covers(p) for o in patterns.candidates(p.resource.lower())):
                return True
        return False


class _ByPrefix:
    """Permissions by the literal start of their resource pattern: only a pattern whose start begins a
    resource can match it (fnmatch anchors at the first character)."""

    def __init__(self) -> None:
        self._by_start: dict[str, list[Permission]] = {}
        self._lengths: list[int] = []  # of the starts, ascending

    def add(self, p: Permission) -> None:
        resource = p.resource.lower()
        wildcard = _WILDCARDS.search(resource)
        start = resource[: wildcard.start()] if wildcard else resource
        if start not in self._by_start:
            self._by_start[start] = []
            if len(start) not in self._lengths:
                bisect.insort(self._lengths, len(start))
        self._by_start[start].append(p)

    def candidates(self, resource: str) -> Iterator[Permission]:
        for length in self._lengths:
            if length > len(resource):
                break
            yield from self._by_start.get(resource[:length], ())


def _folded(p: Permission, condition: str) -> tuple[str, ...]:
    return (p.effect, p.principal.lower(), p.action.lower(), p.resource.lower(), condition)


def widened(old: set[Permission], new: set[Permission]) -> list[str]:
    """What `new` allows that `old` did not, and the Denies it dropped, described, sorted."""
    covered_by_old = _Covering(old)
    covered_by_new_denies = _Covering({n for n in new if n.effect == "Deny"})
    added = [p for p in new if p.effect != "Deny" and not covered_by_old(p)]
    dropped = [p for p in old if p.effect == "Deny" and not covered_by_new_denies(p)]
    return sorted([p.describe() for p in added] + [f"no longer {p.describe()}" for p in dropped])


def items_widened(old: list[str], new: list[str]) -> list[str]:
    """New items of a permission list (actions, policy ARNs) that no old item covers."""
    return sorted({n for n in new if not any(fnmatchcase(n.lower(), o.lower()) for o in old)})
