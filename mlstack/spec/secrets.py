"""Secrets never belong in a spec: any string that looks like a credential is an error, wherever it is."""

from __future__ import annotations

import re
from collections.abc import Iterator

from mlstack.errors import Path

_SECRET_SHAPES = (
    (re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"), "an AWS access key id"),
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"), "a private key"),
    (re.compile(r"://[^/\s:@]+:[^/\s@]+@"), "a URL with a password in it"),
    (
        re.compile(r"[?&](token|sig|password|secret|api[_-]?key|access[_-]?key)=[^&\s]{6,}", re.I),
        "a URL carrying a credential",
    ),
    (re.compile(r"hooks\.slack\.com/services/[A-Z0-9]+/[A-Z0-9]+/[A-Za-z0-9]{16,}"), "a Slack webhook secret"),
    (re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"), "a GitHub token"),
    (re.compile(r"AccountKey=[A-Za-z0-9+/=]{20,}"), "an Azure storage account key"),
    (re.compile(r"\"private_key\"\s*:"), "a GCP service account key"),
)


def find(data: object, path: Path = ()) -> Iterator[tuple[Path, str, Path]]:
    """(where, why, the path to show): a secret key is located but not repeated in the message."""
    if isinstance(data, dict):
        for key, value in data.items():
            # A mapping key (a tag name, a parameter name) is copied into plans and PR comments too.
            what = _shape(key) if isinstance(key, str) else None
            if what:
                yield (*path, key), _message(what, "key"), (*path, "<the key>")
            yield from find(value, (*path, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from find(value, (*path, i))
    elif isinstance(data, str):
        what = _shape(data)
        if what:
            yield path, _message(what, "value"), path


def _shape(text: str) -> str | None:
    return next((what for pattern, what in _SECRET_SHAPES if pattern.search(text)), None)


def _message(what: str, where: str) -> str:
    return (
        f"this {where} looks like {what}; secrets never go in a spec in plain text — keep it in the "
        "target's secret store (Secrets Manager, Secret Manager, Key Vault) and reference it there"
    )
