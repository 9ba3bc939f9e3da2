"""The offline store: feature sources read in place (Parquet or CSV) through DuckDB.

Point-in-time correctness: each entity row gets, per view, the latest feature row whose event time
is at or before the entity row's timestamp (DuckDB ASOF join), and nothing when that row is older
than the view's TTL. Rows after the entity timestamp can never match, so no future value leaks in.
When a source has several rows for one key and time, the latest `created_timestamp_field` wins.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mlstack.emulator.errors import BadRequest
from mlstack.emulator.features import asof
from mlstack.emulator.features.views import View

ENTITY_TIMESTAMP = "event_timestamp"
KEY_SEPARATOR = "\x1f"


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def source_sql(path: Path) -> str:
    """A DuckDB table function reading a Parquet/CSV file, or every such file under a directory."""
    if path.is_dir():
        parquet = any(path.rglob("*.parquet"))
        pattern = literal(str(path / "**" / ("*.parquet" if parquet else "*.csv")))
        return f"read_parquet({pattern}, union_by_name = true)" if parquet else f"read_csv({pattern})"
    if not path.exists():
        raise BadRequest(f"feature source {path} does not exist")
    if path.suffix.lower() == ".csv":
        return f"read_csv({literal(str(path))})"
    return f"read_parquet({literal(str(path))})"


def key_sql(view: View, table: str | None = None) -> str:
    """The online key of a row: the join keys as text, joined by a unit separator (see `encode_key`)."""
    prefix = f"{table}." if table else ""
    parts = [f"CAST({prefix}{quote(name)} AS VARCHAR)" for name in view.key_names]
    return parts[0] if len(parts) == 1 else f"concat_ws(chr(31), {', '.join(parts)})"


def encode_key(values: list[Any]) -> str:
    """The same text DuckDB's CAST(... AS VARCHAR) gives for the key types views use."""
    text = ["true" if v is True else "false" if v is False else str(v) for v in values]
    return text[0] if len(text) == 1 else KEY_SEPARATOR.join(text)


def gather(column: pa.ChunkedArray, positions: np.ndarray) -> pa.Array:
    """column[positions], null where a position is -1.

    Arrow's take is several times slower with null indices than without, so it takes with every
    index valid and then lays the misses over as the validity bitmap, where the type allows."""
    missing = positions < 0
    taken = column.combine_chunks().take(pa.array(np.where(missing, 0, positions)))
    if not missing.any():
        return taken
    flat = pa.types.is_primitive(taken.type) or pa.types.is_string(taken.type) or pa.types.is_binary(taken.type)
    if flat and taken.null_count == 0 and taken.offset == 0:
        validity = pa.array(~missing).buffers()[1]
        return pa.Array.from_buffers(taken.type, len(taken), [validity, *taken.buffers()[1:]])
    return pc.if_else(pa.array(~missing), taken, pa.scalar(None, taken.type))


@dataclass(frozen=True)
class FeatureRef:
    view: View
    feature: str
    output: str


class OfflineStore:
    def __init__(self, fast: bool = True) -> None:
        self.fast = fast  # False: DuckDB's ASOF join for every view (the tests compare both paths)
        self._conn = duckdb.connect()
        self._conn.execute("SET TimeZone = 'UTC'")
        self._lock = threading.Lock()

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        with self._lock:
            return self._conn.cursor()

    def training_set(
        self, entity_rows: Any, refs: list[FeatureRef], timestamp_column: str = ENTITY_TIMESTAMP
    ) -> pa.Table:
        """Entity rows (a DataFrame, Arrow table or file) joined point-in-time with the features."""
        entity = self._entity_table(entity_rows)
        if timestamp_column not in entity.column_names:
            raise BadRequest(
                f"entity rows need a '{timestamp_column}' column (when each row's features are wanted); "
                f"got columns: {', '.join(entity.column_names)}"
            )
        clashes = sorted({r.output for r in refs} & set(entity.column_names))
        if clashes:
            raise BadRequest(f"feature names clash with entity columns: {', '.join(clashes)}")
        views = list(dict.fromkeys(r.view for r in refs))
        for view in views:
            missing = [k for k in view.key_names if k not in entity.column_names]
            if missing:
                raise BadRequest(f"entity rows lack the join keys of view '{view.name}': {', '.join(missing)}")
        # Per entity row and view, the position of the matching source row is found first (NumPy
        # for a single integer key, DuckDB's ASOF join otherwise); Arrow then gathers the features
        # by position. Moving only positions through the join keeps it several times faster than
        # carrying the features through it.
        sources = [self._source_table(view, [r.feature for r in refs if r.view is view]) for view in views]
        found: dict[int, np.ndarray] = {}
        for i, view in enumerate(views):
            if len(view.key_names) == 1 and self.fast:
                key, created = view.key_names[0], view.created_timestamp_field
                matched = asof.positions(
                    entity.column(key),
                    entity.column(timestamp_column),
                    sources[i].column(key),
                    sources[i].column(view.timestamp_field),
                    sources[i].column(created) if created else None,
                    view.ttl,
                )
                if matched is not None:
                    found[i] = matched
        rest = [i for i in range(len(views)) if i not in found]
        if rest:
            found.update(self._asof_join(entity, timestamp_column, [(i, views[i], sources[i]) for i in rest]))
        out = entity
        for i, view in enumerate(views):
            for ref in (r for r in refs if r.view is view):
                out = out.append_column(ref.output, gather(sources[i].column(ref.feature), found[i]))
        return out

    def _asof_join(
        self, entity: pa.Table, timestamp_column: str, views: list[tuple[int, View, pa.Table]]
    ) -> dict[int, np.ndarray]:
        """DuckDB's ASOF join for the views `asof.positions` does not cover: per view, the
        position of each entity row's source row (-1: none). Times compare as epoch microseconds:
        the same instant whether a side is TIMESTAMP (taken as UTC) or TIMESTAMPTZ, with no per-row
        time-zone conversion."""
        keys = sorted({k for _, view, _ in views for k in view.key_names})
        probe = entity.select([*keys, timestamp_column]).append_column(
            "__row", pa.array(np.arange(entity.num_rows, dtype=np.int64))
        )
        columns, joins = [], []
        for i, view, _ in views:
            on = " AND ".join(f"entity.{quote(k)} = v{i}.{quote(k)}" for k in view.key_names)
            joins.append(f"ASOF LEFT JOIN v{i} ON {on} AND entity.__ets >= v{i}.__ts")
            fresh = f"v{i}.__ts >= entity.__ets - {int(view.ttl) * 1_000_000}" if view.ttl else "TRUE"
            columns.append(f"CASE WHEN {fresh} THEN v{i}.__i END AS __i{i}")
        ctes = [
            f"entity AS (SELECT *, epoch_us({quote(timestamp_column)}) AS __ets FROM entity_input)",
            *(self._view_cte(i, view) for i, view, _ in views),
        ]
        sql = f"WITH {', '.join(ctes)} SELECT entity.__row, {', '.join(columns)} FROM entity {' '.join(joins)}"
        cursor = self._cursor()
        try:
            cursor.register("entity_input", probe)
            for i, _, source in views:
                cursor.register(f"source{i}", source)
            matches = cursor.sql(sql).to_arrow_table()
        except duckdb.Error as exc:
            raise BadRequest(f"could not build the training set: {exc}") from None
        finally:
            cursor.close()
        rows = matches.column("__row").to_numpy()
        found = {}
        for i, _, _ in views:
            positions = np.full(entity.num_rows, -1, dtype=np.int64)
            positions[rows] = pc.fill_null(matches.column(f"__i{i}"), -1).to_numpy()
            found[i] = positions
        return found

    def latest_rows(self, view: View, start: float | None = None, end: float | None = None) -> list[tuple]:
        """Per key, the newest row with start < event time <= end: (key, epoch seconds, *features)."""
        ts = f"epoch_us({quote(view.timestamp_field)})"
        where = []
        if start is not None:
            where.append(f"{ts} > {int(start * 1_000_000)}")
        if end is not None:
            where.append(f"{ts} <= {int(end * 1_000_000)}")
        order = f"{ts} DESC" + (f", {quote(view.created_timestamp_field)} DESC" if view.created_timestamp_field else "")
        features = ", ".join(quote(f) for f in view.feature_names)
        sql = (
            f"SELECT {key_sql(view)} AS __key, {ts} / 1e6 AS __ts, {features} "
            f"FROM {source_sql(view.source)} {'WHERE ' + ' AND '.join(where) if where else ''} "
            f"QUALIFY row_number() OVER (PARTITION BY {', '.join(quote(k) for k in view.key_names)} ORDER BY {order}) = 1"
        )
        cursor = self._cursor()
        try:
            return cursor.sql(sql).fetchall()
        except duckdb.Error as exc:
            raise BadRequest(f"could not read the source of view '{view.name}': {exc}") from None
        finally:
            cursor.close()

    def _view_cte(self, index: int, view: View) -> str:
        keys = ", ".join(quote(k) for k in view.key_names)
        ts = f"epoch_us({quote(view.timestamp_field)})"
        dedupe = ""
        if view.created_timestamp_field:
            dedupe = (
                f" QUALIFY row_number() OVER (PARTITION BY {keys}, {ts} "
                f"ORDER BY {quote(view.created_timestamp_field)} DESC) = 1"
            )
        return f"v{index} AS (SELECT {keys}, {ts} AS __ts, __i FROM source{index}{dedupe})"

    def _source_table(self, view: View, features: list[str]) -> pa.Table:
        """The columns of a view's source the join needs, with each row's position as `__i`."""
        columns = list(dict.fromkeys([*view.key_names, view.timestamp_field, *features]))
        if view.created_timestamp_field:
            columns.append(view.created_timestamp_field)
        if view.source.is_file() and view.source.suffix.lower() != ".csv":
            import pyarrow.parquet as pq

            try:  # a single Parquet file: Arrow reads the columns without a copy through DuckDB
                table = pq.read_table(view.source, columns=columns)
            except (OSError, KeyError, pa.ArrowException) as exc:
                raise BadRequest(f"could not read the source of view '{view.name}': {exc}") from None
            return table.append_column("__i", pa.array(np.arange(table.num_rows, dtype=np.int64)))
        cursor = self._cursor()
        try:
            select = ", ".join(quote(c) for c in columns)
            table = cursor.sql(f"SELECT {select} FROM {source_sql(view.source)}").to_arrow_table()
        except duckdb.Error as exc:
            raise BadRequest(f"could not read the source of view '{view.name}': {exc}") from None
        finally:
            cursor.close()
        return table.append_column("__i", pa.array(np.arange(table.num_rows, dtype=np.int64)))

    @staticmethod
    def _entity_table(rows: Any) -> pa.Table:
        if isinstance(rows, pa.Table):
            return rows
        if isinstance(rows, str | Path):
            path = Path(rows)
            if not path.exists():
                raise BadRequest(f"entity rows file {path} does not exist")
            if path.suffix.lower() == ".csv":
                with duckdb.connect() as conn:  # not duckdb.sql's connection, which every thread shares
                    return conn.sql(f"SELECT * FROM read_csv({literal(str(path))})").to_arrow_table()
            import pyarrow.parquet as pq

            return pq.read_table(path)
        if isinstance(rows, list):
            return pa.Table.from_pylist(rows)
        return pa.Table.from_pandas(rows, preserve_index=False)

    def close(self) -> None:
        self._conn.close()
