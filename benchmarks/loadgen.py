"""An HTTP/1.1 load generator over keep-alive connections, for endpoint benchmarks and fault tests.

    python3 benchmarks/loadgen.py --port N --path /endpoints/x/invocations --body '{"instances": [[1]]}' \
        [--token T] [--requests 20000] [--concurrency 64] [--seconds 30] [--latencies]

prints one JSON line: requests, seconds, throughput, latency percentiles (ms) and status counts (and
every latency with --latencies).

Written on asyncio streams rather than with httpx or aiohttp on purpose: on a 2-core machine those
clients spend more CPU per request than a small ASGI server does, so they would measure themselves.
This one writes a prepared request and reads the status line, headers and Content-Length body back,
nothing more; each of `concurrency` connections keeps one request in flight.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes
    seconds: float


def request_bytes(path: str, body: bytes, headers: dict[str, str]) -> bytes:
    head = [
        f"POST {path} HTTP/1.1",
        "Host: 127.0.0.1",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
    ]
    head += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


async def _read_reply(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if line:
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return status, headers, body


async def load(
    port: int,
    make: Callable[[int], bytes],
    requests: int,
    concurrency: int,
    seconds: float | None = None,
    host: str = "127.0.0.1",
) -> list[Reply]:
    """Send up to `requests` requests (`make(i)` gives request i's bytes) over `concurrency`
    connections, stopping early after `seconds`; the replies in completion order."""
    replies: list[Reply] = []
    numbers = iter(range(requests))
    deadline = None if seconds is None else time.perf_counter() + seconds

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            for i in numbers:
                if deadline is not None and time.perf_counter() > deadline:
                    break
                started = time.perf_counter()
                writer.write(make(i))
                status, headers, body = await _read_reply(reader)
                replies.append(Reply(status, headers, body, time.perf_counter() - started))
        finally:
            writer.close()

    await asyncio.gather(*(connection() for _ in range(concurrency)))
    return replies


def summary(replies: list[Reply], elapsed: float, with_latencies: bool = False) -> dict[str, object]:
    latencies = sorted(r.seconds * 1000 for r in replies)

    def percentile(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] if latencies else float("nan")

    result: dict[str, object] = {
        "requests": len(replies),
        "seconds": elapsed,
        "throughput": len(replies) / elapsed if elapsed else 0.0,
        "p50_ms": percentile(50),
        "p99_ms": percentile(99),
        "statuses": dict(Counter(r.status for r in replies)),
    }
    if with_latencies:
        result["latencies_ms"] = latencies
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", required=True)
    parser.add_argument("--body", required=True)
    parser.add_argument("--token")
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--latencies", action="store_true", help="Also print every latency (ms), sorted.")
    args = parser.parse_args(argv)
    headers = {"Authorization": f"Bearer {args.token}"} if args.token else {}
    prepared = request_bytes(args.path, args.body.encode(), headers)
    started = time.perf_counter()
    replies = asyncio.run(load(args.port, lambda _: prepared, args.requests, args.concurrency, args.seconds))
    print(json.dumps(summary(replies, time.perf_counter() - started, args.latencies)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
