"""The endpoints' data plane: `POST /endpoints/{name}/invocations` as a bare ASGI handler.

It sits in front of the control plane's FastAPI app (behind the token check) so that an invocation
costs no routing, validation or thread hop beyond the model's own worker: the router overhead
`benchmarks/bench_router.py` measures. Everything else passes through to FastAPI.
"""

from __future__ import annotations

import json
from typing import Any

from mlstack.emulator.serving import CAPTURED_HEADER, COLD_START_HEADER, CORRELATION_HEADER, VARIANT_HEADER, Serving

PREFIX = "/endpoints/"
SUFFIX = "/invocations"
MAX_BODY = 6 * 1024 * 1024  # SageMaker's payload limit for real-time endpoints
_CORRELATION = CORRELATION_HEADER.encode()
_JSON = [(b"content-type", b"application/json")]


class DataPlane:
    def __init__(self, app: Any, serving: Serving) -> None:
        self.app = app
        self.serving = serving

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not (path.startswith(PREFIX) and path.endswith(SUFFIX)):
            await self.app(scope, receive, send)
            return
        name = path[len(PREFIX) : -len(SUFFIX)]
        if scope["method"] != "POST":
            await _send(send, 405, {"error": f"invoke an endpoint with POST {path}"}, ((b"allow", b"POST"),))
            return
        runtime = self.serving.serving(name)
        if runtime is None:
            await _drain(receive)
            await _send(send, 404, {"error": f"no endpoint '{name}' is serving"})
            return
        body = await _read(receive)
        if body is None:
            await _send(send, 413, {"error": f"the request body is over {MAX_BODY // (1024 * 1024)} MiB"})
            return
        given = next((v for k, v in scope["headers"] if k == _CORRELATION), None)
        try:
            # UTF-8 both ways, so a non-ASCII id comes back as sent (and is captured as sent).
            correlation = given.decode() if given else None
        except UnicodeDecodeError:
            await _send(send, 400, {"error": f"{CORRELATION_HEADER} must be UTF-8 text"})
            return
        answer = await runtime.invoke(body, correlation)
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(answer.body)).encode()),
            (VARIANT_HEADER.encode(), answer.variant.encode()),
            (_CORRELATION, answer.correlation_id.encode()),
        ]
        if answer.captured:
            headers.append((CAPTURED_HEADER.encode(), b"1"))
        if answer.cold_start:
            headers.append((COLD_START_HEADER.encode(), b"1"))
        await send({"type": "http.response.start", "status": answer.status, "headers": headers})
        await send({"type": "http.response.body", "body": answer.body})


async def _read(receive: Any) -> bytes | None:
    chunks, size = [], 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            await _drain(receive, message)
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _drain(receive: Any, message: dict[str, Any] | None = None) -> None:
    while message is None or message.get("more_body", False):
        message = await receive()
        if message["type"] == "http.disconnect":
            return


async def _send(send: Any, status: int, payload: dict[str, Any], extra: tuple[tuple[bytes, bytes], ...] = ()) -> None:
    body = json.dumps(payload).encode()
    headers = [*_JSON, (b"content-length", str(len(body)).encode()), *extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
