"""The local backend: a spec's objects on the local emulator, through a Pulumi dynamic provider.

Each spec object is a `mlstack:<kind>:<Kind>` component holding one dynamic resource
(`pulumi-python:dynamic/local:EmulatorResource`) whose config is exactly what `mlstack up` sends
for that object (mlstack.emulator.desired). The provider's create and update PUT it to the
emulator's control plane (`/v1/resources/{kind}/{name}`), delete DELETEs it; the emulator of the
spec's state directory is started when it is not running, as a cloud's API is simply there.
Components depend on those of the kinds before them (registry, features, pipelines, endpoints,
monitors), so Pulumi applies in the emulator's own order and deletes in reverse."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ResourceProvider, UpdateResult

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


class EmulatorProvider(ResourceProvider):
    def create(self, props: dict[str, Any]) -> CreateResult:
        row = _client(props).put(_path(props), {"config": props["config"]})
        return CreateResult(id_=f"{props['kind']}/{props['name']}", outs=_outs(props, row))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replaces = [key for key in REPLACE_ON if olds.get(key) != news.get(key)]
        changed = bool(replaces) or any(olds.get(k) != news.get(k) for k in ("config", "port"))
        return DiffResult(changes=changed, replaces=replaces, delete_before_replace=True)

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        row = _client(news).put(_path(news), {"config": news["config"]})
        return UpdateResult(outs=_outs(news, row))

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        from mlstack.emulator.errors import NotFound
        from mlstack.emulator.layout import StateDir

        if not StateDir(Path(props["state_dir"])).exists():
            return  # `mlstack down --purge` removed the whole state directory already
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
    earlier: list[pulumi.Resource] = []
    for kind in desired.KINDS:
        made = []
        for item in (r for r in wanted["resources"] if r["kind"] == kind):
            label = item["name"].replace(":", "-")  # model versions are group:vN in the emulator
            component = SpecComponent(kind, label)
            resource = EmulatorResource(
                label,
                {
                    "kind": kind,
                    "name": item["name"],
                    "config": item["config"],
                    "state_dir": str(state.root),
                    "port": local.port,
                },
                component.child(depends_on=list(earlier)),
            )
            component.done({"status": resource.status, "url": resource.url})
            made.append(component)
        earlier.extend(made)
