"""Serving: deployment strategies the destination cannot do (closest fallback), strategy limits (canary
size, mirrored share), and serverless endpoints on targets without them."""

from __future__ import annotations

from ruamel.yaml.comments import CommentedMap

from mlstack.migrate import markers
from mlstack.migrate.context import Context, restored_note
from mlstack.migrate.document import assign, plain
from mlstack.migrate.markers import Unmappable
from mlstack.migrate.walk import endpoints, strategies
from mlstack.targets import TargetProfile, profile

# The next-best ways to roll out when a target lacks one, nearest first.
FALLBACKS: dict[str, tuple[str, ...]] = {
    "canary": ("linear", "blue_green", "all_at_once"),
    "linear": ("canary", "blue_green", "all_at_once"),
    "blue_green": ("all_at_once",),
    "shadow": ("all_at_once",),
    "all_at_once": (),
    "ab": (),
}
# Fallbacks that drop something the user asked for, rather than only rolling out differently.
LOSSY = {("shadow", "all_at_once"): "the challenger no longer receives mirrored traffic"}


def _convert(strategy: dict, to: str) -> dict:
    out: dict = {"type": to}
    kind = strategy["type"]
    if to == "linear" and kind == "canary":
        out["step_percent"] = strategy["percent"]
        out |= {"interval": strategy["bake_time"]} if "bake_time" in strategy else {}
    if to == "canary" and kind == "linear":
        out["percent"] = strategy["step_percent"]
        out |= {"bake_time": strategy["interval"]} if "interval" in strategy else {}
    if to != "all_at_once" and "termination_wait" in strategy:
        out["termination_wait"] = strategy["termination_wait"]
    if "rollback" in strategy:
        out["rollback"] = strategy["rollback"]
    return out


def _clamp(strategy: dict, target: TargetProfile) -> dict:
    out = dict(strategy)
    if out["type"] == "canary" and isinstance(out.get("percent"), int):
        out["percent"] = min(out["percent"], target.max_canary_percent)
    if out["type"] == "shadow" and isinstance(out.get("percent"), int):
        out["percent"] = min(out["percent"], target.max_shadow_percent)
    return out


def derive_strategy(_cloud: str, value: object, to: str) -> object:
    assert isinstance(value, dict)
    target = profile(to)
    kind = value.get("type")
    if kind not in target.unsupported_strategies:
        return _clamp(value, target)
    for alternative in FALLBACKS.get(str(kind), ()):
        if alternative not in target.unsupported_strategies:
            return _clamp(_convert(value, alternative), target)
    raise Unmappable(f"{kind} is not available on {target.title}: {target.unsupported_strategies[kind]}")


def _write(node: CommentedMap, value: dict) -> None:
    """Make `node` hold `value`, touching only keys whose value changes (others keep their comments)."""
    for key in [k for k in node if k not in value]:
        del node[key]
    for key, item in value.items():
        if plain(node.get(key)) != item:
            assign(node, key, item)


def _describe(strategy: dict) -> str:
    details = ", ".join(f"{k} {v}" for k, v in strategy.items() if k in ("percent", "step_percent"))
    return f"{strategy['type']}" + (f" ({details})" if details else "")


def migrate_serving(ctx: Context) -> None:
    for path, node, _endpoint in strategies(ctx.root):
        if "type" not in node:
            continue
        current = plain(node)
        assert isinstance(current, dict)
        marker = markers.read(node, "type")
        try:
            outcome = markers.translate(current, marker, ctx.source, ctx.dest, derive_strategy)
        except Unmappable as exc:
            ctx.report.add((*path, "type"), "unsupported", f"strategy {current['type']}", f"{exc}; choose another")
            continue
        new = outcome.value
        assert isinstance(new, dict)
        markers.write(node, "type", outcome.marker)
        if new == current:
            continue
        _write(node, new)
        what = f"strategy {_describe(current)} → {_describe(new)}"
        if outcome.restored:
            ctx.report.add((*path, "type"), "exact", what, restored_note(outcome), before=current, after=new)
            continue
        origin = outcome.origin.value
        assert isinstance(origin, dict)
        if origin["type"] != new["type"]:
            why = f"{ctx.target.title}: {ctx.target.unsupported_strategies[origin['type']]}"
            lost = LOSSY.get((origin["type"], new["type"]))
            if lost:
                ctx.report.add((*path, "type"), "unsupported", what, f"{why}; {lost}: decide how to evaluate it")
            else:
                ctx.report.add((*path, "type"), "approximate", what, f"{why}; the closest rollout it offers")
            continue
        limit = ctx.target.max_canary_percent if new["type"] == "canary" else ctx.target.max_shadow_percent
        why = f"{ctx.target.title} allows at most {limit}% for a {new['type']}"
        ctx.report.add((*path, "percent"), "approximate", what, why, before=current, after=new, also=((*path, "type"),))
    if not ctx.target.serverless:
        for path, endpoint in endpoints(ctx.root):
            if endpoint.get("serverless") is not None:
                ctx.report.add(
                    (*path, "serverless"),
                    "unsupported",
                    "serverless endpoint",
                    f"{ctx.target.serverless_instead}: give the endpoint compute (and autoscaling); instances do "
                    "not scale to zero, so choose the size and count",
                )
    if not ctx.target.asynchronous:
        for path, endpoint in endpoints(ctx.root):
            if endpoint.get("async") is not None:
                ctx.report.add(
                    (*path, "async"),
                    "unsupported",
                    "asynchronous endpoint",
                    f"{ctx.target.async_instead}: callers that queued requests and read results from storage must "
                    "call a real-time endpoint or submit batch jobs",
                )
