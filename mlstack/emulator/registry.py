"""The model registry: groups, immutable versions with artifact, metrics, params and lineage,
approval status and movable aliases (champion, challenger)."""

from __future__ import annotations

import json
import math
import shutil
import sqlite3
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlstack.emulator.db import Database
from mlstack.emulator.errors import BadRequest, Conflict, NotFound
from mlstack.emulator.layout import inside
from mlstack.emulator.pipelines.lineage import file_sha256

ARTIFACT_NAME = "model.joblib"
# A skops file keeps its suffix in the registry: it is what says to load it with skops, not pickle.
SKOPS_ARTIFACT_NAME = "model.skops"
ARTIFACT_DIGEST = "artifact_sha256"


@dataclass(frozen=True)
class Version:
    group: str
    version: int
    artifact: str
    framework: str
    entrypoint: str | None
    approval: str
    metrics: dict[str, float]
    params: dict[str, Any]
    lineage: dict[str, Any]
    source: str
    created_at: float
    aliases: list[str] = field(default_factory=list)

    @property
    def ref(self) -> str:
        return f"{self.group} v{self.version}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "version": self.version,
            "artifact": self.artifact,
            "framework": self.framework,
            "entrypoint": self.entrypoint,
            "approval": self.approval,
            "metrics": self.metrics,
            "params": self.params,
            "lineage": self.lineage,
            "source": self.source,
            "created_at": self.created_at,
            "aliases": self.aliases,
        }


@dataclass(frozen=True)
class NewVersion:
    """What a registration brings: the artifact file and what is known about how it was made."""

    artifact: Path
    framework: str = "sklearn"
    entrypoint: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    lineage: dict[str, Any] = field(default_factory=dict)
    source: str = "api"
    approval: str | None = None  # None: the group's policy decides
    aliases: list[str] = field(default_factory=list)


class Registry:
    def __init__(self, db: Database, artifacts: Path) -> None:
        self.db = db
        self.artifacts = artifacts

    # --- groups ---------------------------------------------------------------------------------

    def put_group(self, name: str, approval: str, description: str = "", tags: dict[str, str] | None = None) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO model_groups (name, approval, description, tags, created_at) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET approval = excluded.approval, "
                "description = excluded.description, tags = excluded.tags",
                (name, approval, description, json.dumps(tags or {}), time.time()),
            )

    def delete_group(self, name: str) -> None:
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM model_groups WHERE name = ?", (name,))
        shutil.rmtree(inside(self.artifacts, name), ignore_errors=True)

    def group(self, name: str) -> dict[str, Any]:
        row = self.db.one("SELECT * FROM model_groups WHERE name = ?", (name,))
        if row is None:
            raise NotFound(f"no model group '{name}' in the registry")
        return {
            "name": row["name"],
            "approval": row["approval"],
            "description": row["description"],
            "tags": json.loads(row["tags"]),
        }

    def groups(self) -> list[dict[str, Any]]:
        return [self.group(row["name"]) for row in self.db.query("SELECT name FROM model_groups ORDER BY name")]

    # --- versions -------------------------------------------------------------------------------

    def register(self, conn: sqlite3.Connection, group: str, new: NewVersion, version: int | None = None) -> Version:
        """Add a version inside the caller's transaction (BEGIN IMMEDIATE held), copying the artifact in.

        The artifact is copied under a temporary name first and renamed into place inside the
        transaction; a crash before COMMIT leaves only an unreferenced directory, which
        `remove_orphans` deletes at the next start."""
        row = conn.execute("SELECT approval FROM model_groups WHERE name = ?", (group,)).fetchone()
        if row is None:
            raise NotFound(f"no model group '{group}' in the registry")
        if not new.artifact.is_file():
            raise BadRequest(f"model artifact {new.artifact} does not exist")
        if version is None:
            latest = conn.execute("SELECT MAX(version) FROM model_versions WHERE grp = ?", (group,)).fetchone()[0]
            version = (latest or 0) + 1
        elif conn.execute("SELECT 1 FROM model_versions WHERE grp = ? AND version = ?", (group, version)).fetchone():
            raise Conflict(f"{group} v{version} already exists in the registry")
        approval = new.approval or ("approved" if row["approval"] == "auto" else "pending")
        staging = inside(self.artifacts, group, f".staging-{uuid.uuid4().hex}")
        staging.mkdir(parents=True)
        name = SKOPS_ARTIFACT_NAME if new.artifact.suffix == ".skops" else ARTIFACT_NAME
        shutil.copy2(new.artifact, staging / name)
        # Checked again before the artifact is loaded (`predictors.load`): a file swapped in the
        # registry after registration is refused, not unpickled.
        lineage = {**new.lineage, ARTIFACT_DIGEST: file_sha256(staging / name)}
        final = inside(self.artifacts, group, f"v{version}")
        shutil.rmtree(final, ignore_errors=True)  # left by a crash between rename and COMMIT
        staging.rename(final)
        conn.execute(
            "INSERT INTO model_versions (grp, version, artifact, framework, entrypoint, approval, metrics, params, "
            "lineage, source, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                group,
                version,
                str(final / name),
                new.framework,
                new.entrypoint,
                approval,
                json.dumps(new.metrics),
                json.dumps(new.params),
                json.dumps(lineage),
                new.source,
                time.time(),
            ),
        )
        for alias in new.aliases:
            self._set_alias(conn, group, alias, version)
        return self._version(conn, group, version)

    def register_now(self, group: str, new: NewVersion, version: int | None = None) -> Version:
        with self.db.transaction() as conn:
            return self.register(conn, group, new, version)

    def delete_version(self, group: str, version: int) -> None:
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM model_versions WHERE grp = ? AND version = ?", (group, version))
        shutil.rmtree(inside(self.artifacts, group, f"v{version}"), ignore_errors=True)

    def set_approval(self, group: str, version: int, approval: str) -> Version:
        if approval not in ("approved", "pending", "rejected"):
            raise BadRequest(f"approval must be approved, pending or rejected, not '{approval}'")
        with self.db.transaction() as conn:
            self._version(conn, group, version)
            conn.execute(
                "UPDATE model_versions SET approval = ? WHERE grp = ? AND version = ?", (approval, group, version)
            )
            return self._version(conn, group, version)

    def set_alias(self, group: str, alias: str, version: int) -> Version:
        with self.db.transaction() as conn:
            self._version(conn, group, version)
            self._set_alias(conn, group, alias, version)
            return self._version(conn, group, version)

    def version(self, group: str, version: int) -> Version:
        return self._version(self.db.conn, group, version)

    def versions(self, group: str) -> list[Version]:
        self.group(group)
        rows = self.db.query("SELECT version FROM model_versions WHERE grp = ? ORDER BY version", (group,))
        return [self.version(group, row["version"]) for row in rows]

    def resolve(self, group: str, version: int | None = None, alias: str | None = None) -> Version | None:
        """The version a reference names, or None when it names nothing yet."""
        if alias is not None:
            row = self.db.one("SELECT version FROM aliases WHERE grp = ? AND alias = ?", (group, alias))
            if row is None:
                return None
            version = row["version"]
        row = self.db.one("SELECT 1 FROM model_versions WHERE grp = ? AND version = ?", (group, version))
        return self.version(group, int(version)) if row else None

    def remove_orphans(self) -> list[Path]:
        """Artifact directories no version row points at: what a crash mid-registration leaves."""
        known = {Path(row["artifact"]).parent for row in self.db.query("SELECT artifact FROM model_versions")}
        removed = []
        if self.artifacts.exists():
            for directory in sorted(self.artifacts.glob("*/*")):
                if directory.is_dir() and directory not in known:
                    shutil.rmtree(directory, ignore_errors=True)
                    removed.append(directory)
        return removed

    # --- internals ------------------------------------------------------------------------------

    @staticmethod
    def _set_alias(conn: sqlite3.Connection, group: str, alias: str, version: int) -> None:
        conn.execute(
            "INSERT INTO aliases (grp, alias, version) VALUES (?, ?, ?) "
            "ON CONFLICT (grp, alias) DO UPDATE SET version = excluded.version",
            (group, alias, version),
        )

    @staticmethod
    def _version(conn: sqlite3.Connection, group: str, version: int) -> Version:
        row = conn.execute("SELECT * FROM model_versions WHERE grp = ? AND version = ?", (group, version)).fetchone()
        if row is None:
            raise NotFound(f"no version {version} in model group '{group}'")
        aliases = [
            r["alias"]
            for r in conn.execute(
                "SELECT alias FROM aliases WHERE grp = ? AND version = ? ORDER BY alias", (group, version)
            )
        ]
        return Version(
            group=row["grp"],
            version=row["version"],
            artifact=row["artifact"],
            framework=row["framework"],
            entrypoint=row["entrypoint"],
            approval=row["approval"],
            # Rows written before metrics had to be finite: NaN cannot go out as JSON.
            metrics={k: v if math.isfinite(v) else None for k, v in json.loads(row["metrics"]).items()},
            params=json.loads(row["params"]),
            lineage=json.loads(row["lineage"]),
            source=row["source"],
            created_at=row["created_at"],
            aliases=aliases,
        )
