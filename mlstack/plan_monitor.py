"""Pulumi's mocks as an offline plan uses them: the target's made-up outputs, and a mock monitor that
records what each resource asks for. Imported only when planning (it imports Pulumi)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import pulumi
from pulumi.runtime import mocks, rpc
from pulumi.runtime.proto import resource_pb2
from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await

from mlstack.backends import mock_call, mock_outputs

T = TypeVar("T")

# (type, name, parent URN, inputs, custom, options an engine would act on)
Record = tuple[str, str, str, dict[str, Any], bool, dict[str, Any]]


class Recorder(pulumi.runtime.Mocks):
    """Outputs a cloud would compute, made up deterministically by the target's backend so that
    references between resources (ARNs, ids) show in the plan as readable values, not unknowns."""

    def __init__(self, cloud: str, region: str) -> None:
        self.cloud, self.region = cloud, region

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
        inputs = dict(args.inputs)
        return f"{args.name}-id", mock_outputs(self.cloud, args.typ, inputs.get("name") or args.name, inputs, self.region)

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict:
        answer = mock_call(self.cloud, args.token, self.region)
        if answer is not None:
            return answer
        return dict(args.args)


class PlanLoop(asyncio.SelectorEventLoop):
    """The plan's event loop. Pulumi hands each call to its monitor (register, invoke, outputs) to an
    executor thread, as a real engine answers over gRPC; the mock monitor answers at once, so the call
    runs in place: the thread hand-offs were a tenth of a plan."""

    def run_in_executor(self, executor: Any, func: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        future: asyncio.Future[T] = self.create_future()
        try:
            future.set_result(func(*args))
        except Exception as exc:  # the awaiting registration raises it, as from a thread
            future.set_exception(exc)
        return future


class PlanMonitor(mocks.MockMonitor):
    """Pulumi's mock monitor, recording each resource's request. Its registration is the parent's, step
    for step, except that the mock's answer is serialised without an event loop."""

    def __init__(self, recorder: Recorder, records: list[Record]) -> None:
        super().__init__(recorder)
        self.records = records

    def RegisterResource(self, request: Any) -> Any:
        if request.type == "pulumi:pulumi:Stack":
            return super().RegisterResource(request)
        urn = self.make_urn(request.parent, request.type, request.name)
        _ensure_event_loop()  # deserialising resource references makes outputs, which want one
        inputs = rpc.deserialize_properties(request.object)
        args = pulumi.runtime.MockResourceArgs(
            typ=request.type,
            name=request.name,
            inputs=inputs,
            provider=request.provider,
            resource_id=request.importId,
            custom=request.custom or False,
            transforms=mocks._resolve_callbacks(request.transforms),
        )
        id_, state = self.mocks.new_resource(args)
        self.resources[urn] = mocks.MockMonitor.ResourceRegistration(urn, id_, state)
        options = {
            k: v
            for k, v in (
                ("deleteBeforeReplace", request.deleteBeforeReplace),
                ("replaceOnChanges", sorted(request.replaceOnChanges)),
                ("protect", request.protect),
                ("ignoreChanges", sorted(request.ignoreChanges)),
            )
            if v
        }
        self.records.append((request.type, request.name, request.parent, inputs, request.custom, options))
        state_proto = without_loop(lambda: rpc.serialize_properties(state, {}))
        return resource_pb2.RegisterResourceResponse(urn=urn, id=id_, object=state_proto)


def without_loop(start: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """The coroutine's result, run to its end without an event loop when it never waits, as Pulumi's
    serialisation of a mock's plain answer never does. Pulumi's mock monitor runs an event loop on its
    executor thread for every resource instead, a sixth of a plan's time. One that does wait is run
    again from the start on a loop (serialising has no side effects)."""
    coroutine = start()
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value
    coroutine.close()
    return _sync_await(start())
