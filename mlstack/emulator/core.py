"""The emulator itself: stores, registry, feature store, pipelines, serving and scheduler behind
one object. The HTTP server (`server.py`) is a thin layer over it."""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from mlstack.emulator import procs, reconcile
from mlstack.emulator.audit import AuditTrail
from mlstack.emulator.autoscaling import Autoscaler
from mlstack.emulator.batch import BatchJobs
from mlstack.emulator.errors import BadRequest, Conflict, NotFound
from mlstack.emulator.features import FeatureStore, View
from mlstack.emulator.features.online import OnlineStore
from mlstack.emulator.layout import StateDir, inside
from mlstack.emulator.monitors import Monitors
from mlstack.emulator.operations import Operation, Operations
from mlstack.emulator.pipelines.experiments import Experiments
from mlstack.emulator.pipelines.runner import PipelineRunner
from mlstack.emulator.promotion import Policy, Promotions
from mlstack.emulator.registry import Registry, Version
from mlstack.emulator.resources import ENDPOINTS, HANDLERS
from mlstack.emulator.rollout import Rollouts
from mlstack.emulator.scheduler import Scheduler
from mlstack.emulator.serving import Serving
from mlstack.emulator.store import open_state
from mlstack.errors import MlstackError, did_you_mean

log = logging.getLogger("mlstack.emulator")
RESOURCE_WAIT = 900.0  # how long a per-resource write waits for a running apply
INTERRUPTED_RUN = "interrupted: the emulator stopped during the run; start it again with `mlstack pipeline run {}`"


class Emulator:
    def __init__(self, state: StateDir, base_url: str = "") -> None:
        self.state = state
        state.create()
        for directory in (state.artifacts, state.runs, state.offline, state.captures):
            directory.mkdir(exist_ok=True)
        self.base_url = base_url
        self.db = open_state(state.database)
        self.registry = Registry(self.db, state.artifacts)
        self.promotions = Promotions(self.db)
        self.audit = AuditTrail(self.db)
        self.experiments = Experiments(self.db)
        self.features = FeatureStore(OnlineStore(state.online_database), self._views)
        self.serving = Serving(state.captures)
        self.rollouts = Rollouts(self)
        self.scheduler = Scheduler()
        self.operations = Operations(self.db)
        self.runner = PipelineRunner(self)
        self.monitors = Monitors(self)
        self.batch = BatchJobs(self)
        self.autoscaler = Autoscaler(self)
        # Held while an endpoint's row is rewritten outside an apply (deployment steps, rollouts).
        self.write_lock = threading.RLock()

    # --- lifecycle ------------------------------------------------------------------------------

    def start(self) -> dict[str, int]:
        """Recover from a crash, bring back schedules and serving, start the scheduler."""
        recovered = self.recover()
        for row in self.resources():
            try:
                HANDLERS[row["kind"]].restore(self, row["name"], row["config"], row["observed"])
            except MlstackError as exc:
                # One broken resource (say, an artifact deleted by hand) must not keep the rest down.
                log.error("could not restore %s %s: %s", row["kind"], row["name"], exc)
                self.put_resource(row["kind"], row["name"], row["config"], "failed", str(exc), {})
        self.scheduler.start()
        self.autoscaler.start()
        return recovered

    def recover(self) -> dict[str, int]:
        """Mark what a crash interrupted as failed and remove what it left half-made."""
        now = time.time()
        orphans = 0
        for row in self.db.query("SELECT pid, pid_started FROM steps WHERE status = 'running' AND pid IS NOT NULL"):
            orphans += procs.kill_orphan(row["pid"], row["pid_started"])
        with self.db.transaction() as conn:
            unfinished = [r["id"] for r in conn.execute("SELECT id FROM runs WHERE status IN ('pending', 'running')")]
            conn.execute(
                "UPDATE steps SET status = 'failed', finished_at = ?, "
                "message = 'interrupted: the emulator stopped during this step' WHERE status = 'running'",
                (now,),
            )
            for run_id in unfinished:
                conn.execute("UPDATE steps SET status = 'skipped' WHERE run_id = ? AND status = 'pending'", (run_id,))
                pipeline = conn.execute("SELECT pipeline FROM runs WHERE id = ?", (run_id,)).fetchone()[0]
                conn.execute(
                    "UPDATE runs SET status = 'failed', finished_at = ?, message = ? WHERE id = ?",
                    (now, INTERRUPTED_RUN.format(pipeline), run_id),
                )
            batch_runs = self.batch.recover(conn, now)
            materializations = conn.execute(
                "UPDATE materializations SET status = 'failed', finished_at = ?, "
                "message = 'interrupted: the emulator stopped' WHERE status = 'running'",
                (now,),
            ).rowcount
        return {
            "runs": len(unfinished),
            "orphaned_steps_killed": orphans,
            "operations": self.operations.recover(),
            "materializations": materializations,
            "batch_runs": batch_runs,
            "artifacts_removed": len(self.registry.remove_orphans()),
        }

    def close(self) -> None:
        self.scheduler.stop()
        self.autoscaler.stop()
        self.rollouts.close()
        self.runner.stop()
        self.serving.close()
        self.features.close()
        self.db.close()

    # --- resources ------------------------------------------------------------------------------

    @staticmethod
    def _row(row: Any) -> dict[str, Any]:
        return {
            "kind": row["kind"],
            "name": row["name"],
            "config": json.loads(row["config"]),
            "status": row["status"],
            "message": row["message"],
            "observed": json.loads(row["observed"]),
            "created_at": row["created_at"],
            "updated_at": row["updated_at"],
        }

    def resources(self, kind: str | None = None) -> list[dict[str, Any]]:
        if kind is None:
            rows = self.db.query("SELECT * FROM resources")
        else:
            rows = self.db.query("SELECT * FROM resources WHERE kind = ?", (kind,))
        return [self._row(r) for r in rows]

    def resource(self, kind: str, name: str) -> dict[str, Any]:
        row = self.db.one("SELECT * FROM resources WHERE kind = ? AND name = ?", (kind, name))
        if row is None:
            raise NotFound(f"no {kind} '{name}' is applied")
        return self._row(row)

    def configs(self, kind: str) -> list[dict[str, Any]]:
        return [r["config"] for r in self.resources(kind)]

    def observed(self, kind: str, name: str) -> dict[str, Any]:
        row = self.db.one("SELECT observed FROM resources WHERE kind = ? AND name = ?", (kind, name))
        return json.loads(row["observed"]) if row else {}

    def put_resource(
        self, kind: str, name: str, config: dict[str, Any], status: str, message: str, observed: dict[str, Any]
    ) -> None:
        now = time.time()
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO resources (kind, name, config, status, message, observed, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (kind, name) DO UPDATE SET config = excluded.config, "
                "status = excluded.status, message = excluded.message, observed = excluded.observed, "
                "updated_at = excluded.updated_at",
                (kind, name, json.dumps(config), status, message, json.dumps(observed), now, now),
            )

    def remove_resource(self, kind: str, name: str) -> None:
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM resources WHERE kind = ? AND name = ?", (kind, name))

    def platform(self) -> str | None:
        row = self.db.one("SELECT value FROM meta WHERE key = 'platform'")
        return row["value"] if row else None

    def set_platform(self, desired: dict[str, Any]) -> None:
        with self.db.transaction() as conn:
            for key in ("platform", "spec_file"):
                if desired.get(key):
                    conn.execute(
                        "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                        (key, desired[key]),
                    )

    def _views(self) -> dict[str, View]:
        return {c["name"]: View.from_config(c) for c in self.configs("feature_view")}

    # --- plan and apply -------------------------------------------------------------------------

    def plan(self, desired: dict[str, Any]) -> dict[str, Any]:
        result = reconcile.plan(self, desired)
        result.pop("_changes")
        return result

    def start_apply(self, desired: dict[str, Any]) -> Operation:
        reconcile.validate_desired(desired)
        name = desired.get("platform") or "a desired state"

        def work(op: Operation) -> dict[str, Any]:
            self.audit.record(None, "apply", name, desired.get("spec_file") or "", {"operation": op.id})
            return reconcile.apply(self, desired, op)

        return self.operations.start("apply", f"applying {name}", work, exclusive=True)

    def put(self, kind: str, name: str, config: dict[str, Any]) -> dict[str, Any]:
        """Apply one resource now (the Pulumi backend's create/update); waits for a running apply."""
        reconcile.validate_desired({"resources": [{"kind": kind, "name": name, "config": config}]})
        op = Operation(id=f"put-{kind}-{name}", kind="put", description=f"put {kind} {name}")
        with self._exclusive():
            row = reconcile.apply_one(self, kind, name, config, op)
        return {**row, "events": op.events}

    def delete(self, kind: str, name: str) -> None:
        with self._exclusive():
            reconcile.delete_one(self, kind, name, None)

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        lock = self.operations.apply_lock
        if not lock.acquire(timeout=RESOURCE_WAIT):
            raise Conflict("the emulator stayed busy with another change; try again")
        try:
            yield
        finally:
            lock.release()

    # --- pipelines ------------------------------------------------------------------------------

    def start_run(
        self, pipeline: str, trigger: str = "manual", parameters: dict[str, Any] | None = None
    ) -> tuple[str, Operation] | None:
        """Start a run in the background; None when a scheduled run finds the previous one running."""
        config = self.resource("pipeline", pipeline)["config"]
        if trigger == "schedule" and self.db.one(
            "SELECT 1 FROM runs WHERE pipeline = ? AND status IN ('pending', 'running')", (pipeline,)
        ):
            return None
        run_id = self.runner.create(config, trigger, parameters)
        self.audit.record(None, "run", pipeline, trigger, {"run_id": run_id, "parameters": parameters or {}})

        def work(op: Operation) -> dict[str, Any]:
            run = self.runner.execute(run_id, config, op.emit)
            if run["status"] != "succeeded":
                raise MlstackError(f"run {run_id} {run['status']}: {run['message']}")
            return {"run": run}

        return run_id, self.operations.start("run", f"run {run_id}", work)

    def run_pipeline_now(self, pipeline: str, trigger: str, op: Operation) -> dict[str, Any]:
        config = self.resource("pipeline", pipeline)["config"]
        run_id = self.runner.create(config, trigger)
        self.audit.record(None, "run", pipeline, trigger, {"run_id": run_id})
        return self.runner.execute(run_id, config, op.emit)

    def run(self, run_id: str) -> dict[str, Any]:
        row = self.db.one("SELECT * FROM runs WHERE id = ?", (run_id,))
        if row is None:
            raise NotFound(f"no pipeline run '{run_id}'")
        steps = self.db.query("SELECT * FROM steps WHERE run_id = ? ORDER BY position", (run_id,))
        return {
            "id": row["id"],
            "pipeline": row["pipeline"],
            "status": row["status"],
            "trigger": row["trigger"],
            "parameters": json.loads(row["parameters"]),
            "started_at": row["started_at"],
            "finished_at": row["finished_at"],
            "message": row["message"],
            "lineage": json.loads(row["lineage"]),
            "steps": [
                {
                    "name": s["name"],
                    "kind": s["kind"],
                    "status": s["status"],
                    "started_at": s["started_at"],
                    "finished_at": s["finished_at"],
                    "message": s["message"],
                    "log": str(inside(self.state.runs, run_id, s["name"], "log.txt")),
                }
                for s in steps
            ],
        }

    def runs(self, pipeline: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
        if pipeline is None:
            rows = self.db.query("SELECT id FROM runs ORDER BY started_at DESC LIMIT ?", (limit,))
        else:
            rows = self.db.query(
                "SELECT id FROM runs WHERE pipeline = ? ORDER BY started_at DESC LIMIT ?", (pipeline, limit)
            )
        return [self.run(r["id"]) for r in rows]

    def on_monitor_alert(self, monitor: str, detail: str = "") -> dict[str, Any]:
        """A monitor alerted: start the pipelines that retrain on it (the monitor's retrain actions
        and pipelines with `triggers: on_alert`). The monitoring service calls this."""
        monitors = {c["name"]: c for c in self.configs("monitor")}
        if monitor not in monitors:
            raise NotFound(f"no monitor '{monitor}' is applied{did_you_mean(monitor, monitors)}")
        pipelines = [
            c["name"] for c in self.configs("pipeline") if any(t["on_alert"] == monitor for t in c.get("triggers", []))
        ]
        config = monitors.get(monitor, {})
        pipelines += [a["pipeline"] for a in config.get("actions", []) if a["type"] == "retrain"]
        started = []
        for pipeline in dict.fromkeys(pipelines):
            result = self.start_run(pipeline, f"alert:{monitor}")
            if result is not None:
                started.append(result[0])
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO alerts (monitor, at, detail, runs) VALUES (?, ?, ?, ?)",
                (monitor, time.time(), detail, json.dumps(started)),
            )
        self.audit.record(None, "alert", monitor, detail, {"runs": started})
        return {"monitor": monitor, "runs": started}

    # --- endpoints and registry ------------------------------------------------------------------

    def endpoint_url(self, name: str) -> str:
        return f"{self.base_url}/endpoints/{name}/invocations"

    def deploy_endpoint(self, name: str) -> str:
        """Point the endpoint at what its model reference names now (a pipeline's deployment step)."""
        with self.write_lock:
            row = self.resource("endpoint", name)
            outcome = ENDPOINTS.redeploy(self, name, row["config"])
            self.put_resource("endpoint", name, row["config"], outcome.status, outcome.message, outcome.observed)
        self.audit.record(None, "deploy", f"endpoint {name}", outcome.message, {"status": outcome.status})
        return (
            f"endpoint {name}: {outcome.message}"
            if outcome.status == "ready"
            else f"endpoint {name} {outcome.status}: {outcome.message}"
        )

    def followers(self, group: str, aliases: list[str]) -> list[str]:
        """Endpoints whose variants (or shadow) serve one of these aliases of the group."""
        names = []
        for row in sorted(self.resources("endpoint"), key=lambda r: r["name"]):
            config = row["config"]
            refs = [v["model"] for v in config["variants"]] + (
                [config["shadow"]["model"]] if config.get("shadow") else []
            )
            if any(ref["group"] == group and ref.get("alias") in aliases for ref in refs):
                names.append(row["name"])
        return names

    def set_approval(self, group: str, version: int, approval: str) -> dict[str, Any]:
        """Approve or reject a version; endpoints that were waiting for it deploy now.

        A rejected version stops being served at once, whatever the group's approval policy: every
        endpoint serving it (in any variant or as a shadow) stops and waits, refusing invocations,
        until its model reference names a version that may be served; it then deploys that one."""
        result = self.registry.set_approval(group, version, approval).as_dict()
        action = {"approved": "approve", "rejected": "reject"}.get(approval, approval)
        self.audit.record(None, action, f"{group} v{version}")
        deployed = []
        if approval == "rejected":
            deployed += self._stop_serving(group, version)
        deployed += [self.deploy_endpoint(name) for name in self._waiting_on(group)]
        return {**result, "endpoints": deployed}

    def policy(self, group: str) -> Policy | None:
        """The group's promotion policy as last applied, None when it has none."""
        self.registry.group(group)
        row = self.db.one("SELECT config FROM resources WHERE kind = 'model_group' AND name = ?", (group,))
        return Policy.of(json.loads(row["config"])) if row else None

    def promote(
        self, group: str, version: int, to: str, approvers: list[str], by: str, reason: str = ""
    ) -> dict[str, Any]:
        """Promote a version into the next stage; endpoints of that stage waiting for it deploy now."""
        policy = self.policy(group)
        if policy is None:
            raise Conflict(
                f"model group {group} has no promotion stages; give it `promotion: {{stages: [...]}}` in the spec "
                "(or registry.promotion) and apply it"
            )
        found = self.registry.version(group, version)
        record = self.promotions.promote(found, policy, to, approvers, by, reason)
        self.audit.record(
            None, "promote", f"{group} v{version}", reason, {"to": to, "approvers": record["approvers"], "by": by}
        )
        deployed = [self.deploy_endpoint(name) for name in self._waiting_on(group)]
        stages = self.promotions.stages(found, policy)
        return {**found.as_dict(), "promotion": record, "stages": stages, "endpoints": deployed}

    def promotion_status(self, group: str, version: int) -> dict[str, Any]:
        found = self.registry.version(group, version)
        policy = self.policy(group)
        return {
            "group": group,
            "version": version,
            "stages": self.promotions.stages(found, policy) if policy else [],
            "policy": {"stages": policy.stages, "approvers": policy.approvers, "serves": policy.serves}
            if policy
            else None,
            "promotions": self.promotions.history(group, version),
        }

    def card(self, group: str, version: int) -> dict[str, Any]:
        """What a model card says (mlstack.cards renders it): the version, its group's intended use and
        limitations from the spec, the run that registered it, approvals and promotions."""
        found = self.registry.version(group, version).as_dict()
        row = self.db.one("SELECT config FROM resources WHERE kind = 'model_group' AND name = ?", (group,))
        config = json.loads(row["config"]) if row else {}
        run = None
        if found["source"].startswith("run:"):
            with contextlib.suppress(NotFound):  # a run pruned since: the lineage on the version remains
                run = self.run(found["source"].removeprefix("run:"))
        return {
            **found,
            "description": config.get("description", ""),
            "intended_use": config.get("intended_use", ""),
            "limitations": config.get("limitations", ""),
            "run": {k: run[k] for k in ("id", "pipeline", "status", "started_at")} if run else None,
            "promotion": self.promotion_status(group, version),
        }

    def _waiting_on(self, group: str) -> list[str]:
        return [
            row["name"]
            for row in self.resources("endpoint")
            if row["status"] == "waiting" and any(v["model"]["group"] == group for v in row["config"]["variants"])
        ]

    def _stop_serving(self, group: str, version: int) -> list[str]:
        stopped = []
        for row in self.resources("endpoint"):
            runtime = self.serving.serving(row["name"])
            if runtime and any(
                (f.version.group, f.version.version) == (group, version) for f in runtime.routing.fleets()
            ):
                message = f"{group} v{version} was rejected: stopped serving it until a servable version is named"
                with self.write_lock:
                    self.rollouts.remove(row["name"])
                    self.put_resource("endpoint", row["name"], row["config"], "waiting", message, {})
                stopped.append(f"endpoint {row['name']}: {message}")
        return stopped

    def endpoints(self) -> list[dict[str, Any]]:
        return [
            {
                "name": r["name"],
                "status": r["status"],
                "message": r["message"],
                "url": self.endpoint_url(r["name"]),
                "serving": r["observed"].get("serving", []),
                "example": r["observed"].get("example"),
            }
            for r in sorted(self.resources("endpoint"), key=lambda r: r["name"])
        ]

    def version(self, group: str, version: int) -> Version:
        return self.registry.version(group, version)

    # --- feature store --------------------------------------------------------------------------

    def start_materialization(
        self, view: str, trigger: str = "manual", start: float | None = None, end: float | None = None
    ) -> Operation:
        self.features.view(view)  # fail now, not in the background, on an unknown view

        def work(op: Operation) -> dict[str, Any]:
            with self.db.transaction() as conn:
                record = conn.execute(
                    "INSERT INTO materializations (view, status, started_at) VALUES (?, 'running', ?)",
                    (view, time.time()),
                ).lastrowid
            op.emit(f"materializing {view} ({trigger})")
            try:
                rows = self.features.materialize(view, start, end)
            except Exception as exc:
                self._finish_materialization(record, "failed", 0, str(exc))
                raise
            self._finish_materialization(record, "succeeded", rows, "")
            op.emit(f"materialized {rows} rows of {view}")
            return {"view": view, "rows": rows, **self.features.freshness(view)}

        return self.operations.start("materialize", f"materialize {view}", work)

    def _finish_materialization(self, record: int | None, status: str, rows: int, message: str) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE materializations SET status = ?, finished_at = ?, rows = ?, message = ? WHERE id = ?",
                (status, time.time(), rows, message, record),
            )

    # --- status ---------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        jobs = self.scheduler.jobs()
        return {
            "platform": self.platform(),
            "state_dir": str(self.state.root),
            "url": self.base_url,
            "resources": [
                {"kind": r["kind"], "name": r["name"], "status": r["status"], "message": r["message"]}
                for r in sorted(self.resources(), key=lambda r: (reconcile.KINDS.index(r["kind"]), r["name"]))
            ],
            "endpoints": self.endpoints(),
            "registry": [
                {**g, "versions": [v.as_dict() for v in self.registry.versions(g["name"])]}
                for g in self.registry.groups()
            ],
            "runs": self.runs(limit=10),
            "schedules": [{"job": key, "next": due} for key, due in sorted(jobs.items())],
            "operations": [o.view(len(o.events)) for o in self.operations.running()],
        }

    def check_kind(self, kind: str) -> None:
        if kind not in HANDLERS:
            raise BadRequest(f"unknown resource kind '{kind}'; expected one of: {', '.join(HANDLERS)}")
