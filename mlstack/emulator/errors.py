"""Errors the control plane answers with; each maps to one HTTP status and reaches the CLI as text."""

from __future__ import annotations

from mlstack.errors import MlstackError


class BadRequest(MlstackError):
    status = 400


class NotFound(MlstackError):
    status = 404


class Conflict(MlstackError):
    status = 409


class OutsideStateDir(BadRequest):
    """A name that would put a file outside the state directory: refused before anything is written."""


class DiskFull(MlstackError):
    status = 507


def http_status(exc: MlstackError) -> int:
    return getattr(exc, "status", 400)
