"""Experiment tracking on the local target: what every pipeline run used and produced, per step.

A run's row (`runs`) already holds its parameters and lineage (data snapshot, code commit and hashes);
these tables add, per step, the parameters it ran with and logged, its metrics (an evaluation's
metrics.json, and every value a step logged with `mlstack.runtime.tracking`, time series included) and
the artifacts it wrote. `mlstack runs list|show|compare` read them over /v1/experiments.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from mlstack.emulator.db import Database
from mlstack.emulator.pipelines.lineage import file_sha256
from mlstack.runtime import contract, tracking

SCHEMA = """
CREATE TABLE IF NOT EXISTS run_params (
    run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    step   TEXT NOT NULL,
    key    TEXT NOT NULL,
    value  TEXT NOT NULL,
    logged INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, step, key)
);
CREATE TABLE IF NOT EXISTS run_metrics (
    id     INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    step   TEXT NOT NULL,
    key    TEXT NOT NULL,
    value  REAL NOT NULL,
    series INTEGER,
    at     REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS run_metrics_by_run ON run_metrics (run_id, key);
CREATE TABLE IF NOT EXISTS run_artifacts (
    run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    step   TEXT NOT NULL,
    path   TEXT NOT NULL,
    bytes  INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    PRIMARY KEY (run_id, step, path)
);
"""
MAX_ARTIFACTS = 200  # per step: a step that writes thousands of files is summarised, not listed


def record_step(
    conn: sqlite3.Connection, run_id: str, step: str, params: dict[str, Any], output: Path, finished_at: float
) -> None:
    """Store a finished code step's params, metrics and artifacts inside the caller's transaction.
    TrackingError (a ValueError) when its tracking file breaks the contract."""
    logged = tracking.read(output / tracking.TRACKING_FILE)
    rows = [(run_id, step, k, json.dumps(v) if not isinstance(v, str) else v, 0) for k, v in params.items()]
    rows += [(run_id, step, k, v, 1) for k, v in logged.params.items()]
    conn.executemany(
        "INSERT INTO run_params (run_id, step, key, value, logged) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (run_id, step, key) DO UPDATE SET value = excluded.value, logged = excluded.logged",
        rows,
    )
    metrics = [(run_id, step, m["key"], m["value"], m["step"], m["t"] or finished_at) for m in logged.metrics]
    metrics_file = output / contract.METRICS_FILE
    if metrics_file.is_file():
        metrics += [(run_id, step, k, v, None, finished_at) for k, v in contract.read_metrics(metrics_file).items()]
    conn.executemany(
        "INSERT INTO run_metrics (run_id, step, key, value, series, at) VALUES (?, ?, ?, ?, ?, ?)", metrics
    )
    files = sorted(p for p in output.rglob("*") if p.is_file() and p.name != tracking.TRACKING_FILE)
    conn.executemany(
        "INSERT OR REPLACE INTO run_artifacts (run_id, step, path, bytes, sha256) VALUES (?, ?, ?, ?, ?)",
        [(run_id, step, str(p.relative_to(output)), p.stat().st_size, file_sha256(p)) for p in files[:MAX_ARTIFACTS]],
    )


class Experiments:
    """Reads what `record_step` stored, joined with the runs and the versions they registered."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def params(self, run_id: str) -> list[dict[str, Any]]:
        rows = self.db.query("SELECT * FROM run_params WHERE run_id = ? ORDER BY step, key", (run_id,))
        return [{"step": r["step"], "key": r["key"], "value": r["value"], "logged": bool(r["logged"])} for r in rows]

    def metrics(self, run_id: str) -> list[dict[str, Any]]:
        rows = self.db.query("SELECT * FROM run_metrics WHERE run_id = ? ORDER BY id", (run_id,))
        return [
            {"step": r["step"], "key": r["key"], "value": r["value"], "series": r["series"], "at": r["at"]}
            for r in rows
        ]

    def artifacts(self, run_id: str) -> list[dict[str, Any]]:
        rows = self.db.query("SELECT * FROM run_artifacts WHERE run_id = ? ORDER BY step, path", (run_id,))
        return [{"step": r["step"], "path": r["path"], "bytes": r["bytes"], "sha256": r["sha256"]} for r in rows]

    def registered(self, run_id: str) -> list[dict[str, Any]]:
        rows = self.db.query(
            "SELECT grp, version, approval FROM model_versions WHERE source = ? ORDER BY grp, version",
            (f"run:{run_id}",),
        )
        return [{"group": r["grp"], "version": r["version"], "approval": r["approval"]} for r in rows]

    def summary(self, run: dict[str, Any]) -> dict[str, Any]:
        """A run as one row: its parameters, the last value of each metric, data and code."""
        lineage = run["lineage"]
        params: dict[str, str] = {}
        for p in self.params(run["id"]):
            params[p["key"]] = p["value"]  # steps in name order; a key two steps set shows the later
        last: dict[str, float] = {}
        for m in self.metrics(run["id"]):
            last[m["key"]] = m["value"]
        return {
            "id": run["id"],
            "pipeline": run["pipeline"],
            "status": run["status"],
            "trigger": run["trigger"],
            "started_at": run["started_at"],
            "finished_at": run["finished_at"],
            "params": params,
            "metrics": last,
            "data_sha256": lineage.get("data_sha256"),
            "code_commit": lineage.get("code_commit"),
            "registered": self.registered(run["id"]),
        }

    def detail(self, run: dict[str, Any]) -> dict[str, Any]:
        return {
            **run,
            "params_by_step": self.params(run["id"]),
            "metrics_by_step": self.metrics(run["id"]),
            "artifacts": self.artifacts(run["id"]),
            "registered": self.registered(run["id"]),
        }
