"""What applying, deleting and restoring each kind of spec object does inside the emulator."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlstack.emulator.errors import BadRequest
from mlstack.emulator.features import View
from mlstack.emulator.operations import Operation
from mlstack.emulator.registry import NewVersion, Version

if TYPE_CHECKING:
    from mlstack.emulator.core import Emulator


@dataclass
class Outcome:
    status: str = "ready"
    message: str = ""
    observed: dict[str, Any] = field(default_factory=dict)


def describe_ref(ref: dict[str, Any]) -> str:
    return f"{ref['group']}@{ref['alias']}" if ref.get("alias") else f"{ref['group']} v{ref['version']}"


@dataclass(frozen=True)
class Target:
    """One variant of an endpoint and the registry version its model reference names now."""

    variant: str
    ref: dict[str, Any]
    weight: int  # production: share of traffic; shadow: mirrored percent
    version: Version | None
    blocked: str | None  # why that version may not be served, if it may not
    role: str = "production"
    instances: int | None = None  # its own instance count; the endpoint's when None

    @property
    def servable(self) -> bool:
        return self.version is not None and self.blocked is None


def resolve_targets(core: Emulator, config: dict[str, Any]) -> list[Target]:
    targets = []
    variants = [(v, "production") for v in config["variants"]]
    if config.get("shadow"):
        shadow = config["shadow"]
        variants.append(({**shadow, "name": "shadow", "weight": shadow["percent"]}, "shadow"))
    for variant, role in variants:
        ref = variant["model"]
        version = core.registry.resolve(ref["group"], version=ref.get("version"), alias=ref.get("alias"))
        blocked = None
        if version is None:
            blocked = f"{describe_ref(ref)} does not exist yet"
        elif version.approval == "rejected":
            blocked = f"{version.ref} was rejected"
        elif version.approval != "approved" and core.registry.group(ref["group"])["approval"] == "manual":
            blocked = f"{version.ref} waits for approval (mlstack registry approve {version.group} {version.version})"
        elif (policy := core.policy(ref["group"])) is not None:
            blocked = core.promotions.blocked(version, policy)
        count = variant.get("instance_count")
        targets.append(Target(variant["name"], ref, variant["weight"], version, blocked, role, count))
    return targets


def producers(pipelines: list[dict[str, Any]], ref: dict[str, Any]) -> list[str]:
    """Pipelines whose registration would make `ref` name a version: it moves the alias, or (for a
    version number) it registers into the group at all."""
    names = []
    for pipeline in pipelines:
        for step in pipeline["steps"]:
            if step["kind"] != "registration" or step["model_group"] != ref["group"]:
                continue
            if ref.get("alias") is None or ref["alias"] in step.get("aliases", []):
                names.append(pipeline["name"])
                break
    return names


def serving_of(observed: dict[str, Any]) -> dict[str, tuple[str, int, float | None]]:
    """Per variant: the group, version and registration time (a replaced version has a new one)."""
    return {s["variant"]: (s["group"], s["version"], s.get("created_at")) for s in observed.get("serving", [])}


def scheduled(core: Emulator, key: str, cron: str | None, action: Callable[[], object]) -> None:
    """Run `action` on `cron` in the emulator's scheduler, or no longer when there is none."""
    if cron:
        core.scheduler.set(key, cron, action)
    else:
        core.scheduler.remove(key)


class Handler:
    def apply(self, core: Emulator, name: str, config: dict[str, Any], op: Operation | None) -> Outcome:
        return Outcome()

    def delete(self, core: Emulator, name: str, config: dict[str, Any]) -> None:
        return None

    def restore(self, core: Emulator, name: str, config: dict[str, Any], observed: dict[str, Any]) -> None:
        """Bring back runtime state (schedules, loaded models) after the emulator restarts."""
        return None


class ModelGroupHandler(Handler):
    def apply(self, core: Emulator, name: str, config: dict[str, Any], op: Operation | None) -> Outcome:
        core.registry.put_group(name, config["approval"], config.get("description", ""), config.get("tags", {}))
        return Outcome()

    def delete(self, core: Emulator, name: str, config: dict[str, Any]) -> None:
        core.registry.delete_group(name)


class ModelVersionHandler(Handler):
    """A version declared in the spec: its artifact is copied into the registry; a changed artifact
    or framework replaces the version, changed approval or aliases are set in place."""

    def apply(self, core: Emulator, name: str, config: dict[str, Any], op: Operation | None) -> Outcome:
        group, number = config["group"], config["version"]
        existing = core.registry.resolve(group, version=number)
        same = existing is not None and (existing.source, existing.framework, existing.entrypoint) == (
            "spec",
            config["framework"],
            config.get("entrypoint"),
        )
        if existing is not None and same and existing.lineage.get("sha256") == config.get("sha256"):
            core.registry.set_approval(group, number, config["approval"])
            for alias in config["aliases"]:
                core.registry.set_alias(group, alias, number)
            return Outcome(message=existing.ref)
        if existing is not None and existing.source != "spec":
            raise BadRequest(
                f"{existing.ref} already exists, registered by {existing.source}; declare another version number"
            )
        if existing is not None:
            core.registry.delete_version(group, number)
        new = NewVersion(
            artifact=Path(config["artifact"]),
            framework=config["framework"],
            entrypoint=config.get("entrypoint"),
            metrics=config.get("metrics", {}),
            lineage={"sha256": config.get("sha256"), "artifact_source": config["artifact"]},
            source="spec",
            approval=config["approval"],
            aliases=config["aliases"],
        )
        version = core.registry.register_now(group, new, version=number)
        return Outcome(message=version.ref)

    def delete(self, core: Emulator, name: str, config: dict[str, Any]) -> None:
        if core.registry.resolve(config["group"], version=config["version"]) is not None:
            core.registry.delete_version(config["group"], config["version"])


class FeatureViewHandler(Handler):
    def apply(self, core: Emulator, name: str, config: dict[str, Any], op: Operation | None) -> Outcome:
        view = View.from_config(config)
        core.features.forget()
        if view.online:
            recreated = core.features.online.ensure_table(view)
            message = "online table created" if recreated else ""
        else:
            core.features.online.drop(name)
            message = "offline only"
        self.restore(core, name, config, {})
        return Outcome(message=message)

    def delete(self, core: Emulator, name: str, config: dict[str, Any]) -> None:
        core.scheduler.remove(f"feature_view/{name}")
        core.features.online.drop(name)
        core.features.forget()

    def restore(self, core: Emulator, name: str, config: dict[str, Any], observed: dict[str, Any]) -> None:
        if config.get("sync_schedule") and config.get("online", True):
            core.scheduler.set(
                f"feature_view/{name}", config["sync_schedule"], lambda: core.start_materialization(name, "schedule")
            )
        else:
            core.scheduler.remove(f"feature_view/{name}")


class PipelineHandler(Handler):
    def apply(self, core: Emulator, name: str, config: dict[str, Any], op: Operation | None) -> Outcome:
        self.restore(core, name, config, {})
        if config.get("schedule") and config.get("paused"):
            return Outcome(message=f"schedule {config['schedule']} (UTC) paused: development mode")
        return Outcome(message=f"scheduled {config['schedule']} (UTC)" if config.get("schedule") else "")

    def delete(self, core: Emulator, name: str, config: dict[str, Any]) -> None:
        core.scheduler.remove(f"pipeline/{name}")

    def restore(self, core: Emulator, name: str, config: dict[str, Any], observed: dict[str, Any]) -> None:
        schedule = None if config.get("paused") else config.get("schedule")  # paused: development mode
        scheduled(core, f"pipeline/{name}", schedule, lambda: core.start_run(name, "schedule"))


class EndpointHandler(Handler):
    def apply(self, core: Emulator, name: str, config: dict[str, Any], op: Operation | None) -> Outcome:
        targets = resolve_targets(core, config)
        missing = [t for t in targets if t.version is None]
        if missing and op is not None:
            # Run the pipelines that produce what the endpoint needs, then look again.
            pipelines = core.configs("pipeline")
            for target in missing:
                makers = producers(pipelines, target.ref)
                if not makers:
                    raise BadRequest(
                        f"endpoint {name}: {describe_ref(target.ref)} does not exist and no pipeline registers it"
                    )
                op.emit(f"endpoint {name} needs {describe_ref(target.ref)}: running pipeline {makers[0]}")
                run = core.run_pipeline_now(makers[0], f"endpoint:{name}", op)
                if run["status"] != "succeeded":
                    raise BadRequest(f"endpoint {name} needs {describe_ref(target.ref)}: {run['message']}")
            targets = resolve_targets(core, config)
        return self._deploy(core, name, config, targets)

    def _deploy(self, core: Emulator, name: str, config: dict[str, Any], targets: list[Target]) -> Outcome:
        blocked = [t.blocked for t in targets if not t.servable]
        current = core.serving.serving(name)
        if blocked:
            fleets = current.routing.fleets() if current else []
            keeps = f"; still serving {', '.join(f.version.ref for f in fleets)}" if current else ""
            observed = core.observed("endpoint", name) if current else {}
            return Outcome(status="waiting", message="; ".join(b for b in blocked if b) + keeps, observed=observed)
        return core.rollouts.deploy(name, config, targets)

    def redeploy(self, core: Emulator, name: str, config: dict[str, Any]) -> Outcome:
        """Re-resolve the endpoint's models without running pipelines (after approval, deployment steps)."""
        return self._deploy(core, name, config, resolve_targets(core, config))

    def delete(self, core: Emulator, name: str, config: dict[str, Any]) -> None:
        core.rollouts.remove(name)

    def restore(self, core: Emulator, name: str, config: dict[str, Any], observed: dict[str, Any]) -> None:
        core.rollouts.restore(name, config, observed)


class MonitorHandler(Handler):
    """Monitors run on their cron schedule inside the emulator (and on demand): `monitors.py`."""

    def apply(self, core: Emulator, name: str, config: dict[str, Any], op: Operation | None) -> Outcome:
        self.restore(core, name, config, {})
        watched = f"batch job {config['batch_job']}" if config.get("batch_job") else f"endpoint {config['endpoint']}"
        if config.get("paused"):
            return Outcome(
                message=f"schedule {config['schedule']} (UTC) paused: development mode (mlstack monitor run)"
            )
        return Outcome(message=f"scheduled {config['schedule']} (UTC) on {watched}")

    def delete(self, core: Emulator, name: str, config: dict[str, Any]) -> None:
        core.scheduler.remove(f"monitor/{name}")

    def restore(self, core: Emulator, name: str, config: dict[str, Any], observed: dict[str, Any]) -> None:
        if config.get("paused"):
            core.scheduler.remove(f"monitor/{name}")
        else:
            core.scheduler.set(f"monitor/{name}", config["schedule"], lambda: core.monitors.start(name, "schedule"))


class BatchJobHandler(Handler):
    """Batch jobs run on demand (`mlstack batch run`) and on their cron schedule: `batch.py`."""

    def apply(self, core: Emulator, name: str, config: dict[str, Any], op: Operation | None) -> Outcome:
        self.restore(core, name, config, {})
        return Outcome(message=f"scheduled {config['schedule']} (UTC)" if config.get("schedule") else "on demand")

    def delete(self, core: Emulator, name: str, config: dict[str, Any]) -> None:
        core.scheduler.remove(f"batch_job/{name}")

    def restore(self, core: Emulator, name: str, config: dict[str, Any], observed: dict[str, Any]) -> None:
        scheduled(core, f"batch_job/{name}", config.get("schedule"), lambda: core.batch.start(name, "schedule"))


ENDPOINTS = EndpointHandler()
HANDLERS: dict[str, Handler] = {
    "model_group": ModelGroupHandler(),
    "model_version": ModelVersionHandler(),
    "entity": Handler(),
    "feature_view": FeatureViewHandler(),
    "pipeline": PipelineHandler(),
    "endpoint": ENDPOINTS,
    "monitor": MonitorHandler(),
    "batch_job": BatchJobHandler(),
}
