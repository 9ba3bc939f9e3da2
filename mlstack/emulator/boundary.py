"""What the control plane checks in every desired state before it touches anything: the names
that become directories, URL segments and SQL identifiers (by the spec's own rules, `mlstack.names`)
and the numbers it stores (finite, within the bounds every command and target carries).

A desired state normally comes from `mlstack up` and passed these checks in the spec already; the
API is open to any local caller with the token, so it checks again rather than trusting the client."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from mlstack.emulator.errors import BadRequest
from mlstack.names import RESERVED_COLUMNS, column_clashes, ident_problem, name_problem
from mlstack.spec.types import MAX_INT

Problems = Iterator[str | None]


def check_resource(kind: str, name: Any, config: dict[str, Any]) -> None:
    """BadRequest naming every bad name or number in one resource of a desired state."""
    problems = [p for p in _problems(kind, name, config) if p]
    problems += _numbers(config, f"{kind} {name!a:.80}")
    if problems:
        shown = problems[:10] + ([f"... {len(problems) - 10} more"] if len(problems) > 10 else [])
        raise BadRequest("; ".join(shown))


def check_name(value: Any, what: str) -> str:
    """A name from a request's URL or body, checked as the spec checks it (BadRequest otherwise)."""
    problem = name_problem(value, what)
    if problem:
        raise BadRequest(problem)
    return value


def check_version(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_INT:
        raise BadRequest(f"a version is a whole number from 1 to {MAX_INT}, not {value!a:.40}")
    return value


def _problems(kind: str, name: Any, config: dict[str, Any]) -> Problems:
    if kind == "model_version":
        group, _, number = str(name).partition(":v")
        yield name_problem(group, "model group")
        yield name_problem(config.get("group"), "model group")
        if config.get("group") != group or str(config.get("version")) != number:
            yield f"model_version {name!a:.80} must be named '<group>:v<version>' after its config"
        if isinstance(config.get("version"), int):
            yield None if 1 <= config["version"] <= MAX_INT else f"version {config['version']} is out of range"
        else:
            yield "a model_version config needs a whole-number version"
        return
    yield name_problem(name, kind.replace("_", " "))
    if "name" in config and config["name"] != name:
        yield f"{kind} {name!a:.80}: config.name {config['name']!a:.80} differs from the resource name"
    for key in config.get("join_keys") or []:
        yield ident_problem(_field(key, "name"), "join key")
    if kind == "feature_view":
        yield name_problem(config.get("entity"), "entity")
        features = [_field(f, "name") for f in config.get("features") or []]
        for feature in features:
            yield ident_problem(feature, "feature")
        if all(isinstance(f, str) for f in features):
            keys = tuple(str(_field(k, "name")) for k in config.get("join_keys") or [])
            yield from column_clashes(features, (*RESERVED_COLUMNS, *keys))
    elif kind == "pipeline":
        for step in config.get("steps") or []:
            yield name_problem(_field(step, "name"), "step")
            for key, what in (("model_group", "model group"), ("endpoint", "endpoint"), ("batch_job", "batch job")):
                if isinstance(step, dict) and step.get(key) is not None:
                    yield name_problem(step[key], what)
            for upstream in _field(step, "depends_on") or []:
                yield name_problem(upstream, "step")
        for trigger in config.get("triggers") or []:
            if isinstance(trigger, dict) and trigger.get("on_alert") is not None:
                yield name_problem(trigger["on_alert"], "monitor")
    elif kind == "endpoint":
        for variant in config.get("variants") or []:
            yield name_problem(_field(variant, "name"), "variant")
            yield name_problem(_field(_field(variant, "model"), "group"), "model group")
        shadow = config.get("shadow")
        if shadow is not None:
            yield name_problem(_field(_field(shadow, "model"), "group"), "model group")
    elif kind == "monitor":
        if config.get("batch_job") is not None:
            yield name_problem(config["batch_job"], "batch job")
        else:
            yield name_problem(config.get("endpoint"), "endpoint")
    elif kind == "batch_job":
        yield name_problem(_field(config.get("model"), "group"), "model group")
        if config.get("format") not in ("csv", "parquet"):
            yield f"batch_job {name!a:.80}: format is csv or parquet, not {config.get('format')!a:.40}"
    elif kind == "model_group" and config.get("promotion") is not None:
        yield from _promotion_problems(config["promotion"])


def _promotion_problems(promotion: Any) -> Problems:
    stages = _field(promotion, "stages")
    approvers = _field(promotion, "approvers") or {}
    if not isinstance(stages, list) or not stages or not isinstance(approvers, dict):
        yield 'promotion must be {"stages": [names...], "approvers": {stage: count}, "stage": name}'
        return
    for stage in stages:
        yield name_problem(stage, "stage")
    for stage, count in approvers.items():
        if stage not in stages or isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 10:
            yield f"promotion approvers: {stage!a:.40} must be a stage with a count from 1 to 10"
    if _field(promotion, "stage") not in stages:
        yield "promotion stage (where endpoints serve from) must be one of its stages"


def _field(item: Any, key: str) -> Any:
    return item.get(key) if isinstance(item, dict) else None


def _numbers(value: Any, where: str, depth: int = 0) -> list[str]:
    """Non-finite floats and integers beyond the bounds anywhere in a config."""
    if isinstance(value, bool) or depth > 32:
        return []
    if isinstance(value, int):
        return [] if -MAX_INT <= value <= MAX_INT else [f"{where}: an integer beyond {MAX_INT}"]
    if isinstance(value, float):
        return [] if math.isfinite(value) else [f"{where}: {value} is not a finite number"]
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    return [p for item in items for p in _numbers(item, where, depth + 1)]
