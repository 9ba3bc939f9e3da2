"""Asynchronous endpoints on the emulator: a request is queued and answered later by writing the
answer to a file under the endpoint's `async.output` folder (errors under `async.failures`), as
SageMaker Asynchronous Inference writes to S3.

POST /endpoints/{name}/async-invocations          {"instances": [...]} -> 202 {"id", "output"}
GET  /endpoints/{name}/async-invocations/{id}     200 {"status": "done" | "failed", "result", "output"}
                                                  or 202 {"status": "pending"} while it is queued
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from mlstack.emulator.errors import BadRequest, NotFound

if TYPE_CHECKING:
    from mlstack.emulator.core import Emulator

_ID = re.compile(r"[0-9a-f]{32}")


def _write(path: Path, payload: bytes) -> None:
    """Whole or not at all: a reader never sees half an answer."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_bytes(payload)
    os.replace(partial, path)


class Queue:
    """The requests queued per endpoint, answered by the endpoint's own fleets."""

    def __init__(self, core: Emulator) -> None:
        self.core = core
        self.tasks: set[asyncio.Task[None]] = set()
        self.pending: set[str] = set()

    def folders(self, name: str) -> tuple[Path, Path]:
        config = self.core.resource("endpoint", name)["config"].get("async")
        if not config:
            raise BadRequest(f"endpoint '{name}' is not asynchronous (the spec gives it no `async`)")
        output = Path(config["output"])
        return output, Path(config.get("failures") or output)

    def submit(self, name: str, body: bytes) -> dict[str, Any]:
        runtime = self.core.serving.get(name)
        output, failures = self.folders(name)
        request_id = uuid.uuid4().hex

        async def answer() -> None:
            try:
                answered = await runtime.invoke(body, request_id)
                done = answered.status == 200
                where = output / f"{request_id}.json" if done else failures / f"{request_id}.error.json"
                result = json.loads(answered.body)
                await asyncio.to_thread(_write, where, json.dumps({"status": answered.status, **result}).encode())
            finally:
                self.pending.discard(request_id)

        self.pending.add(request_id)

        task = asyncio.get_running_loop().create_task(answer())
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return {"id": request_id, "output": str(output / f"{request_id}.json")}

    def result(self, name: str, request_id: str) -> tuple[int, dict[str, Any]]:
        if not _ID.fullmatch(request_id):
            raise BadRequest(f"'{request_id}' is not a request id (32 hex digits)")
        output, failures = self.folders(name)
        answers = (("done", output / f"{request_id}.json"), ("failed", failures / f"{request_id}.error.json"))
        for status, where in answers:
            if where.exists():
                result = json.loads(where.read_text())
                return 200, {"id": request_id, "status": status, "output": str(where), "result": result}
        if request_id in self.pending:
            return 202, {"id": request_id, "status": "pending"}
        raise NotFound(f"endpoint '{name}' has no request '{request_id}'")


def routes(core: Emulator) -> APIRouter:
    router = APIRouter()
    queue = Queue(core)

    @router.post("/endpoints/{name}/async-invocations", status_code=202)
    async def submit(name: str, request: Request) -> dict[str, Any]:
        return queue.submit(name, await request.body())

    @router.get("/endpoints/{name}/async-invocations/{request_id}")
    def result(name: str, request_id: str) -> JSONResponse:
        status, payload = queue.result(name, request_id)
        return JSONResponse(payload, status_code=status)

    return router
