"""Plan and apply: the desired state against what the emulator holds, like `pulumi preview`/`up`.

A resource is applied whole or not at all: its row (config, status) is written only after its
handler succeeded, so a failure leaves the previous config in place and the next plan shows the
same change again."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mlstack.emulator.boundary import check_resource
from mlstack.emulator.desired import KINDS
from mlstack.emulator.errors import BadRequest, Conflict
from mlstack.emulator.operations import Operation
from mlstack.emulator.resources import HANDLERS, describe_ref, producers, resolve_targets, serving_of

if TYPE_CHECKING:
    from mlstack.emulator.core import Emulator


@dataclass
class Change:
    action: str  # create | update | delete | unchanged
    kind: str
    name: str
    details: list[str] = field(default_factory=list)
    config: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"action": self.action, "kind": self.kind, "name": self.name, "details": self.details}


def changed_fields(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    out = []
    for key in sorted(set(old) | set(new)):
        if old.get(key) == new.get(key):
            continue
        if key == "steps" and isinstance(old.get(key), list) and isinstance(new.get(key), list):
            before = {s["name"]: s for s in old[key]}
            after = {s["name"]: s for s in new[key]}
            names = [n for n in after if before.get(n) != after[n]] + [f"-{n}" for n in before if n not in after]
            out.append(f"steps ({', '.join(names) if names else 'order'})")
        else:
            out.append(key)
    return out


def validate_desired(desired: Any) -> list[dict[str, Any]]:
    if not isinstance(desired, dict) or not isinstance(desired.get("resources"), list):
        raise BadRequest("desired state must be an object with a 'resources' list")
    seen = set()
    for item in desired["resources"]:
        if not isinstance(item, dict) or item.get("kind") not in KINDS or not isinstance(item.get("config"), dict):
            raise BadRequest(f"each resource needs kind (one of {', '.join(KINDS)}), name and config: {item!r:.200}")
        key = (item["kind"], item.get("name"))
        check_resource(item["kind"], item.get("name"), item["config"])
        if key in seen:
            raise BadRequest(f"{key[0]} '{key[1]}' appears twice in the desired state")
        seen.add(key)
    return desired["resources"]


def _endpoint_details(
    core: Emulator, config: dict[str, Any], observed: dict[str, Any], pipelines: list[dict[str, Any]]
) -> tuple[list[str], list[dict[str, str]], bool]:
    """What deploying the endpoint would do: details, pipelines it would run, whether serving changes."""
    details, runs, moves = [], [], False
    serving = serving_of(observed)
    for target in resolve_targets(core, config):
        label = describe_ref(target.ref)
        if target.version is None:
            makers = producers(pipelines, target.ref)
            if makers:
                details.append(f"{label} does not exist yet: runs pipeline {makers[0]} first")
                runs.append({"pipeline": makers[0], "reason": f"endpoint {config['name']} needs {label}"})
            else:
                details.append(f"{label} does not exist and no pipeline registers it")
            moves = True
        elif target.blocked:
            details.append(target.blocked)
        elif serving.get(target.variant) != (target.version.group, target.version.version, target.version.created_at):
            old = serving.get(target.variant)
            if old and old[:2] == (target.version.group, target.version.version):
                details.append(f"{target.variant}: reload {target.version.ref} (replaced in the registry)")
            else:
                details.append(f"{target.variant}: {f'v{old[1]} -> ' if old else ''}{target.version.ref} ({label})")
            moves = True
    return details, runs, moves


def plan(core: Emulator, desired: dict[str, Any]) -> dict[str, Any]:
    resources = validate_desired(desired)
    held = core.platform()
    if held and held != desired.get("platform"):
        raise Conflict(
            f"this state directory holds platform '{held}', not '{desired.get('platform')}'; "
            "run `mlstack down --purge` for it first or give this spec its own target.local.state_dir"
        )
    current = {(r["kind"], r["name"]): r for r in core.resources()}
    pipelines = [r["config"] for r in resources if r["kind"] == "pipeline"]
    changes: list[Change] = []
    runs: list[dict[str, str]] = []
    for item in sorted(resources, key=lambda r: KINDS.index(r["kind"])):
        kind, name, config = item["kind"], item["name"], item["config"]
        row = current.pop((kind, name), None)
        if row is None:
            change = Change("create", kind, name, config=config)
        elif row["config"] != config:
            change = Change("update", kind, name, changed_fields(row["config"], config), config)
        else:
            change = Change("unchanged", kind, name, config=config)
        if kind == "endpoint":
            details, needed, moves = _endpoint_details(core, config, row["observed"] if row else {}, pipelines)
            change.details.extend(details)
            runs.extend(needed)
            if moves and change.action == "unchanged":
                change.action = "update"
        changes.append(change)
    for (kind, name), row in sorted(current.items(), key=lambda kv: -KINDS.index(kv[0][0])):
        changes.append(Change("delete", kind, name, config=row["config"]))
    counts = {a: sum(c.action == a for c in changes) for a in ("create", "update", "delete", "unchanged")}
    return {
        "platform": desired.get("platform"),
        "changes": [c.as_dict() for c in changes],
        "runs": runs,
        "counts": counts,
        "_changes": changes,
    }


def apply(core: Emulator, desired: dict[str, Any], op: Operation) -> dict[str, Any]:
    result = plan(core, desired)
    changes: list[Change] = result.pop("_changes")
    core.set_platform(desired)
    pipelines = core.configs("pipeline")
    for change in changes:
        if change.kind == "endpoint" and change.action == "unchanged":
            # What it serves may have changed under it while earlier resources were applied
            # (a declared version replaced): look again now.
            assert change.config is not None
            _, _, moves = _endpoint_details(core, change.config, core.observed("endpoint", change.name), pipelines)
            change.action = "update" if moves else "unchanged"
        if change.action in ("create", "update"):
            assert change.config is not None
            apply_one(core, change.kind, change.name, change.config, op, verb=change.action)
    for change in (c for c in changes if c.action == "delete"):
        delete_one(core, change.kind, change.name, op)
    result["endpoints"] = core.endpoints()
    return result


def apply_one(
    core: Emulator, kind: str, name: str, config: dict[str, Any], op: Operation | None, verb: str = "apply"
) -> dict[str, Any]:
    if op is not None:
        op.emit(f"{verb} {kind} {name}", level="resource", kind=kind, name=name)
    outcome = HANDLERS[kind].apply(core, name, config, op)
    core.put_resource(kind, name, config, outcome.status, outcome.message, outcome.observed)
    core.audit.record(None, verb, f"{kind} {name}", outcome.message, {"status": outcome.status})
    if op is not None:
        note = (
            f" ({outcome.status}: {outcome.message})"
            if outcome.status != "ready"
            else (f": {outcome.message}" if outcome.message else "")
        )
        op.emit(
            f"{kind} {name} {'created' if verb == 'create' else 'updated'}{note}", level="done", kind=kind, name=name
        )
    return core.resource(kind, name)


def delete_one(core: Emulator, kind: str, name: str, op: Operation | None) -> None:
    row = core.resource(kind, name)
    if op is not None:
        op.emit(f"delete {kind} {name}", level="resource", kind=kind, name=name)
    HANDLERS[kind].delete(core, name, row["config"])
    core.remove_resource(kind, name)
    core.audit.record(None, "delete", f"{kind} {name}")
