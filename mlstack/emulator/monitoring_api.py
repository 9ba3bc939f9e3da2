"""Control-plane routes for traffic, rollbacks, ground truth and monitors (mounted by `server.py`).

GET  /v1/endpoints/{name}/traffic        fleets, weights, recent answers, rollout, autoscaling, serverless
POST /v1/endpoints/{name}/rollback       {"reason": "..."}: back to the version served before
POST /v1/endpoints/{name}/ground-truth   {"labels": [{"correlation_id": "...", "label": ...}]}
POST /v1/monitors/{name}/runs            evaluate now; a breach records an alert and runs the actions
GET  /v1/monitors/{name}/runs?limit=N    recent runs, newest first
GET  /v1/monitors/{name}/report          a self-contained HTML report (evaluates, takes no action)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Body
from fastapi.responses import HTMLResponse

from mlstack.emulator import async_queue
from mlstack.emulator.errors import BadRequest
from mlstack.emulator.rollout import alarm, seconds
from mlstack.emulator.traffic import Fleet

if TYPE_CHECKING:
    from mlstack.emulator.core import Emulator

RECENT_SECONDS = 60.0


def routes(core: Emulator) -> APIRouter:
    router = APIRouter()

    @router.get("/v1/endpoints/{name}/traffic")
    def traffic(name: str) -> dict[str, Any]:
        config = core.resource("endpoint", name)["config"]
        runtime = core.serving.get(name)
        rollback = config["strategy"].get("rollback")
        span = seconds(rollback["window"]) if rollback else RECENT_SECONDS

        def fleet_view(fleet: Fleet, entry: dict[str, Any]) -> dict[str, Any]:
            return {**entry, "recent": fleet.window.stats(span).as_dict(), "alarm": alarm(rollback, fleet.window)}

        fleets = runtime.routing.fleets()
        return {
            "endpoint": name,
            "strategy": config["strategy"]["type"],
            "variants": [fleet_view(f, e) for f, e in zip(fleets, runtime.routing.describe(), strict=True)],
            "rollout": core.rollouts.view(name),
            "autoscaling": core.autoscaler.view(name, config.get("autoscaling")),
            "timeout_seconds": runtime.timeout,
            **({"serverless": runtime.describe()["serverless"]} if runtime.idle_timeout is not None else {}),
        }

    @router.post("/v1/endpoints/{name}/rollback")
    def rollback(name: str, body: Any = Body(default={})) -> dict[str, Any]:
        reason = body.get("reason") if isinstance(body, dict) else None
        return {"message": core.rollouts.rollback(name, str(reason or "asked for over the API"))}

    @router.post("/v1/endpoints/{name}/ground-truth")
    def ground_truth(name: str, body: Any = Body(...)) -> dict[str, Any]:
        labels = body.get("labels") if isinstance(body, dict) else None
        if not isinstance(labels, list):
            raise BadRequest('send {"labels": [{"correlation_id": "...", "label": ...}, ...]}')
        core.resource("endpoint", name)  # labels only for an endpoint that exists: its name makes a folder
        return {"endpoint": name, "stored": core.monitors.add_labels(name, labels)}

    @router.post("/v1/monitors/{name}/runs")
    def run_monitor(name: str) -> dict[str, Any]:
        return core.monitors.run(name, "manual")

    @router.get("/v1/monitors/{name}/runs")
    def monitor_runs(name: str, limit: int = 20) -> list[dict[str, Any]]:
        return core.monitors.runs(name, limit)

    @router.get("/v1/monitors/{name}/report")
    def report(name: str) -> HTMLResponse:
        from mlstack.emulator.report import render

        config = core.monitors.config(name)
        return HTMLResponse(render(core.monitors.evaluate(config), core.monitors.runs(name, 10)))

    router.include_router(async_queue.routes(core))
    return router
