"""The audit trail: every change mlstack makes on the emulator, with who, when, what and why.

Append-only by construction: the table has triggers that abort any UPDATE or DELETE, and this module
has no path that issues one. Whoever changes something calls `record(who, action, what, why)`;
`who=None` means the caller of the HTTP request being served (the `X-Mlstack-Actor` header the CLI
sends: the OS user), or "mlstack" for what the emulator does on its own (schedules, rollouts, monitor
actions), with the reason in `why`.

The actor header is what a token holder says it is: the token is the authentication, the header names
the person for the record (as a CI job's user or a laptop's login would), not a second credential.
"""

from __future__ import annotations

import contextvars
import json
import re
import time
from typing import Any

from mlstack.emulator.db import Database
from mlstack.emulator.errors import BadRequest

SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    at     REAL NOT NULL,
    who    TEXT NOT NULL,
    action TEXT NOT NULL,
    what   TEXT NOT NULL,
    why    TEXT NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS audit_by_action ON audit (action, at);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
"""

HEADER = "x-mlstack-actor"
SYSTEM = "mlstack"
# A login, an email or a CI job's name: printable, no control characters that would forge a line.
ACTOR_RULE = re.compile(r"^[\w.@+\-:/ ]{1,128}$")
ACTOR: contextvars.ContextVar[str] = contextvars.ContextVar("mlstack_actor", default=SYSTEM)
MAX_LIMIT = 10_000


class AuditTrail:
    def __init__(self, db: Database) -> None:
        self.db = db

    def record(
        self, who: str | None, action: str, what: str, why: str = "", detail: dict[str, Any] | None = None
    ) -> int:
        """Append one record in its own transaction; its id."""
        with self.db.transaction() as conn:
            cursor = conn.execute(
                "INSERT INTO audit (at, who, action, what, why, detail) VALUES (?, ?, ?, ?, ?, ?)",
                (time.time(), who or ACTOR.get(), action, what, why, json.dumps(detail or {}, default=str)),
            )
        return int(cursor.lastrowid or 0)

    def query(
        self, since: float | None = None, action: str | None = None, what: str | None = None, limit: int = 1000
    ) -> list[dict[str, Any]]:
        """Records oldest first, optionally since an epoch time, of one action, about one thing."""
        if not 1 <= limit <= MAX_LIMIT:
            raise BadRequest(f"limit must be between 1 and {MAX_LIMIT}, not {limit}")
        clauses, params = [], []
        for clause, value in (("at >= ?", since), ("action = ?", action), ("what = ?", what)):
            if value is not None:
                clauses.append(clause)
                params.append(value)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self.db.query(
            f"SELECT * FROM (SELECT * FROM audit {where} ORDER BY id DESC LIMIT ?) ORDER BY id", (*params, limit)
        )
        return [
            {
                "id": r["id"],
                "at": r["at"],
                "who": r["who"],
                "action": r["action"],
                "what": r["what"],
                "why": r["why"],
                "detail": json.loads(r["detail"]),
            }
            for r in rows
        ]


class ActorHeader:
    """ASGI wrapper: the request's `X-Mlstack-Actor` becomes the `who` of what it changes."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((v for k, v in scope["headers"] if k == HEADER.encode()), None)
        actor = given.decode("utf-8", "replace") if given is not None else "api"
        if not ACTOR_RULE.match(actor):
            body = json.dumps({"error": f"{HEADER} must be 1-128 letters, digits or . @ + - : / and spaces"})
            await send({"type": "http.response.start", "status": 400, "headers": [(b"content-type", b"application/json")]})
            await send({"type": "http.response.body", "body": body.encode()})
            return
        token = ACTOR.set(actor)
        try:
            await self.app(scope, receive, send)
        finally:
            ACTOR.reset(token)
