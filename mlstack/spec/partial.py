"""The well-typed part of a spec that has type errors, so that rules run in the same round.

A top-level item with a type error (an endpoint, a model group, a compute profile) is left out, and a
mis-typed optional setting falls back to its default; what remains is validated again until it is a
Spec. Problems the rules then find are located back in the file (the indices of items after a left-out
one shift), and problems naming a left-out item are dropped: its type error is the one to fix."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from mlstack.errors import Path, SpecError
from mlstack.spec.models import Spec
from mlstack.spec.yaml_loader import Document

MAX_ROUNDS = 8
# Top-level mappings of named models: a bad entry is left out by its key.
NAMED_MAPPINGS = ("compute", "environments")
# Without these the rules would check another target than the one asked for.
ESSENTIAL: tuple[Path, ...] = (("target", "cloud"),)


@dataclass
class Kept:
    lists: dict[Path, list[int]] = field(default_factory=dict)  # list path -> original index of each kept item
    dropped: set[str] = field(default_factory=set)  # names of the items left out

    def original(self, path: Path) -> Path:
        """A path in the typed part as a path in the file. Only top-level lists lose items, so only the
        first index of a path can shift."""
        for i, part in enumerate(path):
            if isinstance(part, int):
                indices = self.lists.get(tuple(path[:i]))
                return path if indices is None else (*path[:i], indices[part], *path[i + 1 :])
        return path

    def relocate(self, problems: Iterable[tuple[Path, str]], doc: Document) -> list[SpecError]:
        return [
            doc.error(self.original(path), message)
            for path, message in problems
            if not any(f"'{name}'" in message for name in self.dropped)
        ]

    def remove_items(self, data: dict[str, Any], at: Path, indices: set[int]) -> None:
        items = _node(data, at)
        assert isinstance(items, list)
        kept = self.lists.setdefault(at, list(range(len(items))))
        for index in sorted(indices, reverse=True):
            item = items.pop(index)
            del kept[index]
            if isinstance(item, dict) and isinstance(item.get("name"), str):
                self.dropped.add(item["name"])


def _has(node: list[Any] | dict[str, Any], part: Any) -> bool:
    return part in node if isinstance(node, dict) else isinstance(part, int) and 0 <= part < len(node)


def _node(data: Any, path: Path) -> Any:
    for part in path:
        data = data[part]
    return data


def _target(data: Any, loc: tuple[Any, ...], kind: str) -> tuple[str, Path, int | str] | None:
    """What to leave out for one error: ("item", list path, index), ("entry", mapping path, key) or
    ("key", mapping path, key), walking pydantic's loc over the data (union labels are not in it).
    An unknown key is left out by itself: the item around it is well typed without it."""
    node, prefix = data, ()
    deepest: tuple[Path, str] | None = None
    for part in loc:
        if kind == "extra_forbidden" and isinstance(node, list | dict) and _has(node, part):
            deepest = (prefix, part)
            node, prefix = node[part], (*prefix, part)
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            return "item", prefix, part
        if isinstance(node, dict) and part in node:
            if len(prefix) == 1 and prefix[0] in NAMED_MAPPINGS:
                return "entry", prefix, part
            deepest = (prefix, part)
            node, prefix = node[part], (*prefix, part)
    if deepest is None:
        return None
    return "key", *deepest


def typed_part(data: dict[str, Any], exc: ValidationError) -> tuple[Spec, Kept] | None:
    """The spec without its mis-typed parts, or None when what is left is no spec to check rules on
    (a required top-level key or the target cloud is wrong)."""
    data = copy.deepcopy(data)
    kept = Kept()
    for _ in range(MAX_ROUNDS):
        items: dict[Path, set[int]] = {}
        for error in exc.errors(include_url=False):
            found = _target(data, error["loc"], error["type"])
            if found is None:
                return None
            kind, at, key = found
            if kind == "item":
                items.setdefault(at, set()).add(int(key))
                continue
            mapping = _node(data, at)
            top = Spec.model_fields.get(str(key)) if not at else None
            if kind == "key" and ((*at, key) in ESSENTIAL or (top is not None and top.is_required())):
                return None
            if isinstance(mapping, list):  # an unknown key's item is a list element: keep the list whole
                continue
            if key in mapping:
                del mapping[key]
                if kind == "entry":
                    kept.dropped.add(str(key))
        for at, indices in items.items():
            kept.remove_items(data, at, indices)
        try:
            return Spec.model_validate(data), kept
        except ValidationError as again:
            exc = again
    return None
