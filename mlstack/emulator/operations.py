"""Long control-plane work (apply, pipeline runs, materialisation) as operations: started in a
thread, followed by clients through their events, recorded so a crash leaves them marked failed."""

from __future__ import annotations

import contextvars
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mlstack.emulator.db import Database
from mlstack.emulator.errors import Conflict, NotFound
from mlstack.errors import MlstackError, SpecInvalid

Emit = Callable[..., None]
KEEP = 200  # finished operations kept in memory for late followers


@dataclass
class Operation:
    id: str
    kind: str
    description: str
    status: str = "running"
    message: str = ""
    result: dict[str, Any] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    started_at: float = field(default_factory=time.time)
    finished_at: float | None = None
    changed: threading.Condition = field(default_factory=threading.Condition)

    def emit(self, message: str, level: str = "info", **fields: Any) -> None:
        with self.changed:
            self.events.append(
                {"seq": len(self.events), "t": time.time(), "level": level, "message": message, **fields}
            )
            self.changed.notify_all()

    def view(self, after: int = 0) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "description": self.description,
            "status": self.status,
            "message": self.message,
            "result": self.result,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "events": self.events[after:],
        }


class Operations:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._ops: dict[str, Operation] = {}
        self._lock = threading.Lock()
        # Held by whatever changes resources (apply, destroy, per-resource writes): one at a time.
        self.apply_lock = threading.Lock()
        self.apply_holder: Operation | None = None

    def start(
        self, kind: str, description: str, work: Callable[[Operation], dict[str, Any] | None], exclusive: bool = False
    ) -> Operation:
        if exclusive and not self.apply_lock.acquire(blocking=False):
            holder = self.apply_holder
            since = time.strftime("%H:%M:%S", time.localtime(holder.started_at)) if holder else "?"
            what = f"{holder.description} (operation {holder.id}, since {since})" if holder else "another change"
            raise Conflict(
                f"the emulator is busy with {what}; wait for it to finish or follow it with `mlstack status`"
            )
        op = Operation(id=f"op-{uuid.uuid4().hex[:12]}", kind=kind, description=description)
        if exclusive:
            self.apply_holder = op
        with self._lock:
            self._ops[op.id] = op
            finished = [o for o in self._ops.values() if o.finished_at is not None]
            for old in sorted(finished, key=lambda o: o.finished_at or 0)[:-KEEP]:
                del self._ops[old.id]
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO operations (id, kind, status, started_at) VALUES (?, ?, 'running', ?)",
                (op.id, kind, op.started_at),
            )
        # The caller's context goes with the work, so that what it changes is recorded as the caller's.
        context = contextvars.copy_context()
        thread = threading.Thread(
            target=context.run, args=(self._run, op, work, exclusive), name=op.id, daemon=True
        )
        thread.start()
        return op

    def _run(self, op: Operation, work: Callable[[Operation], dict[str, Any] | None], exclusive: bool) -> None:
        try:
            op.result = work(op) or {}
            op.status = "succeeded"
        except SpecInvalid as exc:
            op.status, op.message = "failed", str(exc)
        except MlstackError as exc:
            op.status, op.message = "failed", str(exc)
        except Exception as exc:  # a bug: keep the server up and say where to look
            op.status, op.message = "failed", f"internal error: {type(exc).__name__}: {exc}"
            op.emit(traceback.format_exc(), level="debug")
        finally:
            op.finished_at = time.time()
            with self.db.transaction() as conn:
                conn.execute(
                    "UPDATE operations SET status = ?, finished_at = ?, message = ? WHERE id = ?",
                    (op.status, op.finished_at, op.message, op.id),
                )
            if exclusive:
                self.apply_holder = None
                self.apply_lock.release()
            with op.changed:
                op.changed.notify_all()

    def get(self, op_id: str) -> Operation:
        op = self._ops.get(op_id)
        if op is None:
            raise NotFound(f"no operation '{op_id}' (operations are kept until the emulator restarts)")
        return op

    def follow(self, op_id: str, after: int, wait: float) -> dict[str, Any]:
        """Events after `after`, waiting up to `wait` seconds for one when there are none yet."""
        op = self.get(op_id)
        with op.changed:
            if len(op.events) <= after and op.finished_at is None:
                op.changed.wait(timeout=wait)
        return op.view(after)

    def running(self) -> list[Operation]:
        return [o for o in self._ops.values() if o.finished_at is None]

    def recover(self) -> int:
        """Mark operations a crash interrupted as failed."""
        with self.db.transaction() as conn:
            return conn.execute(
                "UPDATE operations SET status = 'failed', finished_at = ?, "
                "message = 'interrupted: the emulator stopped' WHERE status = 'running'",
                (time.time(),),
            ).rowcount
