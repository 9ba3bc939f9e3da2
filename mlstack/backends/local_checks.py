"""What the local target needs beyond the spec rules, found before anything is applied: the files the
spec names exist here and are local (model artifacts, feature sources, pipeline data, step code,
monitor baselines). `mlstack validate --target local` reports them located, and `mlstack up` builds its
desired state (mlstack.emulator.desired) only after the same check. Planning reads no files, so
`problems` has nothing beyond the rules. No Pulumi is imported here."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path as FsPath

from mlstack.backends import serving_images
from mlstack.errors import Path
from mlstack.resolve import Resolved
from mlstack.runtime.contract import CODE_KINDS, MODEL_FILE
from mlstack.spec import LoadedSpec
from mlstack.targets.local import IN_PROCESS, INSTEAD

Problem = tuple[Path, str]
REMOTE = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)


def local_path(base: FsPath, value: str) -> str:
    """A location named relative to the spec file, absolute; remote URIs as written."""
    return value if REMOTE.match(value) else str((base / FsPath(value).expanduser()).resolve())


def file_problem(base: FsPath, value: str, what: str, *, directory_ok: bool = False) -> str | None:
    if REMOTE.match(value):
        return f"{what} '{value}' is remote; the local target reads local files only"
    found = FsPath(local_path(base, value))
    if not found.exists() or (found.is_dir() and not directory_ok):
        return f"{what} {value} does not exist (looked for {found})"
    return None


def is_file_entrypoint(entrypoint: str) -> bool:
    """`train.py` or `jobs/train.py` is a file; `package.module:function` is not."""
    return entrypoint.endswith(".py") or "/" in entrypoint or ":" not in entrypoint


def model_file(artifact: str) -> str:
    """A folder artifact is a model folder as a training step leaves it: its model file (the step contract)."""
    return artifact + MODEL_FILE if artifact.endswith("/") else artifact


def _files(loaded: LoadedSpec) -> Iterator[tuple[Path, str, str, bool]]:
    """(spec path, value, what, directory_ok) of every local file the emulator reads."""
    spec = loaded.spec
    for gi, group in enumerate(spec.registry.model_groups):
        for vi, version in enumerate(group.versions):
            yield (
                ("registry", "model_groups", gi, "versions", vi, "artifact"),
                model_file(version.artifact),
                "model artifact",
                False,
            )
    for vi, view in enumerate(spec.feature_store.views):
        yield ("feature_store", "views", vi, "source", "uri"), view.source.uri, "feature source", True
    for pi, pipeline in enumerate(spec.pipelines):
        if pipeline.data is not None:
            yield ("pipelines", pi, "data"), pipeline.data, "data file", False
        for si, step in enumerate(pipeline.steps):
            if step.kind in CODE_KINDS and step.entrypoint and is_file_entrypoint(step.entrypoint):
                yield ("pipelines", pi, "steps", si, "entrypoint"), step.entrypoint, "step entrypoint", False
    for mi, monitor in enumerate(spec.monitors):
        if monitor.baseline is not None:
            yield ("monitors", mi, "baseline"), monitor.baseline, "baseline dataset", True


def file_problems(loaded: LoadedSpec) -> list[Problem]:
    base = loaded.path.resolve().parent
    found = [
        (path, message)
        for path, value, what, directory_ok in _files(loaded)
        if (message := file_problem(base, value, what, directory_ok=directory_ok))
    ]
    for pi, pipeline in enumerate(loaded.spec.pipelines):
        if pipeline.feature_views and pipeline.data is None:
            found.append(
                (
                    ("pipelines", pi, "feature_views"),
                    "a pipeline with feature_views needs data: the entity rows (join keys, event_timestamp, "
                    "labels) the training set is built from",
                )
            )
    return found


def problems(resolved: Resolved) -> list[Problem]:
    return [*_frameworks(resolved), *_async_folders(resolved)]


def _async_folders(resolved: Resolved) -> Iterator[Problem]:
    for ei, endpoint in enumerate(resolved.loaded.spec.endpoints):
        queued = endpoint.async_inference
        for field in ("output", "failures"):
            where = getattr(queued, field) if queued else None
            if where and REMOTE.match(where):
                yield ("endpoints", ei, "async", field), (
                    f"'{where}' is remote; the local emulator writes asynchronous results to a local folder"
                )


def _frameworks(resolved: Resolved) -> Iterator[Problem]:
    """Served versions the emulator cannot run in-process: their requests would be refused."""
    ran = ", ".join(IN_PROCESS.values())
    seen = set()
    for use in serving_images.uses(resolved, with_image=True):
        framework = use.version.framework
        if framework in IN_PROCESS or use.path in seen:
            continue
        seen.add(use.path)
        yield (*use.path, "framework"), (
            f"endpoint '{use.endpoint}' serves {use.variant.model.describe()}, a {framework} model: the local "
            f"emulator runs {ran} in-process, no {framework} server; {INSTEAD[framework]}"
        )


def apply_problems(resolved: Resolved) -> list[Problem]:
    return file_problems(resolved.loaded)
