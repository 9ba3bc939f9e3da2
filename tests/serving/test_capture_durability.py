"""Captures under hard faults: `kill -9` under load loses no acknowledged capture, and a full disk
gives clean refusals and a writer that resumes once space returns."""

from __future__ import annotations

import asyncio
import errno
import json
import os
import signal
import threading

import pyarrow.parquet as pq
import pytest

from benchmarks.loadgen import request_bytes
from mlstack.emulator import capture as capture_module
from mlstack.emulator.capture import CaptureWriter, read_captures
from tests.serving.conftest import apply, spec_text

CONNECTIONS = 16
LOADED = 200  # acknowledged captures before the kill
LOAD_WITHIN = 60.0  # seconds a loaded machine may take to get there


async def _read(reader: asyncio.StreamReader) -> dict[str, str]:
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in head[1:] if line)}
    await reader.readexactly(int(headers.get("content-length", "0")))
    return headers


async def _load_then_kill(port: int, token: str, pid: int) -> list[dict[str, str]]:
    """Keep-alive connections sending requests until the server dies under them."""
    answered: list[dict[str, str]] = []
    auth = {"Authorization": f"Bearer {token}"}

    async def connection(n: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for i in range(100_000):
                body = json.dumps({"instances": [[float(i % 5)]]}).encode()
                writer.write(request_bytes("/endpoints/ep/invocations", body, auth))
                answered.append(await _read(reader))
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            return
        finally:
            writer.close()

    clients = [asyncio.create_task(connection(n)) for n in range(CONNECTIONS)]
    # Kill once the load is going, however long a busy machine takes to get there.
    deadline = asyncio.get_running_loop().time() + LOAD_WITHIN
    while len(answered) < LOADED and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    await asyncio.wait_for(asyncio.gather(*clients), timeout=30)
    return answered


def test_kill_9_under_load_keeps_every_acknowledged_capture(served, tmp_path):
    block = """
    - name: ep
      model: {group: m, version: 1}
      compute: {vcpus: 1}
      data_capture: {sampling_percent: 100}
    """
    apply(served, tmp_path, spec_text(block))
    answers = asyncio.run(_load_then_kill(served.info.port, served.state.read_token(), served.info.pid))
    os.waitpid(served.info.pid, 0)
    acknowledged = {a["x-mlstack-correlation-id"] for a in answers if a.get("x-mlstack-captured") == "1"}
    assert len(acknowledged) > 50, "the load did not get going before the kill"

    served.restart()  # writes out what the crash left in the capture log
    kept = set(read_captures(served.state.captures, "ep").column("correlation_id").to_pylist())
    assert acknowledged <= kept, f"{len(acknowledged - kept)} of {len(acknowledged)} acknowledged captures lost"


def _disk_full(*args: object) -> int:
    raise OSError(errno.ENOSPC, "No space left on device")


def test_a_full_disk_refuses_the_acknowledgement_and_the_writer_resumes(tmp_path, monkeypatch):
    writer = CaptureWriter(tmp_path, "ep", 100)
    row = dict(correlation_id="c", variant="primary", role="production", model="m v1", latency_ms=1.0, status=200)

    async def take(cid: str) -> bool:
        future = writer.record(acknowledge=True, **{**row, "correlation_id": cid}, request="{}", response="{}")
        assert future is not None
        # The commit runs on another thread, as the flusher's does.
        threading.Thread(target=writer.commit).start()
        return await asyncio.wait_for(future, timeout=10)

    with monkeypatch.context() as patch:
        patch.setattr(capture_module.os, "write", _disk_full)
        assert asyncio.run(take("lost")) is False
        assert writer.flush() == 0
    assert writer.errors >= 1 and "No space left" in writer.last_error

    assert asyncio.run(take("kept")) is True  # space is back: the same writer carries on
    assert writer.flush() == 1
    rows = pq.read_table(tmp_path / "ep").column("correlation_id").to_pylist()
    assert rows == ["kept"]


def test_a_log_left_by_a_crash_is_written_out_once(tmp_path):
    writer = CaptureWriter(tmp_path, "ep", 100)
    row = dict(correlation_id="c", variant="primary", role="production", model="m v1", latency_ms=1.0, status=200)

    async def take() -> None:
        future = writer.record(acknowledge=True, **row, request="{}", response="{}")
        writer.commit()
        assert future is not None and await future

    asyncio.run(take())
    wal = next((tmp_path / "ep").glob(".wal-*.jsonl"))
    with wal.open("ab") as handle:
        handle.write(b'{"id": "torn')  # a write the crash cut short: never acknowledged
    assert capture_module.recover(tmp_path) == 1
    assert capture_module.recover(tmp_path) == 0
    assert read_captures(tmp_path, "ep").column("correlation_id").to_pylist() == ["c"]


def test_first_start_on_a_full_disk_leaves_no_empty_token(tmp_path, monkeypatch):
    from mlstack.emulator import layout
    from mlstack.emulator.layout import StateDir

    state = StateDir(tmp_path / ".mlstack")
    state.create()
    with monkeypatch.context() as patch:
        patch.setattr(layout.os, "write", _disk_full)
        with pytest.raises(OSError):
            state.ensure_token()
    assert not state.token_file.exists()
    assert len(state.ensure_token()) > 20 and state.read_token() == state.ensure_token()
