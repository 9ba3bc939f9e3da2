"""The online store: one SQLite table per feature view, keyed by the encoded join keys.

Each row holds the latest materialised or pushed values and their event time; lookups apply the
view's TTL at read time. Writes are upserts that never replace a newer value with an older one, in
transactions of `BATCH` rows, so a crash leaves every committed batch and nothing partial."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from mlstack.emulator.db import Database
from mlstack.emulator.features.offline import encode_key, quote
from mlstack.emulator.features.views import SQL_TYPES, View

BATCH = 20_000
# Keys per lookup query: well under SQLite's limit on bound parameters (32,766; 999 before 3.32).
IN_BATCH = 500

SCHEMA = """
CREATE TABLE IF NOT EXISTS online_tables (
    view      TEXT PRIMARY KEY,
    signature TEXT NOT NULL
);
"""


def table_name(view: str) -> str:
    # View names are lower-case letters, digits and hyphens, so this is one-to-one.
    return quote("fv_" + view.replace("-", "_"))


def _signature(view: View) -> str:
    return json.dumps({"keys": view.key_names, "features": [[c.name, c.dtype] for c in view.features]})


class OnlineStore:
    def __init__(self, path: Path) -> None:
        self.db = Database(path, SCHEMA)
        self._select: dict[tuple[str, tuple[str, ...], int], str] = {}

    def ensure_table(self, view: View) -> bool:
        """Create the view's table; recreate it (dropping values) when keys or features changed."""
        signature = _signature(view)
        row = self.db.one("SELECT signature FROM online_tables WHERE view = ?", (view.name,))
        if row is not None and row["signature"] == signature:
            return False
        columns = ", ".join(f"{quote(c.name)} {SQL_TYPES[c.dtype]}" for c in view.features)
        with self.db.transaction() as conn:
            conn.execute(f"DROP TABLE IF EXISTS {table_name(view.name)}")
            conn.execute(
                f"CREATE TABLE {table_name(view.name)} (__key TEXT PRIMARY KEY, __ts REAL NOT NULL, {columns}) "
                "WITHOUT ROWID"
            )
            conn.execute(
                "INSERT INTO online_tables (view, signature) VALUES (?, ?) "
                "ON CONFLICT (view) DO UPDATE SET signature = excluded.signature",
                (view.name, signature),
            )
        self._select.clear()
        return True

    def drop(self, view: str) -> None:
        with self.db.transaction() as conn:
            conn.execute(f"DROP TABLE IF EXISTS {table_name(view)}")
            conn.execute("DELETE FROM online_tables WHERE view = ?", (view,))
        self._select.clear()

    def write(self, view: View, rows: Iterable[Sequence[Any]]) -> int:
        """Upsert rows of (key, event time in epoch seconds, *features in view order)."""
        names = ["__key", "__ts", *view.feature_names]
        updates = ", ".join(f"{quote(n)} = excluded.{quote(n)}" for n in names[1:])
        sql = (
            f"INSERT INTO {table_name(view.name)} ({', '.join(quote(n) for n in names)}) "
            f"VALUES ({', '.join('?' * len(names))}) ON CONFLICT (__key) DO UPDATE SET {updates} "
            f"WHERE excluded.__ts >= {table_name(view.name)}.__ts"
        )
        written, batch = 0, []
        for row in rows:
            batch.append(row)
            if len(batch) >= BATCH:
                written += self._commit(sql, batch)
                batch = []
        if batch:
            written += self._commit(sql, batch)
        return written

    def _commit(self, sql: str, batch: list[Sequence[Any]]) -> int:
        with self.db.transaction() as conn:
            conn.executemany(sql, batch)
        return len(batch)

    def lookup(
        self, view: View, entities: Sequence[dict[str, Any]], features: Sequence[str] | None = None
    ) -> list[dict[str, Any]]:
        """Feature values per entity; None for a missing entity or a value older than the TTL. A batch
        is read with one `__key IN (...)` query per `IN_BATCH` keys, not one query per entity."""
        names = tuple(features) if features else tuple(view.feature_names)
        unknown = [n for n in names if n not in view.feature_names]
        if unknown:
            raise KeyError(f"view '{view.name}' has no feature {', '.join(unknown)}")
        keys = view.key_names
        try:
            encoded = [encode_key([entity[k] for k in keys]) for entity in entities]
        except KeyError as exc:
            entity = next(e for e in entities if any(k not in e for k in keys))
            raise KeyError(f"entity {entity} lacks join key {exc} of view '{view.name}'") from None
        found: dict[str, tuple[Any, ...]] = {}
        distinct = list(dict.fromkeys(encoded))
        try:
            for start in range(0, len(distinct), IN_BATCH):
                chunk = distinct[start : start + IN_BATCH]
                for row in self.db.conn.execute(self._select_sql(view, names, len(chunk)), chunk):
                    found[row[0]] = row[1:]
        except sqlite3.OperationalError:
            found = {}  # the view's table was never created: nothing materialised yet
        oldest = time.time() - view.ttl if view.ttl else None
        out = []
        for key in encoded:
            row = found.get(key)
            if row is None or (oldest is not None and row[0] < oldest):
                out.append(dict.fromkeys(names))
            else:
                out.append(dict(zip(names, row[1:], strict=True)))
        return out

    def _select_sql(self, view: View, names: tuple[str, ...], count: int) -> str:
        sql = self._select.get((view.name, names, count))
        if sql is None:
            sql = (
                f"SELECT __key, __ts, {', '.join(quote(n) for n in names)} FROM {table_name(view.name)} "
                f"WHERE __key IN ({', '.join('?' * count)})"
            )
            if len(self._select) > 4 * IN_BATCH:  # a statement per batch size: bounded
                self._select.clear()
            self._select[(view.name, names, count)] = sql
        return sql

    def count(self, view: str) -> int:
        try:
            return self.db.one(f"SELECT COUNT(*) FROM {table_name(view)}")[0]
        except sqlite3.OperationalError:
            return 0

    def freshness(self, view: View) -> dict[str, Any]:
        """How many rows lookups serve now: all rows, those within the TTL, the newest event time."""
        oldest = time.time() - view.ttl if view.ttl else None
        try:
            total, fresh, newest = self.db.one(
                f"SELECT COUNT(*), COUNT(*) FILTER (WHERE ? IS NULL OR __ts >= ?), MAX(__ts) FROM {table_name(view.name)}",
                (oldest, oldest),
            )
        except sqlite3.OperationalError:
            total, fresh, newest = 0, 0, None
        return {"online": total, "fresh": fresh, "newest": newest, "ttl": view.ttl}

    def close(self) -> None:
        self.db.close()
