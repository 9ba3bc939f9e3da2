"""What Azure Resource Manager would answer, made up deterministically for `mlstack plan` (Pulumi's mocks)."""

from __future__ import annotations

import uuid
from typing import Any

_MOCK_ID = "00000000-0000-0000-0000-000000000000"


def outputs(typ: str, name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    """A resource's outputs: its inputs and what ARM adds. `name` is the vendor name."""
    if not typ.startswith("azure-native:"):
        return {"name": name, **inputs}
    kind = typ.rsplit(":", 1)[-1]
    out: dict[str, Any] = {"name": name, "id": f"/subscriptions/mock/resourceGroups/mock/providers/{kind}/{name}"}
    out.update(inputs)
    if kind == "UserAssignedIdentity":
        # ARM gives a user-assigned identity its Entra object (principal) and client ids
        out["principalId"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"principal/{name}"))
        out["clientId"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"client/{name}"))
    identity = inputs.get("identity")
    if isinstance(identity, dict) and isinstance(identity.get("userAssignedIdentities"), list):
        # ARM answers user-assigned identities as a map keyed by id, though they go in as a list
        out["identity"] = {**identity, "userAssignedIdentities": {i: {} for i in identity["userAssignedIdentities"]}}
    return out


def call(token: str, region: str) -> dict[str, Any] | None:
    if token.endswith("getClientConfig"):
        return {"clientId": _MOCK_ID, "objectId": _MOCK_ID, "subscriptionId": _MOCK_ID, "tenantId": _MOCK_ID}
    return None
