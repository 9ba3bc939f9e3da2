"""What every Azure module needs: the subscription, resource group and workspace the spec names, the
explicit provider, tags, the customer-managed key, and Azure's naming rules."""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_azure_native as azure_native

from mlstack.backends.azure.feature_sources import workspace_of
from mlstack.backends.components import SpecComponent
from mlstack.backends.naming import physical_name
from mlstack.errors import MlstackError
from mlstack.resolve import Resolved
from mlstack.spec.models import AzureSettings

if TYPE_CHECKING:
    from mlstack.backends.azure.workspace import Platform

ML = "Microsoft.MachineLearningServices"
# Deployment and compute names carry this many hex digits of the settings that force a new resource.
REVISION_DIGITS = 6
_KEY_URL = re.compile(
    r"^https://(?P<vault>[a-zA-Z0-9-]+)\.vault\.azure\.net/keys/(?P<key>[^/]+)(?:/(?P<version>[^/]+))?$"
)


def short_hash(*parts: str, digits: int = REVISION_DIGITS) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:digits]


def revision_name(base: str, *revision: str, max_length: int) -> str:
    """`<base>-<hash of revision>` within max_length: a new revision is a new Azure resource with a new
    name, so the old one keeps serving until the new one is ready (create before delete)."""
    suffix = short_hash(base, *revision)
    return f"{base[: max_length - REVISION_DIGITS - 1].rstrip('-')}-{suffix}"


def compact_name(prefix: str, *parts: str, max_length: int) -> str:
    """A globally unique lower-case alphanumeric name (storage accounts, registries, key vaults): readable
    parts cut to fit, then a hash of everything so two stacks never collide."""
    digest = short_hash(prefix, *parts, digits=8)
    readable = re.sub(r"[^a-z0-9]", "", "".join(parts).lower())[: max_length - len(prefix) - len(digest)]
    return f"{prefix}{readable}{digest}"


def after(resource: pulumi.CustomResource, value: str) -> pulumi.Output[str]:
    """`value` once `resource` exists: a dependency whose value is known without asking the cloud (names and
    ARM ids mlstack chose), so plans show the real name rather than an unknown."""
    return resource.id.apply(lambda _: value)


def iso_duration(seconds: int) -> str:
    """ISO 8601 duration in the largest whole unit, as Azure writes them (PT5M, PT2H, P7D)."""
    if seconds and seconds % 86400 == 0:
        return f"P{seconds // 86400}D"
    for unit, size in (("H", 3600), ("M", 60)):
        if seconds and seconds % size == 0:
            return f"PT{seconds // size}{unit}"
    return f"PT{seconds}S"


@dataclass(frozen=True)
class KeyVaultKey:
    """A customer-managed key given as a Key Vault key URL."""

    url: str
    vault: str
    name: str
    version: str | None

    @classmethod
    def parse(cls, url: str) -> KeyVaultKey:
        match = _KEY_URL.match(url)
        if not match:
            raise MlstackError(
                f"'{url}' is not a Key Vault key URL (https://<vault>.vault.azure.net/keys/<key>[/<version>])"
            )
        return cls(url, match["vault"], match["key"], match["version"])

    @property
    def vault_uri(self) -> str:
        return f"https://{self.vault}.vault.azure.net/"


@dataclass
class Azure:
    """The resolved spec seen from Azure, with the provider every resource uses."""

    resolved: Resolved
    settings: AzureSettings
    location: str
    provider: azure_native.Provider | None = None
    platform: Platform | None = None
    env: str = field(init=False)

    def __post_init__(self) -> None:
        self.env = self.resolved.environment or ""

    @classmethod
    def of(cls, resolved: Resolved) -> Azure:
        settings = resolved.spec.target.azure
        if settings is None or not resolved.region:
            raise MlstackError(
                "the azure target needs target.azure (subscription_id, resource_group, workspace) and a region "
                "(target.region or target.azure.region)"
            )
        ctx = cls(resolved, settings, resolved.region)
        ctx.provider = azure_native.Provider("azure", location=ctx.location, subscription_id=settings.subscription_id)
        return ctx

    # --- identity of the stack ------------------------------------------------------------------

    @property
    def spec_name(self) -> str:
        return self.resolved.name

    @property
    def resource_group(self) -> str:
        return self.settings.resource_group

    @property
    def workspace(self) -> str:
        # Development mode: a per-user workspace holds the user's copy (checks.py requires mlstack to create it).
        return workspace_of(self.resolved).name

    @property
    def subscription(self) -> str:
        return self.settings.subscription_id

    @property
    def tags(self) -> dict[str, str]:
        return dict(self.resolved.tags)

    @property
    def key(self) -> KeyVaultKey | None:
        return KeyVaultKey.parse(self.resolved.kms_key) if self.resolved.kms_key else None

    def key_vault_id(self, vault: str) -> str:
        """The ARM id of a key's vault. The spec names the key by URL only, so the vault is looked for in the
        spec's resource group (README: customer-managed keys)."""
        return (
            f"/subscriptions/{self.subscription}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.KeyVault/vaults/{vault}"
        )

    # --- names ----------------------------------------------------------------------------------

    def name(self, *parts: str, max_length: int = 64) -> str:
        """A vendor name for a shared resource of this spec and environment."""
        return physical_name(self.resolved.prefix, self.spec_name, self.env, *parts, max_length=max_length)

    @property
    def _owner(self) -> tuple[str, ...]:
        """The user's prefix in development mode; nothing otherwise, so that other names and hashes stay."""
        return (self.resolved.prefix,) if self.resolved.prefix else ()

    def unique_name(self, prefix: str, max_length: int) -> str:
        """Storage accounts, registries and key vaults: globally unique, so the subscription is hashed in."""
        return compact_name(prefix, *self._owner, self.spec_name, self.env, self.subscription, max_length=max_length)

    def endpoint_name(self, endpoint: str) -> str:
        """Online endpoint names are unique per Azure region, across tenants: environment and a short hash of
        the workspace keep dev, prod and other customers apart."""
        scope = short_hash(self.subscription, self.resource_group, self.workspace, digits=4)
        return physical_name(self.resolved.prefix, endpoint, self.env, scope, max_length=32)

    def guid(self, *parts: str) -> str:
        """A deterministic GUID (role assignment names must be GUIDs)."""
        return str(
            uuid.uuid5(
                uuid.NAMESPACE_URL,
                "/".join(("mlstack", self.subscription, *self._owner, self.spec_name, self.env, *parts)),
            )
        )

    # --- resources ------------------------------------------------------------------------------

    def component(self, kind: str, name: str) -> SpecComponent:
        """A spec object's component; its children use this stack's explicit provider."""
        return SpecComponent(kind, name, opts=pulumi.ResourceOptions(providers=[self.provider]))

    def in_workspace(self) -> dict[str, Any]:
        """The arguments every workspace-scoped resource takes (outputs, so they wait for the workspace)."""
        assert self.platform is not None
        return {
            "resource_group_name": self.platform.resource_group_name,
            "workspace_name": self.platform.workspace_name,
        }

    def in_group(self) -> dict[str, Any]:
        """The arguments every other resource of the stack takes."""
        assert self.platform is not None
        return {"resource_group_name": self.platform.resource_group_name, "location": self.location}

    def resource_id(self, kind: str, name: str) -> str:
        """The ARM id of a resource of this stack's resource group, e.g. kind Microsoft.Storage/storageAccounts."""
        return f"/subscriptions/{self.subscription}/resourceGroups/{self.resource_group}/providers/{kind}/{name}"

    def workspace_arm_id(self) -> str:
        return (
            f"/subscriptions/{self.subscription}/resourceGroups/{self.resource_group}"
            f"/providers/{ML}/workspaces/{self.workspace}"
        )

    def asset_id(self, kind: str, name: str, version: str | None = None) -> str:
        """The ARM id of a workspace asset (models, environments, components, computes, ...)."""
        base = f"{self.workspace_arm_id()}/{kind}/{name}"
        return f"{base}/versions/{version}" if version is not None else base
