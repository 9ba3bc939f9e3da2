"""Role assignments with narrow built-in roles, each scoped to the one resource it is about.

No Owner or Contributor anywhere, and nothing at subscription or resource-group scope."""

from __future__ import annotations

import pulumi
import pulumi_azure_native as azure_native

from mlstack.backends.azure.context import Azure
from mlstack.backends.components import SpecComponent

# Built-in role definition ids (identical in every Azure tenant).
ROLES = {
    # submit and manage jobs, endpoints and assets in one workspace, without changing the workspace itself
    "AzureML Data Scientist": "f6c7c914-8db3-469d-8ca1-694a8f32e121",
    "Storage Blob Data Contributor": "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
    "Storage Blob Data Reader": "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
    "AcrPull": "7f951dda-4ed3-4680-a7ca-43fe172d538d",
    # read one resource's properties: the feature store's materialisation identity resolves the ML
    # workspace's datastores and the cache's host with it
    "Reader": "acdd72a7-3385-48ef-bd42-f606fba81ae7",
    # wrap and unwrap with one key vault's keys: what storage, registry and workspace need for CMK
    "Key Vault Crypto Service Encryption User": "e147488a-f6f5-4113-8e2d-b22465e65bf6",
    # a pipeline's deployment step: point one rollback rule at its new deployment, read the alerts it fires
    "Monitoring Contributor": "749f88d5-cbae-40b8-bcfc-e573ddc772fa",
    "Monitoring Reader": "43d0d8ad-25c7-4714-9337-8ba259a9fe05",
}


def role_definition_id(ctx: Azure, role: str) -> str:
    return f"/subscriptions/{ctx.subscription}/providers/Microsoft.Authorization/roleDefinitions/{ROLES[role]}"


def grant(
    ctx: Azure,
    component: SpecComponent,
    name: str,
    *,
    principal_id: pulumi.Input[str],
    role: str,
    scope: pulumi.Input[str],
    scope_key: str,
    principal_type: str | None = "ServicePrincipal",
) -> azure_native.authorization.RoleAssignment:
    """`role` for a principal (by default a managed identity) on `scope`. `scope_key` names the scope in the
    assignment's GUID so that the name is stable across runs before the scope's id is known."""
    return azure_native.authorization.RoleAssignment(
        name,
        role_assignment_name=ctx.guid("role", name, role, scope_key),
        principal_id=principal_id,
        principal_type=principal_type,
        role_definition_id=role_definition_id(ctx, role),
        scope=scope,
        opts=component.child(),
    )
