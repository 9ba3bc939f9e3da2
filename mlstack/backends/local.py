"""The local backend: a spec's objects on the local emulator, through a Pulumi dynamic provider.

Each spec object is a `mlstack:<kind>:<Kind>` component holding one dynamic resource
(`pulumi-python:dynamic/local:EmulatorResource`) whose config is exactly what `mlstack up` sends
for that object (mlstack.emulator.desired). The provider's create and update PUT it to the
emulator's control plane (`/v1/resources/{kind}/{name}`), delete DELETEs it; the emulator of the
spec's state directory is started when it is not running, as a cloud's API is simply there.
Components depend on the earlier objects their config names (registry, features, pipelines,
endpoints, monitors, in the emulator's own order), so Pulumi applies what an object refers to first
and deletes in reverse."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, ResourceProvider, UpdateResult

from mlstack.backends.components import SpecComponent
from mlstack.emulator import desired
from mlstack.emulator.layout import state_dir_for
from mlstack.resolve import Resolved

REPLACE_ON = ("kind", "name", "state_dir")


def _client(props: dict[str, Any]) -> Any:
    from mlstack.emulator import process
    from mlstack.emulator.client import Client
    from mlstack.emulator.layout import StateDir

    state = StateDir(Path(props["state_dir"]))
    info, _ = process.ensure(state, int(props["port"]))
    return Client(info.url, state.read_token(), state=state)


def _path(props: dict[str, Any]) -> str:
    return f"/v1/resources/{props['kind']}/{props['name']}"


def _outs(props: dict[str, Any], row: dict[str, Any]) -> dict[str, Any]:
    return {**props, "status": row["status"], "message": row["message"], "url": row["observed"].get("url", "")}


def _whole_floats(value: Any, path: str = "") -> list[str]:
    """Paths of the floats with a whole value (`1.0`): the only numbers the engine's wire makes ambiguous."""
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _whole_floats(v, f"{path}/{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _whole_floats(v, f"{path}/{i}")]
    return [path] if isinstance(value, float) and value.is_integer() else []


def _numbers(value: Any, floats: frozenset[str], path: str = "") -> Any:
    """The config as the spec wrote it. Pulumi's wire carries every number as a double, so the engine
    hands `max_iter: 200` to the provider as 200.0 (and a training script would get `--max_iter 200.0`);
    whole numbers become ints again except where the spec wrote a float (listed in `floats`)."""
    if isinstance(value, dict):
        return {k: _numbers(v, floats, f"{path}/{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [_numbers(v, floats, f"{path}/{i}") for i, v in enumerate(value)]
    if isinstance(value, float) and value.is_integer() and path not in floats:
        return int(value)
    return value


def _config(props: dict[str, Any]) -> dict[str, Any]:
    return _numbers(props["config"], frozenset(props.get("floats") or ()))


def _gone(props: dict[str, Any]) -> bool:
    from mlstack.emulator.layout import StateDir

    return not StateDir(Path(props["state_dir"])).exists()  # `mlstack down` removed the whole state directory


class EmulatorProvider(ResourceProvider):
    def create(self, props: dict[str, Any]) -> CreateResult:
        row = _client(props).put(_path(props), {"config": _config(props)})
        return CreateResult(id_=f"{props['kind']}/{props['name']}", outs=_outs(props, row))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replaces = [key for key in REPLACE_ON if olds.get(key) != news.get(key)]
        changed = bool(replaces) or _config(olds) != _config(news) or int(olds["port"]) != int(news["port"])
        # A replacement is created before its predecessor is deleted: an endpoint never has a gap in service.
        return DiffResult(changes=changed, replaces=replaces, delete_before_replace=False)

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        row = _client(news).put(_path(news), {"config": _config(news)})
        return UpdateResult(outs=_outs(news, row))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """`refresh`: what the emulator has now; a resource it no longer has leaves the stack."""
        from mlstack.emulator.errors import NotFound

        if _gone(props):
            return ReadResult(id_="", outs={})
        try:
            row = _client(props).get(_path(props))
        except NotFound:
            return ReadResult(id_="", outs={})
        outs = _outs({**props, "config": row["config"]}, row)
        return ReadResult(id_=id_, outs=outs)

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        from mlstack.emulator.errors import NotFound

        if _gone(props):
            return
        try:
            _client(props).delete(_path(props))
        except NotFound:
            return  # already gone: deleting is idempotent


class EmulatorResource(pulumi.dynamic.Resource, module="local", name="EmulatorResource"):
    status: pulumi.Output[str]
    url: pulumi.Output[str]

    def __init__(self, name: str, props: dict[str, Any], opts: pulumi.ResourceOptions) -> None:
        super().__init__(EmulatorProvider(), name, {**props, "status": None, "message": None, "url": None}, opts)


def build(resolved: Resolved) -> None:
    # Like the cloud backends, planning reads no data: files are checked when the emulator uses them.
    wanted = desired.build(resolved.loaded, check_files=False)
    local = resolved.spec.target.local
    state = state_dir_for(resolved.loaded.path, local.state_dir)
    # Each object waits for the earlier objects its config names (a model version also answers to its
    # group's name, so whatever deploys a group's alias waits for the group's versions): the emulator
    # checks those references when an object is applied, and deletes run in reverse. Depending on
    # whole earlier kinds instead made each monitor wait for every endpoint, a product Pulumi's cycle
    # check walks for every dependency.
    known: dict[str, list[pulumi.Resource]] = {}
    for kind in desired.KINDS:
        made: list[tuple[dict[str, Any], pulumi.Resource]] = []
        for item in (r for r in wanted["resources"] if r["kind"] == kind):
            label = item["name"].replace(":", "-")  # model versions are group:vN in the emulator
            component = SpecComponent(kind, label)
            props = {
                "kind": kind,
                "name": item["name"],
                "config": item["config"],
                "state_dir": str(state.root),
                "port": local.port,
            }
            if floats := _whole_floats(item["config"]):
                props["floats"] = floats
            named = dict.fromkeys(r for text in _strings(item["config"]) for r in known.get(text, ()))
            resource = EmulatorResource(label, props, component.child(depends_on=list(named)))
            component.done({"status": resource.status, "url": resource.url})
            made.append((item, resource))
        for item, resource in made:  # objects of one kind never refer to each other
            for key in desired.names_of(item):
                known.setdefault(key, []).append(resource)


def _strings(value: Any) -> set[str]:
    """Every string in a config: the names it refers to other objects by are among them."""
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict):
        return {s for v in value.values() for s in _strings(v)}
    if isinstance(value, list):
        return {s for v in value for s in _strings(v)}
    return set()
