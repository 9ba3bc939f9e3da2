"""Control-plane routes for experiments, lineage and the audit trail (mounted by `server.py`).

GET /v1/experiments/runs?pipeline=NAME&limit=N   runs as rows: params, last metric values, data, commit
GET /v1/experiments/runs/{id}                    one run: params, metrics (series too), artifacts per step
GET /v1/lineage/endpoints/{name}                 each serving version's run, data, code, features, approver
GET /v1/lineage/models/{group}/{version}         the same for one registry version
GET /v1/audit?since=EPOCH&action=A&limit=N       the audit trail, oldest first (append-only)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Query
from fastapi import Path as PathParam

from mlstack.emulator import provenance
from mlstack.spec.types import MAX_INT

if TYPE_CHECKING:
    from mlstack.emulator.core import Emulator

MAX_RUNS = 1000
Limit = Annotated[int, Query(ge=1, le=MAX_RUNS)]


def routes(core: Emulator) -> APIRouter:
    router = APIRouter()

    @router.get("/v1/experiments/runs")
    def runs(pipeline: str | None = None, limit: Limit = 20) -> list[dict[str, Any]]:
        return [core.experiments.summary(run) for run in core.runs(pipeline, limit)]

    @router.get("/v1/experiments/runs/{run_id}")
    def run(run_id: str) -> dict[str, Any]:
        return core.experiments.detail(core.run(run_id))

    @router.get("/v1/lineage/endpoints/{name}")
    def endpoint_lineage(name: str) -> dict[str, Any]:
        return provenance.of_endpoint(core, name)

    @router.get("/v1/lineage/models/{group}/{version}")
    def model_lineage(group: str, version: Annotated[int, PathParam(ge=1, le=MAX_INT)]) -> dict[str, Any]:
        return provenance.of_version(core, group, version)

    @router.get("/v1/audit")
    def audit(
        since: Annotated[float | None, Query(ge=0)] = None, action: str | None = None, limit: Limit = 1000
    ) -> list[dict[str, Any]]:
        return core.audit.query(since=since, action=action, limit=limit)

    return router
