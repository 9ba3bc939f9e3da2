"""The monitor's two tables: the baseline dataset and the captured rows, with the same column names.

Positional rows (CSV lines, JSON lists) take the baseline's column names in order, so they must have
as many values as the baseline has columns; named rows keep their names. Captured values arrive as text
(CSV) or JSON values; a column whose every value reads as a number becomes numeric, as pandas reads the
baseline CSV, and any other stays as it came, so that type errors remain visible to the quality metrics.
"""

from __future__ import annotations

import io
import json
from collections import Counter
from typing import Any

import pandas as pd

from mlstack.jobs.capture import Row
from mlstack.jobs.failures import JobFailed
from mlstack.jobs.s3 import Storage


def read_baseline(location: str, storage: Storage) -> pd.DataFrame:
    """A CSV file with a header row, or a Parquet file (`.parquet`), from S3 or a local path."""
    data = io.BytesIO(storage.read(location))
    try:
        frame = pd.read_parquet(data) if location.endswith(".parquet") else pd.read_csv(data)
    except (ValueError, ImportError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise JobFailed(f"cannot read the baseline {location}: {exc}") from None
    if frame.empty:
        raise JobFailed(f"the baseline {location} has no rows")
    frame.columns = [str(c) for c in frame.columns]
    return frame


def _cell(value: Any) -> Any:
    # A nested value (a list of probabilities, an object) is compared as its JSON text.
    return json.dumps(value, sort_keys=True) if isinstance(value, dict | list) else value


def _typed(column: pd.Series) -> pd.Series:
    present = column.notna()
    numbers = pd.to_numeric(column, errors="coerce")
    return numbers if numbers[present].notna().all() else column


def frame(rows: list[Row], names: list[str], skipped: Counter[str], what: str) -> pd.DataFrame:
    """The rows as a table; positional rows of the wrong width are counted in `skipped`."""
    records = []
    width = len(names)
    for row in rows:
        if isinstance(row, dict):
            records.append({str(k): _cell(v) for k, v in row.items()})
        elif len(row) == width:
            records.append({name: _cell(v) for name, v in zip(names, row, strict=True)})
        else:
            skipped[f"{what} rows of {len(row)} values where the baseline has {width} columns"] += 1
    table = pd.DataFrame.from_records(records) if records else pd.DataFrame()
    for name in table.columns:
        table[name] = _typed(table[name].astype(object).where(table[name].notna(), None))
    return table
