"""Built-in data validation before a run: the data file exists, parses and has rows."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from mlstack.emulator.errors import BadRequest
from mlstack.emulator.features.offline import source_sql
from mlstack.emulator.pipelines.lineage import file_sha256


@dataclass(frozen=True)
class DataSummary:
    path: str
    rows: int
    columns: list[str]
    sha256: str


def validate(path: Path) -> DataSummary:
    """Raise ValueError saying what is wrong with the data, or summarise it."""
    if not path.exists():
        raise ValueError(f"data file {path} does not exist")
    try:
        # A connection of its own: duckdb.sql's default one is shared by the whole process, and
        # concurrent runs on it fail "connection is busy".
        with duckdb.connect() as conn:
            columns = list(conn.sql(f"SELECT * FROM {source_sql(path)}").columns)
            rows = conn.sql(f"SELECT COUNT(*) FROM {source_sql(path)}").fetchall()[0][0]
    except (duckdb.Error, BadRequest) as exc:
        raise ValueError(f"data file {path} cannot be read: {exc}") from None
    if rows == 0:
        raise ValueError(f"data file {path} has no rows")
    return DataSummary(path=str(path), rows=rows, columns=columns, sha256=file_sha256(path))
