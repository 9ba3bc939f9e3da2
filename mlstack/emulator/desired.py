"""A spec as the emulator's desired state: resources (kind, name, config) in apply order.

Everything the emulator needs is decided here, on the client: paths are made absolute (they are
relative to the spec file), endpoints get their serving variants, feature views carry their
entity's join keys. Files a resource needs must exist and be local: mlstack.backends.local_checks
reports every missing one at once, located in the spec, before anything is applied (the same check
`mlstack validate --target local` runs)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mlstack.backends.local_checks import file_problems, is_file_entrypoint, local_path, model_file
from mlstack.emulator.pipelines.lineage import file_sha256
from mlstack.errors import SpecInvalid
from mlstack.resolve import Resolved, Variant
from mlstack.resolve.pipelines import graph
from mlstack.runtime.contract import CODE_KINDS
from mlstack.spec import LoadedSpec
from mlstack.spec.models import BatchJob, Endpoint, Pipeline, Spec

# Apply order: what a resource refers to comes first. Deletes run in reverse.
KINDS = ("model_group", "model_version", "entity", "feature_view", "pipeline", "endpoint", "batch_job", "monitor")


def _prune(value: Any) -> Any:
    """Without null fields: Pulumi drops them from inputs, so both routes send the same config."""
    if isinstance(value, dict):
        return {k: _prune(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_prune(v) for v in value]
    return value


def resource(kind: str, name: str, config: dict[str, Any]) -> dict[str, Any]:
    return {"kind": kind, "name": name, "config": _prune(config)}


def names_of(item: dict[str, Any]) -> tuple[str, ...]:
    """What other objects' configs may call this one: its name, and what it makes versions of. An
    endpoint deploying a group's alias or version refers to whichever version holds it: a declared
    version of that group, or one a pipeline registering in that group makes when it is applied."""
    config = item["config"]
    if item["kind"] == "model_version":
        return item["name"], config["group"]
    if item["kind"] == "pipeline":
        return item["name"], *dict.fromkeys(s["model_group"] for s in config["steps"] if s.get("model_group"))
    return (item["name"],)


def version_name(group: str, version: int) -> str:
    return f"{group}:v{version}"


class _Builder:
    def __init__(self, loaded: LoadedSpec, check_files: bool) -> None:
        self.loaded = loaded
        self.check_files = check_files
        self.spec: Spec = loaded.spec
        self.resolved = Resolved(loaded)
        self.base = loaded.path.resolve().parent

    def local_file(self, value: str) -> str:
        return local_path(self.base, value)

    def build(self) -> dict[str, Any]:
        if self.check_files and (problems := file_problems(self.loaded)):
            raise SpecInvalid([self.loaded.doc.error(path, message) for path, message in problems])
        resources = [
            *self.registry(),
            *self.feature_store(),
            *(self.pipeline(p) for p in self.spec.pipelines),
            *(self.endpoint(e) for e in self.spec.endpoints),
            *(self.batch_job(b) for b in self.spec.batch_jobs),
            *self.monitors(),
        ]
        return {
            "platform": self.spec.name,
            "spec_file": str(self.loaded.path.resolve()),
            "environment": self.loaded.environment,
            "resources": resources,
        }

    def registry(self) -> Iterator[dict[str, Any]]:
        for group in self.spec.registry.model_groups:
            config: dict[str, Any] = {
                "name": group.name,
                "approval": group.approval,
                "description": group.description,
                "tags": group.tags,
            }
            for field in ("intended_use", "limitations"):  # for model cards; absent when unset, as before
                if getattr(group, field):
                    config[field] = getattr(group, field)
            if (promotion := self.spec.registry.promotion_of(group)) is not None:
                stage = promotion.stage_of(self.loaded.environment)
                config["promotion"] = {**promotion.model_dump(mode="json"), "stage": stage}
            yield resource("model_group", group.name, config)
            for version in group.versions:
                config = version.model_dump(mode="json")
                config["artifact"] = self.local_file(model_file(version.artifact))
                # A changed file is a changed version: the plan shows it and the registry replaces it.
                artifact = Path(config["artifact"])
                config["sha256"] = file_sha256(artifact) if artifact.is_file() else None
                config["group"] = group.name
                yield resource("model_version", version_name(group.name, version.version), config)

    def feature_store(self) -> Iterator[dict[str, Any]]:
        store = self.spec.feature_store
        for entity in store.entities:
            yield resource("entity", entity.name, entity.model_dump(mode="json"))
        for view in store.views:
            config = view.model_dump(mode="json")
            config["ttl"] = view.ttl
            config["source"]["uri"] = self.local_file(view.source.uri)
            entity = self.resolved.entity_of(view)
            config["join_keys"] = [k.model_dump(mode="json") for k in entity.join_keys]
            yield resource("feature_view", view.name, config)

    def pipeline(self, pipeline: Pipeline) -> dict[str, Any]:
        config = pipeline.model_dump(mode="json")
        config["workdir"] = str(self.base)
        if pipeline.data is not None:
            config["data"] = self.local_file(pipeline.data)
        deps = graph(pipeline)
        for step, out in zip(pipeline.steps, config["steps"], strict=True):
            out["depends_on"] = deps[step.name]
            out["timeout"] = step.timeout
            if step.kind in CODE_KINDS and step.entrypoint and is_file_entrypoint(step.entrypoint):
                out["entrypoint"] = self.local_file(step.entrypoint)
        if self.resolved.development:  # a developer's copy runs when asked
            config["paused"] = True
        return resource("pipeline", pipeline.name, config)

    def endpoint(self, endpoint: Endpoint) -> dict[str, Any]:
        config = endpoint.model_dump(mode="json", include={"name", "instance_count", "autoscaling", "strategy", "tags"})
        if endpoint.compute is not None:
            # The profile itself, not its name: a changed profile is a new fleet, rolled out like a new model.
            compute = endpoint.compute
            profile = self.spec.compute[compute] if isinstance(compute, str) else compute
            config["compute"] = profile.model_dump(mode="json")
        plan = self.resolved.endpoint_plan(endpoint)

        def own(variant: Variant) -> dict[str, Any]:
            count = variant.instance_count if variant.instance_count != endpoint.instance_count else None
            return {"name": variant.name, "model": variant.model.model_dump(mode="json"), "instance_count": count}

        config["variants"] = [{**own(v), "weight": v.weight} for v in plan.production]
        shadow = plan.shadow
        config["shadow"] = {**own(shadow), "percent": shadow.weight} if shadow else None
        capture = endpoint.data_capture
        config["capture_percent"] = capture.sampling_percent if endpoint.captures and capture else 0
        if endpoint.serverless:
            config["idle_timeout"] = endpoint.serverless.idle_timeout
        if queued := endpoint.async_inference:
            failures = queued.failures and self.local_file(queued.failures)
            config["async"] = {"output": self.local_file(queued.output), "failures": failures}
        return resource("endpoint", endpoint.name, config)

    def batch_job(self, job: BatchJob) -> dict[str, Any]:
        config = job.model_dump(mode="json", exclude={"compute", "data_capture"})
        config["input"] = {
            **config["input"],
            **{k: self.local_file(v) for k, v in config["input"].items() if k in ("uri", "entities") and v},
        }
        config["output"] = self.local_file(job.output)
        capture = job.data_capture
        config["capture_percent"] = capture.sampling_percent if job.captures and capture else 0
        return resource("batch_job", job.name, config)

    def monitors(self) -> Iterator[dict[str, Any]]:
        for monitor in self.spec.monitors:
            config = monitor.model_dump(mode="json")
            if monitor.baseline is not None:
                config["baseline"] = self.local_file(monitor.baseline)
            if self.resolved.development:
                config["paused"] = True
            yield resource("monitor", monitor.name, config)


def build(loaded: LoadedSpec, check_files: bool = True) -> dict[str, Any]:
    """The desired state of a loaded spec, or SpecInvalid listing every local file that is missing
    or remote. `check_files=False` (an offline plan) takes the paths as written; whatever is
    missing then fails when the emulator uses it."""
    return _Builder(loaded, check_files).build()
