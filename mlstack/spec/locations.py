"""Data locations: a relative path in a spec (`models/fraud/3/`, `baselines/training.csv`) lives under the
target's data root, so one spec serves every cloud; a full URI (`s3://…`, `gs://…`, `bq://…`) pins one.
Images likewise: a bare `name:tag` lives in the target's image registry; anything with a `/` is pinned.

Code paths (step entrypoints) are not data and stay relative to the spec file."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path as FsPath

from mlstack.errors import Path
from mlstack.spec.models import Spec
from mlstack.targets import profile

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def is_relative(uri: str) -> bool:
    """No scheme (s3://, azureml:name:1, ...) and not an absolute path."""
    return not _SCHEME.match(uri) and not uri.startswith("/")


def _join(root: str, path: str) -> str:
    while path.startswith("./"):
        path = path[2:]
    return f"{root.rstrip('/')}/{path}"


def _relative_problem(uri: str) -> str | None:
    """Why a relative path cannot be put under a cloud data root as written, or None."""
    parts = [p for p in uri.split("/") if p not in ("", ".")]
    if ".." in parts:
        return f"'{uri}' climbs out of the data root with '..': name the file below the root, or write a full URI"
    hidden = next((p for p in parts if p.startswith(".")), None)
    if hidden:
        return f"'{uri}' names a hidden file or folder ('{hidden}'); rename it or write a full URI"
    return None


def _table_name(path: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", path.strip("/"))


def data_fields(spec: Spec) -> Iterator[tuple[Path, str, str]]:
    """(path, kind, uri) of every location: kind is artifact, source, data, baseline, labels, capture or image."""
    for gi, group in enumerate(spec.registry.model_groups):
        for vi, version in enumerate(group.versions):
            yield ("registry", "model_groups", gi, "versions", vi, "artifact"), "artifact", version.artifact
    for vi, view in enumerate(spec.feature_store.views):
        yield ("feature_store", "views", vi, "source", "uri"), "source", view.source.uri
    for pi, pipeline in enumerate(spec.pipelines):
        if pipeline.data:
            yield ("pipelines", pi, "data"), "data", pipeline.data
    for ei, endpoint in enumerate(spec.endpoints):
        if endpoint.data_capture and endpoint.data_capture.destination:
            yield ("endpoints", ei, "data_capture", "destination"), "capture", endpoint.data_capture.destination
    for gi, group in enumerate(spec.registry.model_groups):
        for vi, version in enumerate(group.versions):
            if version.image:
                yield ("registry", "model_groups", gi, "versions", vi, "image"), "image", version.image
    for pi, pipeline in enumerate(spec.pipelines):
        if pipeline.image:
            yield ("pipelines", pi, "image"), "image", pipeline.image
        for si, step in enumerate(pipeline.steps):
            if step.image:
                yield ("pipelines", pi, "steps", si, "image"), "image", step.image
    for mi, monitor in enumerate(spec.monitors):
        if monitor.baseline:
            yield ("monitors", mi, "baseline"), "baseline", monitor.baseline
        if monitor.ground_truth:
            yield ("monitors", mi, "ground_truth"), "labels", monitor.ground_truth


def locate(spec: Spec, cloud: str, kind: str, uri: str, spec_dir: FsPath | None = None) -> str | None:
    """The absolute location of `uri` on `cloud`, or None when the spec lacks the root it needs."""
    target = profile(cloud)
    if kind == "image":
        if "/" in uri or target.emulated:
            return uri
        registry = getattr(getattr(spec.target, cloud), "image_registry", None)
        return f"{registry.rstrip('/')}/{uri}" if registry else None
    if not is_relative(uri):
        return uri
    if target.emulated:
        return str(((spec_dir or FsPath(".")) / uri).resolve())
    settings = getattr(spec.target, cloud)
    tables = target.source_tables
    if kind == "source" and tables:
        dataset = getattr(settings, tables.setting, None)
        return f"{tables.scheme}{dataset}.{_table_name(uri)}" if dataset else None
    root = getattr(settings, "data_root", None)
    return _join(root, uri) if root else None


def absolutize(spec: Spec, cloud: str, spec_dir: FsPath | None = None) -> Spec:
    """A copy of the spec with every data location absolute for `cloud`."""
    data = spec.model_dump(mode="python", by_alias=True, exclude_unset=False)
    for path, kind, uri in data_fields(spec):
        located = locate(spec, cloud, kind, uri, spec_dir)
        if located is None or located == uri:
            continue
        node = data
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = located
    return Spec.model_validate(data)


_SCHEMES = {"artifact": "artifact_schemes", "source": "source_schemes", "capture": "capture_schemes"}
_WHAT = {
    "artifact": "model artifacts",
    "source": "feature view sources",
    "capture": "captured requests",
}


def problems(spec: Spec, cloud: str) -> Iterator[tuple[Path, str]]:
    target = profile(cloud)
    if target.emulated:
        return
    source_tables = target.source_tables
    tables: dict[str, str] = {}
    for path, kind, uri in data_fields(spec):
        if kind != "image" and is_relative(uri):
            relative = _relative_problem(uri)
            if relative:
                yield path, relative
                continue
            if kind == "source" and source_tables:
                # Two paths that differ only in characters table names cannot hold.
                first = tables.setdefault(_table_name(uri), uri)
                if first != uri:
                    yield (
                        path,
                        f"'{uri}' and '{first}' would both be {source_tables.store} table {_table_name(uri)}; rename one",
                    )
                    continue
        located = locate(spec, cloud, kind, uri)
        if located is None:
            if kind == "source" and source_tables:
                yield (
                    path,
                    (
                        f"'{uri}' is relative: on {target.title} a feature view source is a {source_tables.store} "
                        f"table, so set target.{cloud}.{source_tables.setting} ({source_tables.dataset_form}) or "
                        f"write {source_tables.scheme}{source_tables.dataset_form}.table"
                    ),
                )
            elif kind == "image":
                yield (
                    path,
                    (f"'{uri}' names no registry: set target.{cloud}.image_registry or write the full image reference"),
                )
            else:
                yield (
                    path,
                    (
                        f"'{uri}' is relative: set target.{cloud}.data_root (e.g. {target.data_root_example}) "
                        "or write a full URI"
                    ),
                )
            continue
        if kind == "baseline" and target.baseline_pattern and not re.fullmatch(target.baseline_pattern, located):
            yield path, f"'{located}': {target.baseline_says}"
            continue
        schemes: tuple[str, ...] = getattr(target, _SCHEMES.get(kind, ""), ()) if kind in _SCHEMES else ()
        if schemes and not located.startswith(schemes):
            shown = uri if uri == located else f"'{uri}' (= {located})"
            yield path, f"{shown}: {target.title} reads {_WHAT[kind]} from {' or '.join(schemes)} only"
