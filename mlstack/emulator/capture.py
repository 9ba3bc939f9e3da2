"""Data capture: sampled requests and responses of an endpoint, made durable before they are
acknowledged, then compacted to Parquet.

A record taken for a production answer is appended to the endpoint's write-ahead log
(`captures/<endpoint>/.wal-<segment>.jsonl`) and fsync'ed by the flusher thread before the answer
says `X-Mlstack-Captured: 1`: records that arrive while one fsync runs share the next one (group
commit), so the cost is one fsync per batch, not per request. Every `FLUSH_SECONDS` (and at
shutdown, and when a monitor reads) the log is written out as `part-<segment>.parquet` and removed;
a log left by a crash is written out at the next start, so an acknowledged record survives
`kill -9`. A write that fails (a full disk) answers without the header, is logged and counted
(`errors`, `last_error`), and the writer carries on with the next batch: nothing is acknowledged
and then lost, and capture resumes by itself once space returns.

A row: its own `id`, the request's `correlation_id` (a shadow's copy of a request shares it with the
production answer), `time`, `endpoint`, `variant`, `role` (production or shadow), `model`,
`latency_ms`, HTTP `status`, and the `request` and `response` bodies as JSON text. Files are
`captures/<endpoint>/part-*.parquet`; `read_captures` reads them back."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import random
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from mlstack.emulator.layout import inside

FLUSH_SECONDS = 1.0
WAL_GLOB = ".wal-*.jsonl"
log = logging.getLogger("mlstack.emulator")

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
        self.errors = 0
        self.last_error = ""
        self._pending: list[tuple[dict[str, Any], asyncio.Future[bool] | None]] = []
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._segment = ""
        self.wake: threading.Event | None = None  # set by the flusher: a record wakes it at once

    def sampled(self) -> bool:
        return self.percent >= 100 or random.random() * 100 < self.percent

    def record(self, *, acknowledge: bool = False, **fields: Any) -> asyncio.Future[bool] | None:
        """Take one record; with `acknowledge`, a future (of the running loop) that is True once the
        record is durable and False when it could not be written."""
        row = {"id": uuid.uuid4().hex, "time": time.time(), "endpoint": self.endpoint, **fields}
        future = asyncio.get_running_loop().create_future() if acknowledge else None
        with self._lock:
            self._pending.append((row, future))
        if self.wake is not None:
            self.wake.set()
        return future

    def commit(self) -> int:
        """Append what is pending to the log and fsync it; settle the waiting futures."""
        with self._lock:
            batch, self._pending = self._pending, []
        if not batch:
            return 0
        ok = True
        with self._write_lock:
            try:
                self.directory.mkdir(parents=True, exist_ok=True)
                if not self._segment:
                    self._segment = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
                wal = self.directory / f".wal-{self._segment}.jsonl"
                data = "".join(json.dumps(row, separators=(",", ":")) + "\n" for row, _ in batch).encode()
                fd = os.open(wal, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
                try:
                    size = os.fstat(fd).st_size
                    try:
                        os.write(fd, data)
                        os.fsync(fd)
                    except OSError:
                        with contextlib.suppress(OSError):
                            os.ftruncate(fd, size)  # no torn line for the next batch to follow
                        raise
                finally:
                    os.close(fd)
            except OSError as exc:
                ok = False
                self._failed(exc, len(batch))
        for _, future in batch:
            if future is not None:
                _resolve(future, ok)
        return len(batch) if ok else 0

    def flush(self) -> int:
        """Commit what is pending, then write the log out as Parquet. Returns the rows written out."""
        self.commit()
        with self._write_lock:
            segment, self._segment = self._segment, ""
            if not segment:
                return 0
            try:
                return compact(self.directory / f".wal-{segment}.jsonl")
            except OSError as exc:
                self._failed(exc, 0)
                return 0  # the log stays; the next flush or start writes it out

    def _failed(self, exc: OSError, rows: int) -> None:
        self.errors += 1
        self.last_error = f"{type(exc).__name__}: {exc}"
        log.error("capture of %s: could not write %d records: %s", self.endpoint, rows, exc)


def _resolve(future: asyncio.Future[bool], ok: bool) -> None:
    def settle() -> None:
        if not future.done():
            future.set_result(ok)

    with contextlib.suppress(RuntimeError):  # the loop is gone: the server is stopping
        future.get_loop().call_soon_threadsafe(settle)


def compact(wal: Path) -> int:
    """Write a log segment out as `part-<segment>.parquet` (durably, atomically), then remove it.
    A part already there means a crash came between the two: only the log is removed."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    segment = wal.name[len(".wal-") : -len(".jsonl")]
    final = wal.parent / f"part-{segment}.parquet"
    if not final.exists():
        rows = []
        with wal.open("rb") as handle:
            for line in handle:
                with contextlib.suppress(ValueError):  # a torn last line was never acknowledged
                    rows.append(json.loads(line))
        if rows:
            staging = wal.parent / f".{final.name}"
            pq.write_table(pa.Table.from_pylist(rows, schema=capture_schema()), staging)
            _fsync(staging)
            staging.rename(final)  # readers never see a half-written file
            _fsync(wal.parent)
    else:
        rows = []
    wal.unlink()
    return len(rows)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def recover(directory: Path) -> int:
    """Write out every log a crash left under `directory` (the captures folder)."""
    written = 0
    for wal in sorted(directory.glob(f"*/{WAL_GLOB}")):
        try:
            written += compact(wal)
        except OSError as exc:
            log.error("capture log %s could not be written out yet: %s", wal, exc)
    return written


class CaptureFlusher:
    """Commits every writer's records as they come and compacts them periodically, in one thread."""

    def __init__(self) -> None:
        self.writers: dict[str, CaptureWriter] = {}
        self.wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="capture-flusher", daemon=True)
        self._thread.start()

    def add(self, writer: CaptureWriter) -> None:
        writer.wake = self.wake
        self.writers[writer.endpoint] = writer

    def _loop(self) -> None:
        last = time.monotonic()
        while not self._stop.is_set():
            self.wake.wait(FLUSH_SECONDS)
            self.wake.clear()
            try:
                if time.monotonic() - last >= FLUSH_SECONDS:
                    self.flush()
                    last = time.monotonic()
                else:
                    for writer in list(self.writers.values()):
                        writer.commit()
            except Exception:  # never let the one capture thread die
                log.exception("capture flusher")

    def flush(self) -> None:
        for writer in list(self.writers.values()):
            writer.flush()

    def close(self) -> None:
        self._stop.set()
        self.wake.set()
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
