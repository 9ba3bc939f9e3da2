"""The spec reference (specs/REFERENCE.md), generated from the models so it never drifts."""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from mlstack.spec.models import Spec


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin in (typing.Union, types.UnionType):
        return " \\| ".join(_type_name(a) for a in args if a is not type(None)) + (
            " \\| null" if type(None) in args else ""
        )
    if origin is typing.Literal:
        return " \\| ".join(f"`{a}`" for a in args)
    if origin in (list, tuple):
        return f"list of {_type_name(args[0])}"
    if origin is dict:
        return f"map of {_type_name(args[0])} → {_type_name(args[1])}"
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return f"[{tp.__name__}](#{tp.__name__.lower()})"
    return getattr(tp, "__name__", str(tp))


def _models(tp: Any, seen: dict[str, type[BaseModel]]) -> None:
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        if tp.__name__ in seen:
            return
        seen[tp.__name__] = tp
        for info in tp.model_fields.values():
            _models(info.annotation, seen)
        return
    for arg in typing.get_args(tp):
        _models(arg, seen)


def _default(info: Any) -> str:
    if info.is_required():
        return "**required**"
    if info.default_factory is not None:
        return "(empty)" if info.default_factory in (list, dict) else "(see type)"
    if info.default is PydanticUndefined or info.default is None:
        return ""
    return f"`{info.default}`"


def render() -> str:
    seen: dict[str, type[BaseModel]] = {}
    _models(Spec, seen)
    out = [
        "# mlstack.yaml reference (apiVersion mlstack/v1)",
        "",
        "Generated from `mlstack/spec/models.py` by `mlstack schema --reference`; do not edit by hand.",
        "Durations are written `30s`, `15m`, `2h`, `7d`, `1w` or whole seconds; schedules are 5-field cron in UTC.",
        "",
    ]
    for name, model in seen.items():
        out += [f"## {name}", ""]
        doc = (model.__doc__ or "").strip()
        if doc and not doc.startswith(("Usage docs", "!!!")):
            out += [" ".join(doc.split()), ""]
        out += ["| key | type | default | description |", "|---|---|---|---|"]
        for field, info in model.model_fields.items():
            description = (info.description or "").replace("|", "\\|")
            out.append(f"| `{info.alias or field}` | {_type_name(info.annotation)} | {_default(info)} | {description} |")
        out.append("")
    out += _step_contract()
    return "\n".join(out)


def _step_contract() -> list[str]:
    """The contract code steps run under on every target, from the module that implements it."""
    from mlstack.runtime import contract, step, tracking

    return [
        "## Step contract",
        "",
        "```text",
        (contract.__doc__ or "").strip(),
        "```",
        "",
        "### Logging params and metrics",
        "",
        "```text",
        (tracking.__doc__ or "").strip(),
        "```",
        "",
        "On a cloud, each plan starts a code step through mlstack's adapter in the step's image (the image with",
        "mlstack added, built and pushed by the stack):",
        "",
        "```text",
        (step.__doc__ or "").strip(),
        "```",
        "",
    ]
