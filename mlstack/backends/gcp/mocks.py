"""What Google Cloud would answer, made up deterministically for `mlstack plan` (Pulumi's mocks)."""

from __future__ import annotations

from typing import Any


def outputs(typ: str, name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    """A resource's outputs: its inputs and what Google Cloud adds. `name` is the vendor name."""
    if not typ.startswith("gcp:"):
        return {"name": name, **inputs}
    return {"name": name, "id": f"projects/mock/locations/{region}/{name}", **inputs}


PROJECT_NUMBER = "123456789012"


def call(token: str, region: str) -> dict[str, Any] | None:
    if token.endswith("getProject"):
        return {"number": PROJECT_NUMBER}
    return None
