"""Data capture: sampled requests and responses of an endpoint, buffered and written to Parquet.

Records are appended under a lock and written in files of up to `FLUSH_ROWS` rows by a flusher
thread (every `FLUSH_SECONDS`) and at shutdown, so every record taken is written once."""

from __future__ import annotations

import random
import threading
import time
import uuid
from pathlib import Path
from typing import Any

FLUSH_SECONDS = 1.0
FLUSH_ROWS = 10_000
FIELDS = ("id", "time", "endpoint", "variant", "model", "latency_ms", "status", "request", "response")


class CaptureWriter:
    def __init__(self, directory: Path, endpoint: str, percent: int) -> None:
        self.directory = directory / endpoint
        self.endpoint = endpoint
        self.percent = percent
        self._rows: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()

    def sampled(self) -> bool:
        return self.percent >= 100 or random.random() * 100 < self.percent

    def record(self, *, variant: str, model: str, latency_ms: float, status: int, request: str, response: str) -> str:
        capture_id = uuid.uuid4().hex
        row = {
            "id": capture_id,
            "time": time.time(),
            "endpoint": self.endpoint,
            "variant": variant,
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
                table = pa.Table.from_pylist(chunk)
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
