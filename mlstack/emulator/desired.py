"""A spec as the emulator's desired state: resources (kind, name, config) in apply order.

Everything the emulator needs is decided here, on the client: paths are made absolute (they are
relative to the spec file), endpoints get their serving variants, feature views carry their
entity's join keys. Files a resource needs must exist and be local; every problem is reported at
once, located in the spec, before anything is applied."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mlstack.emulator.pipelines.lineage import file_sha256
from mlstack.errors import Path as SpecPath
from mlstack.errors import SpecError, SpecInvalid
from mlstack.runtime.contract import MODEL_FILE
from mlstack.spec import LoadedSpec
from mlstack.spec.models import AB, STEPS_WITH_CODE, Endpoint, Pipeline, Shadow, Spec

# Apply order: what a resource refers to comes first. Deletes run in reverse.
KINDS = ("model_group", "model_version", "entity", "feature_view", "pipeline", "endpoint", "monitor")
REMOTE = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)
PRIMARY_VARIANT = "primary"


def _prune(value: Any) -> Any:
    """Without null fields: Pulumi drops them from inputs, so both routes send the same config."""
    if isinstance(value, dict):
        return {k: _prune(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_prune(v) for v in value]
    return value


def resource(kind: str, name: str, config: dict[str, Any]) -> dict[str, Any]:
    return {"kind": kind, "name": name, "config": _prune(config)}


def version_name(group: str, version: int) -> str:
    return f"{group}:v{version}"


class _Builder:
    def __init__(self, loaded: LoadedSpec, check_files: bool) -> None:
        self.loaded = loaded
        self.check_files = check_files
        self.spec: Spec = loaded.spec
        self.base = loaded.path.resolve().parent
        self.problems: list[SpecError] = []

    def local_file(self, value: str, path: SpecPath, what: str, *, directory_ok: bool = False) -> str:
        """An existing local file named relative to the spec, as an absolute path."""
        if not self.check_files:
            return value if REMOTE.match(value) else str((self.base / Path(value).expanduser()).resolve())
        if REMOTE.match(value):
            self.problem(path, f"{what} '{value}' is remote; the local target reads local files only")
            return value
        resolved = (self.base / Path(value).expanduser()).resolve()
        if not resolved.exists() or (resolved.is_dir() and not directory_ok):
            self.problem(path, f"{what} {value} does not exist (looked for {resolved})")
        return str(resolved)

    def problem(self, path: SpecPath, message: str) -> None:
        self.problems.append(self.loaded.doc.error(path, message))

    def build(self) -> dict[str, Any]:
        resources = [
            *self.registry(),
            *self.feature_store(),
            *(self.pipeline(i, p) for i, p in enumerate(self.spec.pipelines)),
            *(self.endpoint(e) for e in self.spec.endpoints),
            *self.monitors(),
        ]
        if self.problems:
            raise SpecInvalid(self.problems)
        return {
            "platform": self.spec.name,
            "spec_file": str(self.loaded.path.resolve()),
            "environment": self.loaded.environment,
            "resources": resources,
        }

    def registry(self) -> Iterator[dict[str, Any]]:
        for gi, group in enumerate(self.spec.registry.model_groups):
            yield resource(
                "model_group",
                group.name,
                {"name": group.name, "approval": group.approval, "description": group.description, "tags": group.tags},
            )
            for vi, version in enumerate(group.versions):
                config = version.model_dump(mode="json")
                path = ("registry", "model_groups", gi, "versions", vi, "artifact")
                # a folder is a model folder as a training step leaves it: its model.joblib (the step contract)
                artifact_file = version.artifact + MODEL_FILE if version.artifact.endswith("/") else version.artifact
                config["artifact"] = self.local_file(artifact_file, path, "model artifact")
                # A changed file is a changed version: the plan shows it and the registry replaces it.
                artifact = Path(config["artifact"])
                config["sha256"] = file_sha256(artifact) if artifact.is_file() else None
                config["group"] = group.name
                yield resource("model_version", version_name(group.name, version.version), config)

    def feature_store(self) -> Iterator[dict[str, Any]]:
        store = self.spec.feature_store
        entities = {e.name: e for e in store.entities}
        for entity in store.entities:
            yield resource("entity", entity.name, entity.model_dump(mode="json"))
        for vi, view in enumerate(store.views):
            config = view.model_dump(mode="json")
            config["ttl"] = view.ttl
            config["source"]["uri"] = self.local_file(
                view.source.uri, ("feature_store", "views", vi, "source", "uri"), "feature source", directory_ok=True
            )
            entity = entities.get(view.entity)
            config["join_keys"] = [k.model_dump(mode="json") for k in entity.join_keys] if entity else []
            yield resource("feature_view", view.name, config)

    def pipeline(self, index: int, pipeline: Pipeline) -> dict[str, Any]:
        config = pipeline.model_dump(mode="json")
        config["workdir"] = str(self.base)
        if pipeline.data is not None:
            config["data"] = self.local_file(pipeline.data, ("pipelines", index, "data"), "data file")
        if pipeline.feature_views and pipeline.data is None and self.check_files:
            self.problem(
                ("pipelines", index, "feature_views"),
                "a pipeline with feature_views needs data: the entity rows (join keys, event_timestamp, labels) "
                "the training set is built from",
            )
        previous: str | None = None
        for si, (step, out) in enumerate(zip(pipeline.steps, config["steps"], strict=True)):
            out["depends_on"] = step.depends_on if step.depends_on is not None else ([previous] if previous else [])
            out["timeout"] = step.timeout
            if step.kind in STEPS_WITH_CODE and step.entrypoint and _is_file(step.entrypoint):
                path = ("pipelines", index, "steps", si, "entrypoint")
                out["entrypoint"] = self.local_file(step.entrypoint, path, "step entrypoint")
            previous = step.name
        return resource("pipeline", pipeline.name, config)

    def endpoint(self, endpoint: Endpoint) -> dict[str, Any]:
        config = endpoint.model_dump(mode="json", include={"name", "instance_count", "autoscaling", "strategy", "tags"})
        if endpoint.compute is not None:
            # The profile itself, not its name: a changed profile is a new fleet, rolled out like a new model.
            compute = endpoint.compute
            profile = self.spec.compute[compute] if isinstance(compute, str) else compute
            config["compute"] = profile.model_dump(mode="json")
        strategy = endpoint.strategy
        if isinstance(strategy, AB):
            variants = [
                {"name": v.name, "model": v.model.model_dump(mode="json"), "weight": v.weight}
                for v in strategy.variants
            ]
        else:
            assert endpoint.model is not None  # the spec requires it for every other strategy
            variants = [{"name": PRIMARY_VARIANT, "model": endpoint.model.model_dump(mode="json"), "weight": 100}]
        config["variants"] = variants
        config["shadow"] = (
            {"model": strategy.challenger.model_dump(mode="json"), "percent": strategy.percent}
            if isinstance(strategy, Shadow)
            else None
        )
        capture = endpoint.data_capture
        config["capture_percent"] = capture.sampling_percent if endpoint.captures and capture else 0
        return resource("endpoint", endpoint.name, config)

    def monitors(self) -> Iterator[dict[str, Any]]:
        for mi, monitor in enumerate(self.spec.monitors):
            config = monitor.model_dump(mode="json")
            if monitor.baseline is not None:
                config["baseline"] = self.local_file(
                    monitor.baseline, ("monitors", mi, "baseline"), "baseline dataset", directory_ok=True
                )
            yield resource("monitor", monitor.name, config)


def _is_file(entrypoint: str) -> bool:
    """`train.py` or `jobs/train.py` is a file; `package.module:function` is not."""
    return entrypoint.endswith(".py") or "/" in entrypoint or ":" not in entrypoint


def build(loaded: LoadedSpec, check_files: bool = True) -> dict[str, Any]:
    """The desired state of a loaded spec, or SpecInvalid listing every local file that is missing
    or remote. `check_files=False` (an offline plan) takes the paths as written; whatever is
    missing then fails when the emulator uses it."""
    return _Builder(loaded, check_files).build()
