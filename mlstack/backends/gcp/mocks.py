"""What Google Cloud would answer, made up deterministically for `mlstack plan` (Pulumi's mocks)."""

from __future__ import annotations

from typing import Any


def outputs(typ: str, name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    """A resource's outputs: its inputs and what Google Cloud adds. `name` is the vendor name."""
    if not typ.startswith("gcp:"):
        return {"name": name, **inputs}
    found = {"name": name, "id": f"projects/mock/locations/{region}/{name}", **inputs}
    if typ == "gcp:serviceaccount/account:Account":  # the address Google gives every service account
        found["email"] = f"{inputs['accountId']}@{inputs.get('project', 'mock')}.iam.gserviceaccount.com"
    return found


PROJECT_NUMBER = "123456789012"


def call(token: str, region: str) -> dict[str, Any] | None:
    if token.endswith("getProject"):
        return {"number": PROJECT_NUMBER}
    return None
