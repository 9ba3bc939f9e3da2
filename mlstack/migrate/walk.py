"""Where things live in a spec tree, environments included: compute profiles, strategies, monitors,
and every place a name is defined or referenced. Works on the raw ruamel tree, so an edit found
here is an edit of the file."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from mlstack.errors import Path
from mlstack.migrate.document import entries, get, items, mapping


def _with_overlays(root: CommentedMap, section: str) -> Iterator[tuple[Path, CommentedMap]]:
    """A named list's items and the environments' overlays of them (which carry the same fields)."""
    for i, item in items(root.get(section)):
        yield (section, i), item
    for env, body in entries(root.get("environments")):
        for name, overlay in entries(body.get(section)):
            yield ("environments", env, section, name), overlay


def endpoints(root: CommentedMap) -> Iterator[tuple[Path, CommentedMap]]:
    return _with_overlays(root, "endpoints")


def pipelines(root: CommentedMap) -> Iterator[tuple[Path, CommentedMap]]:
    return _with_overlays(root, "pipelines")


def monitors(root: CommentedMap) -> Iterator[tuple[Path, CommentedMap]]:
    return _with_overlays(root, "monitors")


def targets(root: CommentedMap) -> Iterator[tuple[Path, CommentedMap]]:
    """The target section and the environments' target overlays."""
    if target := mapping(root.get("target")):
        yield ("target",), target
    for env, body in entries(root.get("environments")):
        if overlay := mapping(body.get("target")):
            yield ("environments", env, "target"), overlay


def strategies(root: CommentedMap) -> Iterator[tuple[Path, CommentedMap, CommentedMap]]:
    """(path, strategy, endpoint or overlay holding it)."""
    for path, endpoint in endpoints(root):
        if strategy := mapping(endpoint.get("strategy")):
            yield (*path, "strategy"), strategy, endpoint


def compute_slots(root: CommentedMap) -> Iterator[tuple[Path, CommentedMap]]:
    """Mappings that hold a `compute` key (a profile name or an inline profile)."""
    for path, pipeline in pipelines(root):
        yield path, pipeline
        for i, step in items(pipeline.get("steps")):
            yield (*path, "steps", i), step
    for i, job in items(root.get("batch_jobs")):
        yield ("batch_jobs", i), job
    for path, endpoint in endpoints(root):
        yield path, endpoint
        if strategy := mapping(endpoint.get("strategy")):
            yield (*path, "strategy"), strategy
            for i, variant in items(strategy.get("variants")):
                yield (*path, "strategy", "variants", i), variant


def compute_profiles(root: CommentedMap) -> Iterator[tuple[Path, CommentedMap]]:
    """Every compute profile: named ones, environment overrides and inline ones."""
    for name, profile in entries(root.get("compute")):
        yield ("compute", name), profile
    for env, body in entries(root.get("environments")):
        for name, profile in entries(body.get("compute")):
            yield ("environments", env, "compute", name), profile
    for path, holder in compute_slots(root):
        if profile := mapping(holder.get("compute")):
            yield (*path, "compute"), profile


def model_refs(root: CommentedMap) -> Iterator[tuple[Path, CommentedMap]]:
    for path, endpoint in endpoints(root):
        if ref := mapping(endpoint.get("model")):
            yield (*path, "model"), ref
        strategy = mapping(endpoint.get("strategy")) or CommentedMap()
        if ref := mapping(strategy.get("challenger")):
            yield (*path, "strategy", "challenger"), ref
        for i, variant in items(strategy.get("variants")):
            if ref := mapping(variant.get("model")):
                yield (*path, "strategy", "variants", i, "model"), ref
    for i, job in items(root.get("batch_jobs")):
        if ref := mapping(job.get("model")):
            yield ("batch_jobs", i, "model"), ref


# --- names ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Slot:
    """A place a name is written: `container[key]` holds it, or, when `is_key`, `key` is the name."""

    path: Path
    container: CommentedMap | CommentedSeq
    key: object
    is_key: bool = False

    @property
    def name(self) -> str:
        return str(self.key if self.is_key else self.container[self.key])  # type: ignore[index]


def _named_list(root: CommentedMap, path: Path) -> Iterator[Slot]:
    for i, item in items(get(root, path)):
        if isinstance(item.get("name"), str):
            yield Slot((*path, i, "name"), item, "name")


def _keys(container: object, path: Path) -> Iterator[Slot]:
    if isinstance(container, CommentedMap):
        for key in list(container.keys()):
            yield Slot((*path, key), container, key, is_key=True)


def definitions(root: CommentedMap, kind: str) -> Iterator[Slot]:
    if kind == "spec" and isinstance(root.get("name"), str):
        yield Slot(("name",), root, "name")
    lists = {
        "model_group": ("registry", "model_groups"),
        "entity": ("feature_store", "entities"),
        "feature_view": ("feature_store", "views"),
        "pipeline": ("pipelines",),
        "endpoint": ("endpoints",),
        "monitor": ("monitors",),
    }
    if kind in lists:
        yield from _named_list(root, lists[kind])
    if kind == "compute":
        yield from _keys(root.get("compute"), ("compute",))
    if kind == "variant":
        for path, strategy, _ in strategies(root):
            for i, variant in items(strategy.get("variants")):
                if isinstance(variant.get("name"), str):
                    yield Slot((*path, "variants", i, "name"), variant, "name")


def _value(container: object, key: object, path: Path) -> Iterator[Slot]:
    if isinstance(container, CommentedMap) and isinstance(container.get(key), str):
        yield Slot((*path, key), container, key)


def _env_keys(root: CommentedMap, section: str) -> Iterator[Slot]:
    for env, body in entries(root.get("environments")):
        yield from _keys(body.get(section), ("environments", env, section))


def references(root: CommentedMap, kind: str) -> Iterator[Slot]:
    """Every place that refers to an object of `kind` by name (not its definition)."""
    if kind == "model_group":
        for path, ref in model_refs(root):
            yield from _value(ref, "group", path)
        for path, pipeline in pipelines(root):
            for i, step in items(pipeline.get("steps")):
                yield from _value(step, "model_group", (*path, "steps", i))
    elif kind == "entity":
        for i, view in items(get(root, ("feature_store", "views"))):
            yield from _value(view, "entity", ("feature_store", "views", i))
    elif kind == "feature_view":
        for path, pipeline in pipelines(root):
            views = pipeline.get("feature_views")
            if isinstance(views, CommentedSeq):
                for i, name in enumerate(views):
                    if isinstance(name, str):
                        yield Slot((*path, "feature_views", i), views, i)
    elif kind == "pipeline":
        for path, monitor in monitors(root):
            for i, action in items(monitor.get("actions")):
                if action.get("type") == "retrain":
                    yield from _value(action, "pipeline", (*path, "actions", i))
        yield from _env_keys(root, "pipelines")
    elif kind == "compute":
        for path, holder in compute_slots(root):
            yield from _value(holder, "compute", path)
        yield from _env_keys(root, "compute")
    elif kind == "endpoint":
        for path, pipeline in pipelines(root):
            for i, step in items(pipeline.get("steps")):
                yield from _value(step, "endpoint", (*path, "steps", i))
        for path, monitor in monitors(root):
            yield from _value(monitor, "endpoint", path)
        yield from _env_keys(root, "endpoints")
    elif kind == "monitor":
        for path, pipeline in pipelines(root):
            for i, trigger in items(pipeline.get("triggers")):
                yield from _value(trigger, "on_alert", (*path, "triggers", i))
        yield from _env_keys(root, "monitors")
