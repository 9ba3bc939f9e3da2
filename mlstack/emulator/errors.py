"""Errors the control plane answers with; each maps to one HTTP status and reaches the CLI as text."""

from __future__ import annotations

from mlstack.errors import MlstackError


class BadRequest(MlstackError):
    status = 400


class NotFound(MlstackError):
    status = 404


class Conflict(MlstackError):
    status = 409


def http_status(exc: MlstackError) -> int:
    return getattr(exc, "status", 400)
