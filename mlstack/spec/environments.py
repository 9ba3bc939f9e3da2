"""Environment overlays (`--env prod`) applied to the raw spec before it is validated, keeping
every overridden value's position in the file so errors point at the overlay that set it."""

from __future__ import annotations

import copy

from pydantic import ValidationError

from mlstack.errors import Path, SpecError, SpecInvalid, did_you_mean
from mlstack.spec import pydantic_errors
from mlstack.spec.models import Environment
from mlstack.spec.yaml_loader import Document

_NAMED_LISTS = {"endpoints": ("endpoints",), "pipelines": ("pipelines",), "monitors": ("monitors",)}


def is_production(name: str, env: Environment | None) -> bool:
    if env is not None and env.production is not None:
        return env.production
    return name.lower() in ("prod", "production")


def _move_positions(doc: Document, source: Path, dest: Path) -> None:
    for table in (doc.values, doc.keys):
        for path in [p for p in table if p[: len(dest)] == dest and p != dest]:
            del table[path]
        for path, pos in list(table.items()):
            if path[: len(source)] == source:
                table[(*dest, *path[len(source) :])] = pos


def _deep_merge(base: dict, overlay: dict, doc: Document, base_path: Path, overlay_path: Path) -> None:
    for key, value in overlay.items():
        here, there = (*base_path, key), (*overlay_path, key)
        current = base.get(key)
        same_kind = not (
            isinstance(current, dict) and isinstance(value, dict) and current.get("type") != value.get("type")
        )
        if isinstance(current, dict) and isinstance(value, dict) and same_kind:
            _deep_merge(current, value, doc, here, there)
        else:
            base[key] = copy.deepcopy(value)
            _move_positions(doc, there, here)


def apply(doc: Document, env_name: str) -> Document:
    """A new Document: the base spec with environment `env_name` applied."""
    data = doc.data
    assert isinstance(data, dict)
    envs = data.get("environments") or {}
    if not isinstance(envs, dict) or env_name not in envs:
        names = sorted(envs) if isinstance(envs, dict) else []
        known = f"; the spec defines: {', '.join(names)}" if names else "; the spec defines no environments"
        raise SpecInvalid(
            [
                doc.error(
                    ("environments",), f"no environment '{env_name}'{did_you_mean(env_name, names)}{known}", key=True
                )
            ]
        )
    env_path: Path = ("environments", env_name)
    raw = envs[env_name] or {}
    try:
        Environment.model_validate(raw)
    except ValidationError as exc:
        raise SpecInvalid(pydantic_errors.convert(exc, doc, Environment, env_path)) from None

    merged = Document(copy.deepcopy(data), doc.file, dict(doc.values), dict(doc.keys))
    out = merged.data
    assert isinstance(out, dict)
    errors: list[SpecError] = []
    for section in ("target", "tags", "compute"):
        if section in raw:
            base = out.setdefault(section, {})
            if section == "compute":  # a profile is replaced whole: pinned and neutral fields don't mix
                for name, profile in raw[section].items():
                    base[name] = copy.deepcopy(profile)
                    _move_positions(merged, (*env_path, section, name), (section, name))
            else:
                _deep_merge(base, raw[section], merged, (section,), (*env_path, section))
    for section in _NAMED_LISTS:
        items = out.get(section) or []
        by_name = {item.get("name"): i for i, item in enumerate(items) if isinstance(item, dict)}
        for name, fields in (raw.get(section) or {}).items():
            if name not in by_name:
                errors.append(
                    doc.error(
                        (*env_path, section, name),
                        f"no {section[:-1]} named '{name}' to override{did_you_mean(name, [str(n) for n in by_name])}",
                        key=True,
                    )
                )
                continue
            index = by_name[name]
            for field, value in (fields or {}).items():
                if value is None:
                    continue
                items[index][field] = copy.deepcopy(value)
                _move_positions(merged, (*env_path, section, name, field), (section, index, field))
    if errors:
        raise SpecInvalid(errors)
    return merged
