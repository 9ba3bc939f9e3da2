"""`mlstack plan`: the resources a spec produces on a target, computed offline by running the
Pulumi program under Pulumi's own mocks — no engine, no credentials, no network."""

from __future__ import annotations

import asyncio
import contextvars
import copy
import gc
import hashlib
import json
import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

from mlstack.resolve import Resolved


@dataclass(frozen=True)
class PlannedResource:
    type: str
    name: str
    parent: str | None  # "<type>::<name>" of the parent, None at the top
    inputs: dict[str, Any]
    custom: bool = True
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.type}::{self.name}"

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": self.type,
            "name": self.name,
            "parent": self.parent,
            "inputs": redact(self.inputs),
        }
        if self.options:
            out["options"] = self.options
        return out


_SECRET_SIG = "4dabf18193072939515e22adb298388d"  # Pulumi's marker for a secret value


def _plain(value: Any) -> Any:
    """Mock inputs as JSON-able data: dynamic providers' pickled code dropped, assets as their content."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in sorted(value.items()) if k != "__provider"}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    text = getattr(value, "text", None) or getattr(value, "path", None) or getattr(value, "uri", None)
    if isinstance(text, str):  # a Pulumi asset: its content or location, never its object address
        return {"asset": text}
    return str(value)


def redact(value: Any) -> Any:
    """Secrets replaced by a digest: plans and reviews show that a secret changed, never the secret."""
    if isinstance(value, dict):
        if _SECRET_SIG in value:
            digest = hashlib.sha256(json.dumps(value.get("value"), sort_keys=True).encode()).hexdigest()[:12]
            return f"[secret {digest}]"
        return {k: redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def _run(resolved: Resolved) -> list[PlannedResource]:
    import pulumi
    from pulumi.runtime import settings, stack
    from pulumi.runtime.sync_await import _sync_await

    from mlstack.backends import build
    from mlstack.plan_monitor import PlanLoop, PlanMonitor, Record, Recorder

    records: list[Record] = []
    recorder = Recorder(resolved.cloud, resolved.region or "local")
    # Pulumi runs on the thread's current loop, and its settings make futures on it: the plan's own loop
    # from the start, the caller's back after it (after an asyncio.run() in this process, a server's or a
    # test's, there is none to find).
    try:
        previous = asyncio.get_event_loop_policy().get_event_loop()
    except RuntimeError:
        previous = None
    loop = PlanLoop()
    asyncio.set_event_loop(loop)
    try:
        settings.ROOT.set(None)
        # Outputs and RPCs of an earlier plan in this process (a failed one above all) must not be awaited
        # again by this one: Pulumi keeps them in process-wide sets, as its own test decorator knows.
        settings.SETTINGS.rpc_manager.clear()
        settings.SETTINGS.outputs.clear()
        pulumi.runtime.set_mocks(
            recorder,
            project="mlstack",
            stack=resolved.environment or "plan",
            preview=False,
            monitor=PlanMonitor(recorder, records),
        )
        with _no_stack_traces(), _providers_pickled_once():
            _sync_await(stack.run_pulumi_func(lambda: _build_without_aliases(resolved, build)))
    finally:
        asyncio.set_event_loop(previous)
        loop.close()

    by_urn = {}
    for typ, name, parent, *_ in records:
        by_urn[_urn_suffix(parent, typ, name)] = f"{typ}::{name}"
    planned = []
    for typ, name, parent, inputs, custom, options in records:
        parent_key = None
        if parent and not parent.endswith("pulumi:pulumi:Stack::mlstack-" + (resolved.environment or "plan")):
            parent_key = by_urn.get(parent.split("::", 2)[-1]) or _parent_from_urn(parent)
        planned.append(PlannedResource(typ, name, parent_key, _plain(inputs), custom, options))
    return sorted(planned, key=lambda r: (r.type, r.name))


def _build_without_aliases(resolved: Resolved, build: Any) -> None:
    """The program with every resource's aliases dropped before Pulumi turns them into URNs. Aliases
    only tell an engine which resources in a state to treat as the same; an offline plan has no state
    and never shows them, and azure-native gives each resource one per former API version (ten
    thousand for a 500-endpoint platform, a fifth of its plan time)."""
    import pulumi

    def drop(args: pulumi.ResourceTransformationArgs) -> pulumi.ResourceTransformationResult | None:
        if not args.opts.aliases:
            return None
        opts = copy.copy(args.opts)
        opts.aliases = None
        return pulumi.ResourceTransformationResult(args.props, opts)

    pulumi.runtime.register_stack_transformation(drop)
    build(resolved)


def _urn_suffix(parent: str, typ: str, name: str) -> str:
    """The part of a URN after project and stack, as the mock monitor builds it."""
    parent_type = parent.split("::", 2)[-1].rsplit("::", 1)[0] if parent else ""
    qualified = typ if not parent_type or parent_type.endswith("pulumi:pulumi:Stack") else f"{parent_type}${typ}"
    return f"{qualified}::{name}"


def _parent_from_urn(urn: str) -> str:
    qualified, name = urn.split("::")[-2:]
    return f"{qualified.split('$')[-1]}::{name}"


@contextmanager
def _no_stack_traces() -> Iterator[None]:
    """Pulumi walks the Python stack and makes a file URI of every frame for each resource it registers,
    for an engine to show where a resource was declared: a tenth of a plan's time, and a plan shows none."""
    from pulumi.runtime import resource
    from pulumi.runtime.proto import source_pb2

    capture = resource._get_stack_trace
    resource._get_stack_trace = source_pb2.StackTrace
    try:
        yield
    finally:
        resource._get_stack_trace = capture


@contextmanager
def _providers_pickled_once() -> Iterator[None]:
    """Pulumi pickles a dynamic resource's provider, code and all, into every resource's inputs (about
    a millisecond each). A provider without state of its own pickles to the same
    bytes each time, and a plan drops them anyway, so within one plan each such class is pickled once,
    still for real (a provider that cannot be pickled fails the plan as it would fail a deployment)."""
    from pulumi.dynamic import dynamic

    from mlstack.backends import pickling

    pickling.guard()  # what is put back afterwards is the guarded serializer
    serialize = dynamic.serialize_provider
    pickled: dict[type, str] = {}

    def once(provider: Any) -> str:
        if vars(provider):
            return serialize(provider)
        if type(provider) not in pickled:
            pickled[type(provider)] = serialize(provider)
        return pickled[type(provider)]

    once.restores_pickler = True  # type: ignore[attr-defined]  # through `serialize`, guarded above
    dynamic.serialize_provider = once
    try:
        yield
    finally:
        dynamic.serialize_provider = serialize


@contextmanager
def _collector_paused() -> Iterator[None]:
    """A plan makes hundreds of thousands of short-lived objects (futures, outputs) and Python's cycle
    collector rescans them over and over: pausing it halves a plan's time. Memory is freed by
    reference counting meanwhile, and the collector runs again afterwards."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def plan(resolved: Resolved) -> list[PlannedResource]:
    """The planned resources, sorted by (type, name). Safe to call many times in one process."""
    with _collector_paused():
        return contextvars.copy_context().run(_run, resolved)


def planned_apart(*sides: Resolved | None) -> list[list[PlannedResource]]:
    """Each side's plan (none for None), each made in a forked child process that sends it back
    pickled and exits without tidying up: the cycle collection of a plan's garbage (Pulumi's futures
    and outputs) is a fifth of its time, and this process never holds that garbage. The sides are
    planned at the same time, on as many cores as there are. Without fork, in this process."""
    if not hasattr(os, "fork"):
        return [plan(side) if side is not None else [] for side in sides]
    _import_backends(*sides)
    sys.stdout.flush()
    sys.stderr.flush()
    children = [_fork_plan(side) if side is not None else None for side in sides]
    results: list[list[PlannedResource]] = []
    try:
        for child in children:
            results.append(_received(*child) if child is not None else [])
    except BaseException:
        for child in children[len(results) + 1 :]:  # the failed one has been waited for
            if child is not None:
                os.kill(child[0], signal.SIGTERM)
                os.waitpid(child[0], 0)
        raise
    return results


def _fork_plan(resolved: Resolved) -> tuple[int, int]:
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        _plan_in_child(resolved, write_fd)
    os.close(write_fd)
    return pid, read_fd


def _received(pid: int, read_fd: int) -> list[PlannedResource]:
    import pickle

    from mlstack.errors import MlstackError

    try:
        with open(read_fd, "rb") as received:
            data = received.read()
    finally:
        os.waitpid(pid, 0)
    if not data:
        raise MlstackError("planning failed in its worker process")
    status, payload = pickle.loads(data)
    if status == "error":
        raise payload
    return payload


def _plan_in_child(resolved: Resolved, fd: int) -> None:
    """In a forked child: plan and write the pickled result (or the exception) to `fd`, then exit."""
    import pickle

    from mlstack.errors import MlstackError

    status = 0
    gc.disable()  # for good (plan() turns it back on only if it was on): the child exits once its plan is sent
    try:
        try:
            payload = pickle.dumps(("ok", plan(resolved)))
        except BaseException as exc:  # the parent raises it; the child prints nothing
            try:
                payload = pickle.dumps(("error", exc))
            except Exception:  # an exception that does not pickle still reaches the user as a message
                payload = pickle.dumps(("error", MlstackError(f"{type(exc).__name__}: {exc}")))
        with open(fd, "wb") as out:
            out.write(payload)
    except BaseException:
        status = 1
    finally:
        os._exit(status)  # no atexit handlers, no flushing of the parent's buffers


def _import_backends(*sides: Resolved | None) -> None:
    """Import Pulumi, the plan's mocks and the targets' backends once, before forking, so the children
    inherit them instead of each importing them."""
    import importlib

    from mlstack.backends import BACKENDS

    modules = ["mlstack.plan_monitor", *(BACKENDS[side.cloud] for side in sides if side is not None)]
    for module in modules:
        with suppress(ImportError):  # the plan reports a missing extra in its own words
            importlib.import_module(module)


def to_json(resources: list[PlannedResource]) -> str:
    return json.dumps([r.as_dict() for r in resources], indent=2, sort_keys=True) + "\n"
