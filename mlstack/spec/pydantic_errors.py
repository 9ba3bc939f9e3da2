"""Pydantic's errors, rewritten as located SpecErrors a person can act on."""

from __future__ import annotations

import re
import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError

from mlstack.errors import Path, SpecError, did_you_mean
from mlstack.spec.types import IDENT_PATTERN, NAME_PATTERN
from mlstack.spec.yaml_loader import Document


def _unwrap(tp: Any, value: object) -> Any:
    """The BaseModel (or container) type that `value` is checked against, through Optional/Annotated/unions."""
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            options = [a for a in typing.get_args(tp) if a is not type(None)]
            models = [a for a in options if isinstance(a, type) and issubclass(a, BaseModel)]
            if len(models) > 1 and isinstance(value, dict):
                tag = value.get("type")
                tp = next((m for m in models if tag in _literal_values(m, "type")), models[0])
            elif models and isinstance(value, dict):
                tp = models[0]
            else:
                tp = options[0]
        else:
            return tp


def _literal_values(model: type[BaseModel], field: str) -> tuple[object, ...]:
    info = model.model_fields.get(field)
    return typing.get_args(info.annotation) if info else ()


def _model_at(root: type[BaseModel], data: object, path: Path) -> type[BaseModel] | None:
    tp: Any = root
    value = data
    for part in path:
        tp = _unwrap(tp, value)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            info = tp.model_fields.get(str(part))
            if info is None:
                return None
            tp = info.annotation
        else:
            args = typing.get_args(tp)
            if not args:
                return None
            tp = args[-1]  # list[X] -> X, dict[K, V] -> V
        value = value[part] if isinstance(value, dict | list) and _has(value, part) else None
    tp = _unwrap(tp, value)
    return tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None


def _has(container: dict | list, part: object) -> bool:
    if isinstance(container, dict):
        return part in container
    return isinstance(part, int) and 0 <= part < len(container)


def _data_path(data: object, loc: tuple[Any, ...], kind: str) -> tuple[Path, list[tuple[str, object]]]:
    """Map pydantic's loc onto the data, dropping union branch labels; returns the labels skipped
    along with the value they were checked against."""
    path: list[str | int] = []
    labels: list[tuple[str, object]] = []
    value = data
    for i, part in enumerate(loc):
        if isinstance(value, dict | list) and _has(value, part):
            path.append(part)
            value = value[part]
        elif i == len(loc) - 1 and kind == "missing":
            path.append(part)
        else:
            labels.append((str(part), value))
    return tuple(path), labels


_PRIMITIVES = {"str", "int", "float", "bool", "none", "list", "dict"}
_SCALARS = (str, int, float, bool)


def _wrong_branch(labels: list[tuple[str, object]]) -> bool:
    """An error from a union branch that does not match the input's shape (a name vs a mapping)."""
    for label, value in labels:
        primitive = label.split("[")[0] in _PRIMITIVES
        if primitive and isinstance(value, dict):
            return True
        if not primitive and isinstance(value, _SCALARS) and any(c.isupper() for c in label):
            return True
    return False


_PATTERNS = {
    NAME_PATTERN: "names are lower-case letters, digits and hyphens, start with a letter and end with a letter "
    "or digit",
    IDENT_PATTERN: "column names are letters, digits and underscores and do not start with a digit",
}


_QUOTED = re.compile(r"'([^']*)'")


def _message(err: dict[str, Any], root: type[BaseModel], data: object, path: Path) -> str:
    kind = err["type"]
    value = err.get("input")
    if kind == "extra_forbidden":
        model = _model_at(root, data, path[:-1])
        allowed = sorted(model.model_fields) if model else []
        hint = did_you_mean(str(path[-1]), allowed)
        listing = f"; expected one of: {', '.join(allowed)}" if allowed and not hint else ""
        return f"unknown key '{path[-1]}'{hint}{listing}"
    if kind == "missing":
        return f"required key '{path[-1]}' is missing"
    if kind == "literal_error":
        expected = _QUOTED.findall(err.get("ctx", {}).get("expected", ""))
        return f"'{value}' is not allowed; expected one of: {', '.join(expected)}{did_you_mean(str(value), expected)}"
    if kind == "union_tag_invalid":
        expected = _QUOTED.findall(err.get("ctx", {}).get("expected_tags", ""))
        tag = err.get("ctx", {}).get("tag")
        return f"unknown type '{tag}'; expected one of: {', '.join(expected)}{did_you_mean(str(tag), expected)}"
    if kind == "union_tag_not_found":
        return "say which kind this is with a 'type' key"
    if kind == "string_pattern_mismatch":
        pattern = err.get("ctx", {}).get("pattern", "")
        return f"{value!r} is not allowed: {_PATTERNS.get(pattern, f'expected the form {pattern}')}"
    if kind == "too_short":
        least = err.get("ctx", {}).get("min_length", 1)
        return f"needs at least {least} item{'s' if least != 1 else ''}"
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        model = _model_at(root, data, path)
        keys = f" with keys such as {', '.join(list(model.model_fields)[:4])}" if model else ""
        return f"expected a mapping{keys}, got {type(value).__name__} {value!r}"
    message = err["msg"]
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    if isinstance(value, str | int | float | bool) and kind not in ("value_error", "assertion_error"):
        message = f"{message} (got {value!r})"
    return message


def convert(exc: ValidationError, doc: Document, root: type[BaseModel], prefix: Path = ()) -> list[SpecError]:
    out: list[SpecError] = []
    seen: set[tuple[Path, str]] = set()
    errors = exc.errors(include_url=False)
    data = doc_data(doc, prefix)
    branch_ok = [e for e in errors if not _wrong_branch(_data_path(data, e["loc"], e["type"])[1])]
    for err in branch_ok or errors:
        path, _ = _data_path(data, err["loc"], err["type"])
        message = _message(err, root, data, path)
        full = (*prefix, *path)
        if (full, message) in seen:
            continue
        seen.add((full, message))
        out.append(doc.error(full, message, key=err["type"] == "extra_forbidden"))
    return sorted(out, key=lambda e: (e.line, e.column))


def doc_data(doc: Document, prefix: Path) -> object:
    value = doc.data
    for part in prefix:
        value = value[part]  # type: ignore[index]
    return value
