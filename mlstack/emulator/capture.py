"""Data capture: sampled requests and responses of an endpoint, buffered and written to Parquet.

Records are appended under a lock and written in files of up to `FLUSH_ROWS` rows by a flusher
thread (every `FLUSH_SECONDS`) and at shutdown, so every record taken is written once.

A row: its own `id`, the request's `correlation_id` (a shadow's copy of a request shares it with the
production answer), `time`, `endpoint`, `variant`, `role` (production or shadow), `model`,
`latency_ms`, HTTP `status`, and the `request` and `response` bodies as JSON text. Files are
`captures/<endpoint>/part-*.parquet`; `read_captures` reads them back."""

from __future__ import annotations

import random
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from mlstack.emulator.layout import inside

FLUSH_SECONDS = 1.0
FLUSH_ROWS = 10_000
FIELDS = (
    "id",
    "correlation_id",
    "time",
    "endpoint",
    "variant",
    "role",
    "model",
    "latency_ms",
    "status",
    "request",
    "response",
)


class CaptureWriter:
    def __init__(self, directory: Path, endpoint: str, percent: int) -> None:
        self.directory = inside(directory, endpoint)
        self.endpoint = endpoint
        self.percent = percent
        self._rows: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()

    def sampled(self) -> bool:
        return self.percent >= 100 or random.random() * 100 < self.percent

    def record(
        self,
        *,
        correlation_id: str,
        variant: str,
        role: str,
        model: str,
        latency_ms: float,
        status: int,
        request: str,
        response: str,
    ) -> str:
        capture_id = uuid.uuid4().hex
        row = {
            "id": capture_id,
            "correlation_id": correlation_id,
            "time": time.time(),
            "endpoint": self.endpoint,
            "variant": variant,
            "role": role,
            "model": model,
            "latency_ms": latency_ms,
            "status": status,
            "request": request,
            "response": response,
        }
        with self._lock:
            self._rows.append(row)
        return capture_id

    def flush(self) -> int:
        with self._lock:
            rows, self._rows = self._rows, []
        if not rows:
            return 0
        import pyarrow as pa
        import pyarrow.parquet as pq

        with self._write_lock:
            self.directory.mkdir(parents=True, exist_ok=True)
            for start in range(0, len(rows), FLUSH_ROWS):
                chunk = rows[start : start + FLUSH_ROWS]
                table = pa.Table.from_pylist(chunk, schema=capture_schema())
                name = f"part-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}.parquet"
                staging = self.directory / f".{name}"
                pq.write_table(table, staging)
                staging.rename(self.directory / name)  # readers never see a half-written file
        return len(rows)


class CaptureFlusher:
    """Flushes every writer periodically in one background thread."""

    def __init__(self) -> None:
        self.writers: dict[str, CaptureWriter] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="capture-flusher", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(FLUSH_SECONDS):
            self.flush()

    def flush(self) -> None:
        for writer in list(self.writers.values()):
            writer.flush()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.flush()


def capture_schema() -> Any:
    """The Parquet schema of a capture file (built on call, so importing this module stays light)."""
    import pyarrow as pa

    types = {"time": pa.float64(), "latency_ms": pa.float64(), "status": pa.int32()}
    return pa.schema([(name, types.get(name, pa.string())) for name in FIELDS])


def read_captures(directory: Path, endpoint: str, since: float | None = None) -> Any:
    """Every flushed capture row of `endpoint` (after `since`, epoch seconds) as a pyarrow Table."""
    import pyarrow.dataset as ds

    files = sorted(inside(directory, endpoint).glob("part-*.parquet"))
    if not files:
        return capture_schema().empty_table()
    dataset = ds.dataset([str(f) for f in files], format="parquet", schema=capture_schema())
    return dataset.to_table(filter=None if since is None else ds.field("time") >= since)
