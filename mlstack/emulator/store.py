"""The state database: control plane and model registry in one SQLite file.

They share a file so that registering a version and recording the pipeline step that did it commit
in one transaction: a crash leaves either both or neither.
"""

from __future__ import annotations

from pathlib import Path

from mlstack.emulator import audit
from mlstack.emulator.db import Database
from mlstack.emulator.pipelines import experiments

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Desired configuration of every applied spec object, with what the emulator observed of it.
CREATE TABLE IF NOT EXISTS resources (
    kind       TEXT NOT NULL,
    name       TEXT NOT NULL,
    config     TEXT NOT NULL,
    status     TEXT NOT NULL,
    message    TEXT NOT NULL DEFAULT '',
    observed   TEXT NOT NULL DEFAULT '{}',
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (kind, name)
);

CREATE TABLE IF NOT EXISTS operations (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    status      TEXT NOT NULL,
    started_at  REAL NOT NULL,
    finished_at REAL,
    message     TEXT NOT NULL DEFAULT ''
);

CREATE TABLE IF NOT EXISTS runs (
    id          TEXT PRIMARY KEY,
    pipeline    TEXT NOT NULL,
    status      TEXT NOT NULL,
    trigger     TEXT NOT NULL,
    parameters  TEXT NOT NULL DEFAULT '{}',
    started_at  REAL NOT NULL,
    finished_at REAL,
    message     TEXT NOT NULL DEFAULT '',
    lineage     TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS runs_by_pipeline ON runs (pipeline, started_at);

CREATE TABLE IF NOT EXISTS steps (
    run_id      TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL,
    status      TEXT NOT NULL,
    pid         INTEGER,
    pid_started TEXT,
    started_at  REAL,
    finished_at REAL,
    exit_code   INTEGER,
    message     TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (run_id, name)
);

CREATE TABLE IF NOT EXISTS model_groups (
    name        TEXT PRIMARY KEY,
    approval    TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    tags        TEXT NOT NULL DEFAULT '{}',
    created_at  REAL NOT NULL
);

CREATE TABLE IF NOT EXISTS model_versions (
    grp        TEXT NOT NULL REFERENCES model_groups (name) ON DELETE CASCADE,
    version    INTEGER NOT NULL,
    artifact   TEXT NOT NULL,
    framework  TEXT NOT NULL,
    entrypoint TEXT,
    approval   TEXT NOT NULL,
    metrics    TEXT NOT NULL DEFAULT '{}',
    params     TEXT NOT NULL DEFAULT '{}',
    lineage    TEXT NOT NULL DEFAULT '{}',
    source     TEXT NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (grp, version)
);

CREATE TABLE IF NOT EXISTS aliases (
    grp     TEXT NOT NULL,
    alias   TEXT NOT NULL,
    version INTEGER NOT NULL,
    PRIMARY KEY (grp, alias),
    FOREIGN KEY (grp, version) REFERENCES model_versions (grp, version) ON DELETE CASCADE
);

-- Promotions between environments (mlstack/emulator/promotion.py): append-only, one row per stage a
-- version entered after its first, with the approvers recorded.
CREATE TABLE IF NOT EXISTS promotions (
    id          INTEGER PRIMARY KEY,
    grp         TEXT NOT NULL,
    version     INTEGER NOT NULL,
    stage       TEXT NOT NULL,
    approvers   TEXT NOT NULL,
    promoted_by TEXT NOT NULL,
    reason      TEXT NOT NULL DEFAULT '',
    at          REAL NOT NULL,
    UNIQUE (grp, version, stage),
    FOREIGN KEY (grp, version) REFERENCES model_versions (grp, version) ON DELETE CASCADE
);

CREATE TABLE IF NOT EXISTS materializations (
    id          INTEGER PRIMARY KEY,
    view        TEXT NOT NULL,
    status      TEXT NOT NULL,
    started_at  REAL NOT NULL,
    finished_at REAL,
    rows        INTEGER NOT NULL DEFAULT 0,
    message     TEXT NOT NULL DEFAULT ''
);

-- Runs of batch scoring jobs (mlstack.emulator.batch).
CREATE TABLE IF NOT EXISTS batch_runs (
    id          TEXT PRIMARY KEY,
    job         TEXT NOT NULL,
    status      TEXT NOT NULL,
    trigger     TEXT NOT NULL,
    started_at  REAL NOT NULL,
    finished_at REAL,
    rows        INTEGER NOT NULL DEFAULT 0,
    output      TEXT,
    message     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS batch_runs_by_job ON batch_runs (job, started_at);

CREATE TABLE IF NOT EXISTS alerts (
    id      INTEGER PRIMARY KEY,
    monitor TEXT NOT NULL,
    at      REAL NOT NULL,
    detail  TEXT NOT NULL DEFAULT '',
    runs    TEXT NOT NULL DEFAULT '[]'
);
"""


def open_state(path: Path) -> Database:
    return Database(path, SCHEMA + experiments.SCHEMA + audit.SCHEMA)
