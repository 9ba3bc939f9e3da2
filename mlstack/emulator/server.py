"""The control plane over HTTP (FastAPI). Every request needs `Authorization: Bearer <token>`.

Routes (JSON in and out; errors are {"error": "..."} with a 4xx/5xx status):

    GET    /v1/health                                   liveness and identity
    GET    /v1/status                                   resources, endpoints, registry, runs, schedules
    POST   /v1/plan                                     desired state -> changes (create/update/delete)
    POST   /v1/apply                                    desired state -> 202 operation (409 while another runs)
    GET    /v1/operations/{id}?after=N&wait=S           an operation's status and events after N
    GET    /v1/resources                                every applied resource
    GET    /v1/resources/{kind}/{name}                  one resource
    PUT    /v1/resources/{kind}/{name}                  {"config": ...}: apply one resource now (Pulumi backend)
    DELETE /v1/resources/{kind}/{name}                  delete one resource now
    GET    /v1/registry/groups                          model groups
    GET    /v1/registry/groups/{group}/versions         versions with metrics, params, lineage, aliases
    GET    /v1/registry/groups/{group}/versions/{n}
    PUT    /v1/registry/groups/{group}/versions/{n}/approval   {"approval": "approved"|"rejected"|"pending"}
    GET    /v1/registry/groups/{group}/versions/{n}/promotions  stages entered, policy, promotion history
    POST   /v1/registry/groups/{group}/versions/{n}/promotions  {"to": stage, "approvers": [...], "by": name,
                                                                 "reason"?}: 409 skipped stage, 400 approvers missing
    GET    /v1/registry/groups/{group}/versions/{n}/card  a model card's data (mlstack.cards renders it)
    PUT    /v1/registry/groups/{group}/aliases/{alias}  {"version": n}
    POST   /v1/pipelines/{name}/runs                    {"parameters": {...}} -> run id and operation
    GET    /v1/runs?pipeline=NAME                       recent runs with their steps
    GET    /v1/runs/{id}                                one run
    GET    /v1/runs/{id}/steps/{step}/log               the step's log (text)
    POST   /v1/monitors/{name}/alerts                   {"detail": "..."}: start the pipelines that retrain on it
    POST   /v1/features/{view}/materialize              {"start": epoch?, "end": epoch?} -> operation
    POST   /v1/features/{view}/online                   {"entities": [{key: value}], "features": [...]?}
    POST   /v1/features/{view}/push                     {"rows": [{keys, features, event_timestamp?}]}
    POST   /v1/features/training-set                    {"entities": path, "features": [...], "timestamp_column"?}
    GET    /v1/endpoints                                endpoints, their URLs and what they serve
    POST   /endpoints/{name}/invocations                {"instances": [...]} -> {"predictions": [...]} (dataplane.py)
    ...    traffic, rollback, ground truth, monitor runs and reports: monitoring_api.py
    ...    experiments, lineage and the audit trail: experiments_api.py
    POST   /v1/shutdown                                 stop the emulator (runs fail, captures flush)
"""

from __future__ import annotations

import errno
import hmac
import json
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

from fastapi import Body, FastAPI, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse

from mlstack.emulator import experiments_api
from mlstack.emulator.audit import ActorHeader
from mlstack.emulator.boundary import check_version
from mlstack.emulator.core import Emulator
from mlstack.emulator.dataplane import DataPlane
from mlstack.emulator.errors import BadRequest, http_status
from mlstack.emulator.monitoring_api import routes
from mlstack.errors import MlstackError, SpecInvalid
from mlstack.spec.types import MAX_INT

MAX_WAIT = 10.0
# A desired state of a large platform is a few MiB; anything far beyond that is not one.
MAX_CONTROL_BODY = 32 * 1024 * 1024
DISK_FULL = (errno.ENOSPC, errno.EDQUOT)
VersionNumber = Annotated[int, PathParam(ge=1, le=MAX_INT)]
log = logging.getLogger("mlstack.emulator")


class TokenAuth:
    """Rejects every HTTP request without the right bearer token, before any routing."""

    def __init__(self, app: Any, token: str) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            given = next((v for k, v in scope["headers"] if k == b"authorization"), b"")
            if not hmac.compare_digest(given, self.expected):
                reason = "wrong token" if given else "missing token"
                body = json.dumps({"error": f"{reason}: send Authorization: Bearer <the token in the state directory>"})
                await send(
                    {
                        "type": "http.response.start",
                        "status": 401,
                        "headers": [(b"content-type", b"application/json"), (b"www-authenticate", b"Bearer")],
                    }
                )
                await send({"type": "http.response.body", "body": body.encode()})
                return
        await self.app(scope, receive, send)


class BodyLimit:
    """Refuses a control-plane request body over `MAX_CONTROL_BODY` bytes (413) before it is parsed."""

    def __init__(self, app: Any, limit: int = MAX_CONTROL_BODY) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = next((v for k, v in scope["headers"] if k == b"content-length"), b"0")
        if declared.isdigit() and int(declared) > self.limit:
            await _refuse(send, self.limit)
            return
        seen = 0

        async def counted() -> Any:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise _TooLarge()
            return message

        try:
            await self.app(scope, counted, send)
        except _TooLarge:
            await _refuse(send, self.limit)


class _TooLarge(Exception):
    pass


async def _refuse(send: Any, limit: int) -> None:
    body = json.dumps({"error": f"the request body is over {limit // (1024 * 1024)} MiB"}).encode()
    await send({"type": "http.response.start", "status": 413, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})


def _object(body: Any, what: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise BadRequest(f"{what} must be a JSON object")
    return body


def create_app(core: Emulator, token: str, shutdown: Callable[[], None]) -> Any:
    app = FastAPI(title="mlstack emulator", docs_url=None, redoc_url=None, openapi_url=None)
    started = time.time()

    @app.exception_handler(MlstackError)
    async def mlstack_error(request: Request, exc: MlstackError) -> JSONResponse:
        if isinstance(exc, SpecInvalid):
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse({"error": str(exc)}, status_code=http_status(exc))

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', 'invalid')}" for e in exc.errors()[:5]
        ]
        return JSONResponse({"error": "; ".join(problems) or "invalid request"}, status_code=400)

    @app.exception_handler(RecursionError)
    async def too_deep(request: Request, exc: RecursionError) -> JSONResponse:
        return JSONResponse({"error": "the request body nests too deeply"}, status_code=400)

    @app.exception_handler(OSError)
    async def os_error(request: Request, exc: OSError) -> JSONResponse:
        if exc.errno in DISK_FULL:
            log.error("disk full: %s", exc)
            message = f"the emulator's disk is full ({exc.strerror}); free space under {core.state.root} and retry"
            return JSONResponse({"error": message}, status_code=507)
        log.exception("%s %s", request.method, request.url.path)
        return JSONResponse({"error": f"the emulator could not read or write a file: {exc.strerror}"}, 500)

    @app.exception_handler(Exception)
    async def server_fault(request: Request, exc: Exception) -> JSONResponse:
        log.exception("%s %s", request.method, request.url.path)
        return JSONResponse({"error": f"internal error in the emulator: {type(exc).__name__}"}, status_code=500)

    @app.get("/v1/health")
    def health() -> dict[str, Any]:
        return {
            "service": "mlstack-emulator",
            "pid": os.getpid(),
            "state_dir": str(core.state.root),
            "url": core.base_url,
            "started_at": started,
            "platform": core.platform(),
        }

    @app.get("/v1/status")
    def status() -> dict[str, Any]:
        return core.status()

    @app.post("/v1/plan")
    def plan(desired: Any = Body(...)) -> dict[str, Any]:
        return core.plan(_object(desired, "the desired state"))

    @app.post("/v1/apply", status_code=202)
    def apply(desired: Any = Body(...)) -> dict[str, Any]:
        return core.start_apply(_object(desired, "the desired state")).view()

    @app.get("/v1/operations/{op_id}")
    def operation(op_id: str, after: int = 0, wait: float = 0.0) -> dict[str, Any]:
        return core.operations.follow(op_id, after, min(max(wait, 0.0), MAX_WAIT))

    @app.get("/v1/resources")
    def resources() -> list[dict[str, Any]]:
        return core.resources()

    @app.get("/v1/resources/{kind}/{name}")
    def get_resource(kind: str, name: str) -> dict[str, Any]:
        core.check_kind(kind)
        return core.resource(kind, name)

    @app.put("/v1/resources/{kind}/{name}")
    def put_resource(kind: str, name: str, body: Any = Body(...)) -> dict[str, Any]:
        core.check_kind(kind)
        return core.put(kind, name, _object(_object(body, "the body").get("config"), "config"))

    @app.delete("/v1/resources/{kind}/{name}")
    def delete_resource(kind: str, name: str) -> dict[str, Any]:
        core.check_kind(kind)
        core.delete(kind, name)
        return {"deleted": {"kind": kind, "name": name}}

    @app.get("/v1/registry/groups")
    def groups() -> list[dict[str, Any]]:
        return core.registry.groups()

    @app.get("/v1/registry/groups/{group}/versions")
    def versions(group: str) -> list[dict[str, Any]]:
        return [v.as_dict() for v in core.registry.versions(group)]

    @app.get("/v1/registry/groups/{group}/versions/{version}")
    def version(group: str, version: VersionNumber) -> dict[str, Any]:
        return core.registry.version(group, version).as_dict()

    @app.put("/v1/registry/groups/{group}/versions/{version}/approval")
    def approval(group: str, version: VersionNumber, body: Any = Body(...)) -> dict[str, Any]:
        return core.set_approval(group, version, str(_object(body, "the body").get("approval")))

    @app.get("/v1/registry/groups/{group}/versions/{version}/promotions")
    def promotions(group: str, version: VersionNumber) -> dict[str, Any]:
        return core.promotion_status(group, version)

    @app.get("/v1/registry/groups/{group}/versions/{version}/card")
    def card(group: str, version: VersionNumber) -> dict[str, Any]:
        return core.card(group, version)

    @app.post("/v1/registry/groups/{group}/versions/{version}/promotions")
    def promote(group: str, version: VersionNumber, body: Any = Body(...)) -> dict[str, Any]:
        body = _object(body, "the body")
        to, approvers, by, reason = body.get("to"), body.get("approvers"), body.get("by"), body.get("reason", "")
        if not isinstance(to, str) or not isinstance(approvers, list) or not isinstance(reason, str):
            raise BadRequest('send {"to": "<stage>", "approvers": ["<name>", ...], "by": "<name>", "reason"?: "..."}')
        return core.promote(group, version, to, approvers, str(by), reason)

    @app.put("/v1/registry/groups/{group}/aliases/{alias}")
    def alias(group: str, alias: str, body: Any = Body(...)) -> dict[str, Any]:
        number = _object(body, "the body").get("version")
        if not isinstance(number, int):
            raise BadRequest('send {"version": N}')
        result = core.registry.set_alias(group, alias, check_version(number)).as_dict()
        core.audit.record(None, "alias", f"{group} v{number}", f"alias {alias}")
        return result

    @app.post("/v1/pipelines/{name}/runs", status_code=202)
    def start_run(name: str, body: Any = Body(default={})) -> dict[str, Any]:
        parameters = _object(_object(body, "the body").get("parameters", {}), "parameters")
        started = core.start_run(name, "manual", parameters)
        assert started is not None  # only scheduled runs are skipped
        run_id, op = started
        return {"run_id": run_id, "operation": op.view()}

    @app.get("/v1/runs")
    def runs(pipeline: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
        return core.runs(pipeline, limit)

    @app.get("/v1/runs/{run_id}")
    def run(run_id: str) -> dict[str, Any]:
        return core.run(run_id)

    @app.get("/v1/runs/{run_id}/steps/{step}/log")
    def step_log(run_id: str, step: str) -> PlainTextResponse:
        record = core.run(run_id)
        found = next((s for s in record["steps"] if s["name"] == step), None)
        if found is None:
            raise BadRequest(f"run {run_id} has no step '{step}'")
        try:
            with open(found["log"], "rb") as handle:
                return PlainTextResponse(handle.read().decode("utf-8", "replace"))
        except FileNotFoundError:
            return PlainTextResponse("")

    @app.post("/v1/batch-jobs/{name}/runs", status_code=202)
    def start_batch(name: str) -> dict[str, Any]:
        started = core.batch.start(name, "manual")
        assert started is not None  # only scheduled runs are skipped
        run_id, op = started
        return {"run_id": run_id, "operation": op.view()}

    @app.get("/v1/batch-runs")
    def batch_runs(job: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
        return core.batch.runs(job, limit)

    @app.get("/v1/batch-runs/{run_id}")
    def batch_run(run_id: str) -> dict[str, Any]:
        return core.batch.run(run_id)

    @app.post("/v1/monitors/{name}/alerts")
    def alert(name: str, body: Any = Body(default={})) -> dict[str, Any]:
        return core.on_monitor_alert(name, str(_object(body, "the body").get("detail", "")))

    @app.post("/v1/features/training-set")
    def training_set(body: Any = Body(...)) -> dict[str, Any]:
        body = _object(body, "the body")
        features = body.get("features")
        if not isinstance(body.get("entities"), str) or not isinstance(features, list):
            raise BadRequest('send {"entities": "<Parquet/CSV path>", "features": ["view:feature", ...]}')
        table = core.features.get_historical_features(
            str(_project_file(core, body["entities"])), features, body.get("timestamp_column", "event_timestamp")
        )
        import pyarrow.parquet as pq

        path = core.state.offline / f"training-set-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{id(table)}.parquet"
        pq.write_table(table, path)
        return {"path": str(path), "rows": table.num_rows, "columns": table.column_names}

    @app.post("/v1/features/{view}/materialize", status_code=202)
    def materialize(view: str, body: Any = Body(default={})) -> dict[str, Any]:
        body = _object(body, "the body")
        return core.start_materialization(view, "manual", body.get("start"), body.get("end")).view()

    @app.post("/v1/features/{view}/online")
    def online(view: str, body: Any = Body(...)) -> dict[str, Any]:
        body = _object(body, "the body")
        entities = body.get("entities")
        if not isinstance(entities, list) or not all(isinstance(e, dict) for e in entities):
            raise BadRequest('send {"entities": [{"<join key>": value}, ...]}')
        return {"values": core.features.get_online_features(view, entities, body.get("features"))}

    @app.post("/v1/features/{view}/push")
    def push(view: str, body: Any = Body(...)) -> dict[str, Any]:
        rows = _object(body, "the body").get("rows")
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise BadRequest('send {"rows": [{"<join key>": value, "<feature>": value, ...}]}')
        return {"written": core.features.push(view, rows)}

    @app.get("/v1/endpoints")
    def endpoints() -> list[dict[str, Any]]:
        return core.endpoints()

    @app.post("/v1/shutdown", status_code=202)
    def stop() -> dict[str, Any]:
        shutdown()
        return {"stopping": True}

    app.include_router(routes(core))
    app.include_router(experiments_api.routes(core))
    return TokenAuth(DataPlane(BodyLimit(ActorHeader(app)), core.serving), token)


def _project_file(core: Emulator, given: str) -> Path:
    """A file the training-set API may read: inside the applied spec's folder, nowhere else on the
    server (the answer must not tell which other paths exist)."""
    spec_file = core.db.one("SELECT value FROM meta WHERE key = 'spec_file'")
    if spec_file is None:
        raise BadRequest("no platform is applied; run `mlstack up` first")
    project = Path(spec_file["value"]).parent.resolve()
    path = (project / given).resolve()
    if not path.is_relative_to(project):
        raise BadRequest(f"entities must be a file inside the spec's folder {project}, named relative to it")
    return path
