"""What changed between two specs, component by component, in the spec's own words:
"endpoint fraud-scorer: canary 10% → 25%; compute ml.g5.xlarge → ml.g5.2xlarge", "monitor x removed",
"endpoint a renamed to b". Compute is compared as the SKU it resolves to, models as the version served."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlstack.resolve import Resolved
from mlstack.resolve.batch import BatchJobPlan
from mlstack.review.values import MISSING, diff, show

# Component kinds as the backends name their `mlstack:<kind>:<Kind>` components, in report order.
KINDS = (
    "spec",
    "target",
    "compute",
    "registry",
    "entity",
    "feature_view",
    "pipeline",
    "endpoint",
    "batch_job",
    "monitor",
)
NOUNS = {
    "spec": "spec",
    "target": "target",
    "compute": "compute profile",
    "registry": "model group",
    "entity": "entity",
    "feature_view": "feature view",
    "pipeline": "pipeline",
    "endpoint": "endpoint",
    "batch_job": "batch job",
    "monitor": "monitor",
    "environment": "environment",
    "platform": "platform",
    "model_version": "model version",
}
# Component kinds a backend may use for what the summary calls otherwise (the local emulator's words).
SAME_KIND = {"model_group": "registry"}
_HEADLINE = {"canary": ("percent",), "linear": ("step_percent",), "shadow": ("percent", "challenger"), "ab": ()}


@dataclass(frozen=True)
class ComponentChange:
    kind: str
    name: str  # the name on the head side (the base side's when removed)
    action: str  # added | removed | renamed | changed
    changes: tuple[str, ...] = ()
    renamed_from: str | None = None

    @property
    def label(self) -> str:
        noun = NOUNS.get(self.kind, self.kind)
        if self.renamed_from:
            return f"{noun} {self.renamed_from} → {self.name}"
        return f"{noun} {self.name}".rstrip()

    @property
    def details(self) -> tuple[str, ...]:
        """What happened, without the component's name."""
        if self.action == "changed":
            return self.changes
        return (f"renamed from {self.renamed_from}",) if self.renamed_from else (self.action,)

    @property
    def line(self) -> str:
        noun = NOUNS.get(self.kind, self.kind)
        if self.action == "renamed":
            return f"{noun} {self.renamed_from} renamed to {self.name}"
        if self.action in ("added", "removed"):
            return " ".join(part for part in (noun, self.name, self.action) if part)
        return f"{self.label}: {'; '.join(self.changes)}"


# --- what each side looks like, per component -----------------------------------------------------


def _identity(items: list[Any]) -> str | None:
    for key in ("name", "version"):
        if items and all(isinstance(i, dict) and key in i for i in items):
            return key
    return None


def _model(ref: dict[str, Any] | None) -> str | None:
    if ref is None:
        return None
    return f"{ref['group']}@{ref['alias']}" if ref.get("alias") else f"{ref['group']}:v{ref['version']}"


def _endpoint(resolved: Resolved, endpoint: Any) -> dict[str, Any]:
    """The endpoint as compared: compute and models moved per variant into `_served`, with the SKU and
    model version each resolves to."""
    data = endpoint.model_dump(mode="json")
    strategy = data["strategy"]
    default = data.pop("compute")
    declared = {"primary": (default, _model(data.pop("model")))}
    if strategy["type"] == "shadow":
        strategy["challenger"] = _model(strategy["challenger"])
        declared["shadow"] = (strategy.pop("compute") or default, strategy["challenger"])
    if strategy["type"] == "ab":
        declared = {v["name"]: (v.pop("compute") or default, _model(v.pop("model"))) for v in strategy["variants"]}
    capture = data.pop("data_capture") or {}
    data["data_capture"] = {
        "state": f"{capture['sampling_percent']}%" if endpoint.captures else "off",
        "destination": capture.get("destination"),
    }
    data["_served"] = {
        v.name: {
            "compute": declared[v.name][0],
            "sku": v.sku.sku if v.sku else "serverless",
            "model": declared[v.name][1],
            "version": v.version.version if v.version else None,
        }
        for v in resolved.endpoint_plan(endpoint).variants
    }
    return data


def _batch_job(plan: BatchJobPlan) -> dict[str, Any]:
    data = plan.job.model_dump(mode="json")
    data["model"] = _model(data["model"])
    data["_served"] = {"job": {"sku": plan.sku.sku, "version": plan.version.version if plan.version else None}}
    return data


def _pipeline(resolved: Resolved, pipeline: Any) -> dict[str, Any]:
    data = pipeline.model_dump(mode="json")
    default = data.pop("compute")
    served = {}
    for step in data["steps"]:
        sku = resolved.step_sku(pipeline.name, step["name"])
        served[f"steps[{step['name']}]"] = {"compute": step.pop("compute") or default, "sku": sku.sku if sku else None}
    data["_served"] = served
    return data


def _objects(resolved: Resolved | None, env: str | None) -> dict[str, dict[str, dict[str, Any]]]:
    if resolved is None:
        return {}
    spec = resolved.spec
    dump = spec.model_dump(mode="json")
    target = dump["target"]
    cloud_settings = target.get(resolved.cloud) or {}
    return {
        "spec": {
            "": {
                "name": spec.name,
                **{k: dump[k] for k in ("owner", "description", "tags")},
                "registry.shared": spec.registry.shared,
                "feature_store.online_store": spec.feature_store.online_store,
            }
        },
        "target": {
            "": {
                "cloud": resolved.cloud,
                "region": resolved.region,
                "kms_key": resolved.kms_key,
                "network": target["network"],
                **{f"{resolved.cloud}.{k}": v for k, v in cloud_settings.items() if k not in ("region", "kms_key")},
            }
        },
        "compute": {name: profile for name, profile in dump["compute"].items()},
        "registry": {g["name"]: g for g in dump["registry"]["model_groups"]},
        "entity": {e["name"]: e for e in dump["feature_store"]["entities"]},
        "feature_view": {v["name"]: v for v in dump["feature_store"]["views"]},
        "pipeline": {p.name: _pipeline(resolved, p) for p in spec.pipelines},
        "endpoint": {e.name: _endpoint(resolved, e) for e in spec.endpoints},
        "batch_job": {b.name: _batch_job(b) for b in resolved.batch_jobs},
        "monitor": {m["name"]: m for m in dump["monitors"]},
        "environment": {name: e for name, e in dump["environments"].items() if name != env},
    }


# --- phrases --------------------------------------------------------------------------------------


def _strategy_headline(strategy: dict[str, Any]) -> str:
    kind = strategy["type"]
    if kind == "canary":
        return f"{strategy['percent']}%"
    if kind == "linear":
        return f"{strategy['step_percent']}% steps"
    if kind == "shadow":
        return f"{strategy['percent']}% mirrored to {strategy['challenger']}"
    if kind == "ab":
        return " / ".join(f"{v['name']} {v['weight']}%" for v in strategy["variants"])
    return ""


def _strategy_name(strategy: dict[str, Any]) -> str:
    return f"{strategy['type']} {_strategy_headline(strategy)}".strip()


def _strategy_phrases(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    kind = new["type"]
    if old["type"] != kind:
        return [f"strategy {_strategy_name(old)} → {_strategy_name(new)}"]
    phrases = []
    if _strategy_headline(old) != _strategy_headline(new):
        phrases.append(f"{kind} {_strategy_headline(old)} → {_strategy_headline(new)}")
    rest_old, rest_new = _strategy_rest(old), _strategy_rest(new)
    changes = diff(rest_old, rest_new, identity=_identity, whole_lists=True)
    phrases += [_phrase(c.path, c.old, c.new, prefix=kind) for c in changes]
    return phrases


def _strategy_rest(strategy: dict[str, Any]) -> dict[str, Any]:
    """A strategy without what its headline already says."""
    rest = {k: v for k, v in strategy.items() if k != "type" and k not in _HEADLINE.get(strategy["type"], ())}
    if strategy["type"] == "ab":
        rest["variants"] = {
            v["name"]: {k: x for k, x in v.items() if k not in ("name", "weight")} for v in rest["variants"]
        }
    return rest


def _phrase(path: str, old: Any, new: Any, prefix: str = "") -> str:
    where = f"{prefix}.{path}" if prefix and path else prefix or path
    if old is MISSING:
        return f"{where} added ({show(new, 80)})" if isinstance(new, dict) else f"{where} {show(None)} → {show(new)}"
    if new is MISSING:
        return f"{where} removed ({show(old, 80)})" if isinstance(old, dict) else f"{where} {show(old)} → {show(None)}"
    return f"{where} {show(old)} → {show(new)}"


def _served_phrases(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    phrases = []
    for name in sorted(set(old) & set(new)):
        before, after = old[name], new[name]
        prefix = "" if name == "primary" else f"{name} "
        if before["sku"] != after["sku"]:
            phrases.append(f"{prefix}compute {before['sku']} → {after['sku']}")
        elif before["compute"] != after["compute"]:
            phrases.append(
                f"{prefix}compute {show(before['compute'])} → {show(after['compute'])} (same SKU {after['sku']})"
            )
        if before.get("model") != after.get("model") and name != "shadow":  # the shadow's is in its headline
            phrases.append(f"{prefix}model {show(before.get('model'))} → {show(after.get('model'))}")
        elif before.get("version") != after.get("version"):
            phrases.append(
                f"{prefix}model {after.get('model')} serves version {show(after.get('version'))} "
                f"(was {show(before.get('version'))})"
            )
    return phrases


def _changes(kind: str, old: dict[str, Any], new: dict[str, Any]) -> tuple[str, ...]:
    old, new = dict(old), dict(new)
    phrases: list[str] = []
    if kind == "endpoint":
        phrases += _strategy_phrases(old.pop("strategy"), new.pop("strategy"))
    if "_served" in old:
        phrases += _served_phrases(old.pop("_served"), new.pop("_served"))
    if kind == "endpoint":
        capture_old, capture_new = old.pop("data_capture"), new.pop("data_capture")
        if capture_old["state"] != capture_new["state"]:
            phrases.append(f"data capture {capture_old['state']} → {capture_new['state']}")
        if capture_old["destination"] != capture_new["destination"]:
            phrases.append(_phrase("data_capture.destination", capture_old["destination"], capture_new["destination"]))
    phrases += [_phrase(c.path, c.old, c.new) for c in diff(old, new, identity=_identity, whole_lists=True)]
    return tuple(phrases)


def _without_name(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k != "name"}


def summarise(base: Resolved | None, head: Resolved | None, env: str | None = None) -> list[ComponentChange]:
    """Component changes, sorted by kind (spec order) and name; renames are detected as a removed and an
    added object of one kind whose content is the same apart from the name."""
    before, after = _objects(base, env), _objects(head, env)
    out: list[ComponentChange] = []
    for kind in (*KINDS, "environment"):
        old, new = before.get(kind, {}), after.get(kind, {})
        removed = sorted(set(old) - set(new))
        added = sorted(set(new) - set(old))
        for name in list(removed):
            twin = next((a for a in added if _without_name(old[name]) == _without_name(new[a])), None)
            if twin is not None:
                removed.remove(name)
                added.remove(twin)
                out.append(ComponentChange(kind, twin, "renamed", renamed_from=name))
        out += [ComponentChange(kind, name, "removed") for name in removed]
        out += [ComponentChange(kind, name, "added") for name in added]
        for name in sorted(set(old) & set(new)):
            changes = _changes(kind, old[name], new[name])
            if changes:
                out.append(ComponentChange(kind, name, "changed", changes))
    order = {kind: i for i, kind in enumerate((*KINDS, "environment"))}
    return sorted(out, key=lambda c: (order[c.kind], c.name, c.renamed_from or ""))
