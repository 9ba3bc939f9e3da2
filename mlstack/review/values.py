"""Differences between two nested values (plan inputs, spec objects) as dotted paths, old → new.

Strings that hold JSON documents (IAM policies, Vertex traffic splits, SageMaker pipeline definitions)
are compared inside, so a one-action change in a policy is one line, not two whole documents."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

MISSING: Any = type("Missing", (), {"__repr__": lambda self: "MISSING", "__bool__": lambda self: False})()

# list -> the key naming each item, for lists whose items have an identity (spec lists of named objects)
Identity = Callable[[list[Any]], str | None]


@dataclass(frozen=True)
class Change:
    path: str
    old: Any  # MISSING when added
    new: Any  # MISSING when removed

    @property
    def kind(self) -> str:
        if self.old is MISSING:
            return "added"
        if self.new is MISSING:
            return "removed"
        return "changed"


def decode_json(value: Any) -> Any:
    """A JSON object or array held in a string, decoded; anything else unchanged."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", key):
        key = json.dumps(key)
    return f"{path}.{key}" if path else key


def no_identity(_items: list[Any]) -> str | None:
    return None


def diff(
    old: Any, new: Any, path: str = "", identity: Identity = no_identity, whole_lists: bool = False
) -> Iterator[Change]:
    """Leaf-level changes from `old` to `new`, in a stable order (keys sorted, list items in order).
    With `whole_lists`, a list of plain values changes as one value (aliases [a] → [a, b])."""
    old, new = decode_json(old), decode_json(new)
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new), key=str):
            if old.get(key) is None and new.get(key) is None:
                continue  # an input set to null is an input not set
            yield from diff(old.get(key, MISSING), new.get(key, MISSING), join(path, key), identity, whole_lists)
        return
    if isinstance(old, list) and isinstance(new, list):
        key = identity(old + new)
        if key is not None:
            yield from _diff_by_identity(old, new, path, key, identity, whole_lists)
            return
        if whole_lists and not any(isinstance(v, dict | list) for v in old + new):
            if old != new:
                yield Change(path, old, new)
            return
        for i in range(max(len(old), len(new))):
            before, after = old[i] if i < len(old) else MISSING, new[i] if i < len(new) else MISSING
            yield from diff(before, after, join(path, i), identity, whole_lists)
        return
    # 1 and 1.0 are the same number (JSON does not tell them apart); true and 1 are not
    if old != new or isinstance(old, bool) != isinstance(new, bool):
        yield Change(path, old, new)


def _diff_by_identity(
    old: list, new: list, path: str, key: str, identity: Identity, whole_lists: bool
) -> Iterator[Change]:
    before = {item[key]: item for item in old}
    after = {item[key]: item for item in new}
    marker = "v" if key == "version" else ""  # versions[v4], not versions[4] which reads as a position
    for ident in sorted(set(before) | set(after), key=str):
        label = f"{path}[{marker}{ident}]"
        before_item, after_item = before.get(ident, MISSING), after.get(ident, MISSING)
        if before_item is MISSING or after_item is MISSING:
            yield Change(label, before_item, after_item)
        else:
            yield from diff(before_item, after_item, label, identity, whole_lists)


def show(value: Any, limit: int | None = None) -> str:
    """A compact, YAML-flow-like rendering for people: strings bare, None as `none`."""
    text = _show(value)
    if limit is not None and len(text) > limit:
        return f"{text[: limit - 1]}…"
    return text


def _show(value: Any) -> str:
    if value is MISSING:
        return "(absent)"
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_show(v)}" for k, v in value.items() if v is not None) + "}"
    text = str(value)
    # one value, one line: a multi-line string (a query, a script) shows its line breaks escaped
    return json.dumps(text, ensure_ascii=False) if any(c in text for c in "\n\r\t") else text


def plain(value: Any) -> Any:
    """`value` as JSON data, MISSING as None (for --format json)."""
    return None if value is MISSING else value


def path_matches(path: str, pattern: str) -> bool:
    """Whether a change at `path` touches the Pulumi property path `pattern` (`*` = every input,
    `[*]` = any list item); either one may be the deeper of the two."""
    if pattern == "*":
        return True
    return _prefix(_tokens(path), _tokens(pattern))


def path_covers(pattern: str, path: str) -> bool:
    """Whether `pattern` names `path` or one of its ancestors (as Pulumi's ignoreChanges does)."""
    wanted = _tokens(pattern)
    return pattern == "*" or (len(wanted) <= len(_tokens(path)) and _prefix(_tokens(path), wanted))


def _tokens(path: str) -> list[str]:
    return [t for t in re.split(r"\.|(\[[^\]]*\])", path) if t]


def _prefix(a: list[str], b: list[str]) -> bool:
    return all(x == y or "[*]" in (x, y) for x, y in zip(a, b, strict=False))
