"""Vendor names derived from spec names; free of Pulumi so runtime jobs and checks can use it."""

from __future__ import annotations

import hashlib


def physical_name(*parts: str, max_length: int, separator: str = "-") -> str:
    """A deterministic vendor name from spec names: joined, and when too long, cut with a short hash
    of the whole so two long names never collide."""
    full = separator.join(p for p in parts if p)
    if len(full) <= max_length:
        return full
    digest = hashlib.sha256(full.encode()).hexdigest()[:8]
    return f"{full[: max_length - 9].rstrip(separator)}{separator}{digest}"
