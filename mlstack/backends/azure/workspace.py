"""The platform component: the workspace and what it stands on (resource group, storage, key vault,
Application Insights on Log Analytics, container registry), or references to an existing workspace's;
customer-managed keys when the spec gives one."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_azure_native as azure_native
from pulumi_azure_native import machinelearningservices as ml

from mlstack.backends.azure.checks import private_subnets
from mlstack.backends.azure.context import Azure, after
from mlstack.backends.azure.iam import grant
from mlstack.backends.azure.network import SparkNetwork
from mlstack.backends.components import SpecComponent
from mlstack.backends.runtime_images import RuntimeImages
from mlstack.errors import MlstackError

LOG_RETENTION_DAYS = 30
STORAGE = "Microsoft.Storage/storageAccounts"
VAULT = "Microsoft.KeyVault/vaults"
# soft-delete retention of the platform's key vault, by whether the environment is production (Azure: 7-90)
VAULT_RETENTION_DAYS = {True: 90, False: 7}
REGISTRY = "Microsoft.ContainerRegistry/registries"
INSIGHTS = "Microsoft.Insights/components"
LOGS = "Microsoft.OperationalInsights/workspaces"


def names(ctx: Azure) -> dict[str, str]:
    """The vendor name of each shared resource, by ARM type."""
    return {
        STORAGE: ctx.unique_name("st", 24),
        VAULT: ctx.unique_name("kv", 24),
        REGISTRY: ctx.unique_name("cr", 50),
        INSIGHTS: ctx.name("insights", max_length=255),
        LOGS: ctx.name("logs", max_length=63),
    }


def known_id(ctx: Azure, resource: pulumi.CustomResource, kind: str) -> pulumi.Output[str]:
    return after(resource, ctx.resource_id(kind, names(ctx)[kind]))


@dataclass
class Platform:
    component: SpecComponent
    resource_group_name: pulumi.Input[str]
    workspace_name: pulumi.Input[str]
    workspace_id: pulumi.Input[str]
    storage_account_id: pulumi.Input[str]
    container_registry_id: pulumi.Input[str]
    key_vault_id: pulumi.Input[str]
    application_insights_id: pulumi.Input[str]
    log_analytics_id: pulumi.Input[str]
    cmk_identity: azure_native.managedidentity.UserAssignedIdentity | None
    private: bool
    # mlstack's runtime and step images, built by this stack and pushed to the workspace's registry
    # (made by the first pipeline that needs them: runtime_images)
    images: RuntimeImages | None = None
    # each cluster's identity by SKU id (compute.build_clusters), and each rollback rule's id by its ARM id
    # (endpoints.rollback_rule_ids): what a pipeline's deployment step is granted on
    principals: dict[str, pulumi.Output[str]] = field(default_factory=dict)
    rules: dict[str, pulumi.Output[str]] = field(default_factory=dict)
    # the managed network provisioned for serverless Spark, which monitors wait for (network.py)
    spark: pulumi.Resource | None = None


def is_private(ctx: Azure) -> bool:
    """Workspaces are reached through private endpoints when the spec's network asks for them."""
    network = ctx.resolved.spec.target.network
    return bool(network and network.private_endpoints)


def _public_access(private: bool) -> str:
    return "Disabled" if private else "Enabled"


def _identity(
    ctx: Azure, component: SpecComponent, rg: pulumi.Input[str], name: str
) -> azure_native.managedidentity.UserAssignedIdentity:
    return azure_native.managedidentity.UserAssignedIdentity(
        name,
        resource_name_=ctx.name(name, max_length=128),
        resource_group_name=rg,
        location=ctx.location,
        tags=ctx.tags,
        opts=component.child(),
    )


def _cmk_identity(
    ctx: Azure, component: SpecComponent, rg: pulumi.Input[str]
) -> azure_native.managedidentity.UserAssignedIdentity | None:
    """A user-assigned identity for the key: storage and registry must reach the key when they are created,
    before any system-assigned identity of theirs exists."""
    key = ctx.key
    if key is None:
        return None
    identity = _identity(ctx, component, rg, "cmk")
    grant(
        ctx,
        component,
        "cmk-key-access",
        principal_id=identity.principal_id,
        role="Key Vault Crypto Service Encryption User",
        scope=ctx.key_vault_id(key.vault),
        scope_key=f"vault/{key.vault}",
    )
    return identity


def storage_account(
    ctx: Azure,
    component: SpecComponent,
    logical: str,
    name: str,
    *,
    rg: pulumi.Input[str],
    private: bool,
    cmk: azure_native.managedidentity.UserAssignedIdentity | None,
    hierarchical: bool = False,
) -> azure_native.storage.StorageAccount:
    """A storage account reached by identities only (no shared keys, no anonymous blobs, TLS 1.2), private when
    the platform is, and encrypted with the customer's key when the spec gives one."""
    key = ctx.key
    encryption = None
    identity = None
    if key and cmk:
        identity = azure_native.storage.IdentityArgs(type="UserAssigned", user_assigned_identities=[cmk.id])
        encryption = azure_native.storage.EncryptionArgs(
            key_source="Microsoft.Keyvault",
            key_vault_properties=azure_native.storage.KeyVaultPropertiesArgs(
                key_name=key.name, key_vault_uri=key.vault_uri, key_version=key.version
            ),
            encryption_identity=azure_native.storage.EncryptionIdentityArgs(encryption_user_assigned_identity=cmk.id),
            services=azure_native.storage.EncryptionServicesArgs(
                blob=azure_native.storage.EncryptionServiceArgs(enabled=True, key_type="Account"),
                file=azure_native.storage.EncryptionServiceArgs(enabled=True, key_type="Account"),
            ),
        )
    return azure_native.storage.StorageAccount(
        logical,
        account_name=name,
        resource_group_name=rg,
        location=ctx.location,
        kind="StorageV2",
        sku=azure_native.storage.SkuArgs(name="Standard_ZRS" if ctx.resolved.production else "Standard_LRS"),
        is_hns_enabled=hierarchical or None,
        allow_blob_public_access=False,
        # identities only: the workspace's datastores use identity auth (system_datastores_auth_mode)
        allow_shared_key_access=False,
        default_to_o_auth_authentication=True,
        enable_https_traffic_only=True,
        minimum_tls_version="TLS1_2",
        public_network_access=_public_access(private),
        identity=identity,
        encryption=encryption,
        tags=ctx.tags,
        opts=component.child(),
    )


def _key_vault(
    ctx: Azure, component: SpecComponent, rg: pulumi.Input[str], private: bool
) -> azure_native.keyvault.Vault:
    client = azure_native.authorization.get_client_config_output(opts=pulumi.InvokeOutputOptions(provider=ctx.provider))
    # The vault's name is deterministic, and a deleted vault keeps it for its soft-delete retention; purge
    # protection forbids freeing it sooner. A production vault keeps both (its secrets cannot be purged by
    # mistake); elsewhere a destroyed stack comes up again after 7 days, or at once after `az keyvault purge`
    # (audit Z13). Purge protection cannot be turned off and the retention not changed once set, so an
    # existing vault keeps what it has.
    production = ctx.resolved.production
    return azure_native.keyvault.Vault(
        "key-vault",
        vault_name=names(ctx)[VAULT],
        resource_group_name=rg,
        location=ctx.location,
        properties=azure_native.keyvault.VaultPropertiesArgs(
            tenant_id=client.tenant_id,
            sku=azure_native.keyvault.SkuArgs(family="A", name="standard"),
            enable_rbac_authorization=True,
            enable_soft_delete=True,
            enable_purge_protection=True if production else None,
            soft_delete_retention_in_days=VAULT_RETENTION_DAYS[production],
            public_network_access=_public_access(private),
        ),
        tags=ctx.tags,
        opts=component.child(ignore_changes=["properties.softDeleteRetentionInDays"]),
    )


def _insights(
    ctx: Azure, component: SpecComponent, rg: pulumi.Input[str], logs: azure_native.operationalinsights.Workspace
):
    return azure_native.applicationinsights.Component(
        "insights",
        resource_name_=names(ctx)[INSIGHTS],
        resource_group_name=rg,
        location=ctx.location,
        kind="web",
        application_type="web",
        ingestion_mode="LogAnalytics",
        workspace_resource_id=known_id(ctx, logs, LOGS),
        tags=ctx.tags,
        opts=component.child(),
    )


def _registry(
    ctx: Azure,
    component: SpecComponent,
    rg: pulumi.Input[str],
    private: bool,
    cmk: azure_native.managedidentity.UserAssignedIdentity | None,
):
    key = ctx.key
    encryption = identity = None
    if key and cmk:
        identity = azure_native.containerregistry.IdentityPropertiesArgs(
            type="UserAssigned", user_assigned_identities=cmk.id.apply(lambda i: {i: {}})
        )
        encryption = azure_native.containerregistry.EncryptionPropertyArgs(
            status="enabled",
            key_vault_properties=azure_native.containerregistry.KeyVaultPropertiesArgs(
                identity=cmk.client_id, key_identifier=key.url
            ),
        )
    return azure_native.containerregistry.Registry(
        "registry",
        registry_name=names(ctx)[REGISTRY],
        resource_group_name=rg,
        location=ctx.location,
        # private access and customer-managed keys are Premium features
        sku=azure_native.containerregistry.SkuArgs(name="Premium" if private or key else "Standard"),
        admin_user_enabled=False,
        anonymous_pull_enabled=False,
        public_network_access=_public_access(private),
        identity=identity,
        encryption=encryption,
        tags=ctx.tags,
        opts=component.child(),
    )


def _log_analytics(
    ctx: Azure, component: SpecComponent, rg: pulumi.Input[str]
) -> azure_native.operationalinsights.Workspace:
    return azure_native.operationalinsights.Workspace(
        "logs",
        workspace_name=names(ctx)[LOGS],
        resource_group_name=rg,
        location=ctx.location,
        sku=azure_native.operationalinsights.WorkspaceSkuArgs(name="PerGB2018"),
        retention_in_days=LOG_RETENTION_DAYS,
        tags=ctx.tags,
        opts=component.child(),
    )


def workspace_encryption(ctx: Azure, cmk: azure_native.managedidentity.UserAssignedIdentity | None):
    key = ctx.key
    if key is None or cmk is None:
        return None
    return ml.EncryptionPropertyArgs(
        status="Enabled",
        key_vault_properties=ml.KeyVaultPropertiesArgs(
            key_identifier=key.url, key_vault_arm_id=ctx.key_vault_id(key.vault)
        ),
        identity=ml.IdentityForCmkArgs(user_assigned_identity=cmk.id),
    )


def workspace_identity(cmk: azure_native.managedidentity.UserAssignedIdentity | None) -> ml.ManagedServiceIdentityArgs:
    if cmk is None:
        return ml.ManagedServiceIdentityArgs(type="SystemAssigned")
    return ml.ManagedServiceIdentityArgs(type="SystemAssigned,UserAssigned", user_assigned_identities=[cmk.id])


def _new_workspace(ctx: Azure, component: SpecComponent, private: bool) -> Platform:
    group = azure_native.resources.ResourceGroup(
        "resource-group",
        resource_group_name=ctx.resource_group,
        location=ctx.location,
        tags=ctx.tags,
        opts=component.child(),
    )
    rg = after(group, ctx.resource_group)  # every resource below depends on the group through its name
    cmk = _cmk_identity(ctx, component, rg)
    logs = _log_analytics(ctx, component, rg)
    ids = {
        STORAGE: known_id(
            ctx,
            storage_account(ctx, component, "storage", names(ctx)[STORAGE], rg=rg, private=private, cmk=cmk),
            STORAGE,
        ),
        VAULT: known_id(ctx, _key_vault(ctx, component, rg, private), VAULT),
        INSIGHTS: known_id(ctx, _insights(ctx, component, rg, logs), INSIGHTS),
        REGISTRY: known_id(ctx, _registry(ctx, component, rg, private, cmk), REGISTRY),
        LOGS: known_id(ctx, logs, LOGS),
    }
    workspace = ml.Workspace(
        "workspace",
        workspace_name=ctx.workspace,
        resource_group_name=rg,
        location=ctx.location,
        kind="Default",
        friendly_name=ctx.spec_name,
        description=ctx.resolved.spec.description,
        storage_account=ids[STORAGE],
        key_vault=ids[VAULT],
        application_insights=ids[INSIGHTS],
        container_registry=ids[REGISTRY],
        identity=workspace_identity(cmk),
        primary_user_assigned_identity=cmk.id if cmk else None,
        encryption=workspace_encryption(ctx, cmk),
        system_datastores_auth_mode="Identity",
        public_network_access=_public_access(private),
        managed_network=ml.ManagedNetworkSettingsArgs(
            isolation_mode="AllowOnlyApprovedOutbound" if private else "AllowInternetOutbound"
        ),
        sku=ml.SkuArgs(name="Basic", tier="Basic"),
        tags=ctx.tags,
        opts=component.child(),
    )
    private_endpoint(ctx, component, "workspace", after(workspace, ctx.workspace_arm_id()), "amlworkspace")
    spark = None
    if ctx.resolved.spec.monitors:
        # the workspace has a managed network: serverless Spark (monitors) runs once it is provisioned for it
        workspace_id = after(workspace, ctx.workspace_arm_id())
        spark = SparkNetwork("workspace-spark-network", workspace_id=workspace_id, opts=component.child())
    stores = (("storage", STORAGE, "blob"), ("vault", VAULT, "vault"), ("registry", REGISTRY, "registry"))
    for label, key, group in stores:
        private_endpoint(ctx, component, label, ids[key], group)
    return Platform(
        component=component,
        resource_group_name=rg,
        workspace_name=after(workspace, ctx.workspace),
        workspace_id=after(workspace, ctx.workspace_arm_id()),
        storage_account_id=ids[STORAGE],
        container_registry_id=ids[REGISTRY],
        key_vault_id=ids[VAULT],
        application_insights_id=ids[INSIGHTS],
        log_analytics_id=ids[LOGS],
        cmk_identity=cmk,
        private=private,
        spark=spark,
    )


def _existing_workspace(ctx: Azure, component: SpecComponent, private: bool) -> Platform:
    """References to a workspace made elsewhere: its storage, registry and vault are read from it."""
    existing = ml.get_workspace_output(
        resource_group_name=ctx.resource_group,
        workspace_name=ctx.workspace,
        opts=pulumi.InvokeOutputOptions(provider=ctx.provider),
    )
    rg = ctx.resource_group
    # the workspace's own storage, vault and registry belong to whoever made it, their endpoints too
    private_endpoint(ctx, component, "workspace", ctx.workspace_arm_id(), "amlworkspace")
    return Platform(
        component=component,
        resource_group_name=rg,
        workspace_name=ctx.workspace,
        workspace_id=ctx.workspace_arm_id(),
        storage_account_id=existing.storage_account,
        container_registry_id=existing.container_registry,
        key_vault_id=existing.key_vault,
        application_insights_id=existing.application_insights,
        log_analytics_id=known_id(ctx, _log_analytics(ctx, component, rg), LOGS),
        cmk_identity=None,
        private=private,
    )


def private_endpoint(
    ctx: Azure, component: SpecComponent, name: str, target_id: pulumi.Input[str], group: str
) -> azure_native.network.PrivateEndpoint | None:
    """A private endpoint for one resource's `group` (amlworkspace, blob, vault, registry, redisCache) in the
    first subnet the spec names, when the spec's network is private (checks: a private network without a
    subnet is refused at validation)."""
    subnets = private_subnets(ctx.resolved.spec)
    if not (is_private(ctx) and subnets):
        return None
    return azure_native.network.PrivateEndpoint(
        f"{name}-private-endpoint",
        private_endpoint_name=ctx.name(name, "pe", max_length=80),
        resource_group_name=ctx.platform.resource_group_name if ctx.platform else ctx.resource_group,
        location=ctx.location,
        subnet=azure_native.network.SubnetArgs(id=subnets[0]),
        private_link_service_connections=[
            azure_native.network.PrivateLinkServiceConnectionArgs(
                name=ctx.name(name, max_length=80), private_link_service_id=target_id, group_ids=[group]
            )
        ],
        tags=ctx.tags,
        opts=component.child(),
    )


def runtime_images(ctx: Azure, platform: Platform) -> RuntimeImages:
    """Builds pushed to `<workspace registry>.azurecr.io/mlstack` with the deployer's Docker login to it
    (`az acr login --name <registry>`): ACR's admin user stays disabled. An existing workspace that has no
    registry yet (Azure ML creates one on first use) gets `target.azure.image_registry`."""

    def repository(arm_id: str | None) -> str:
        if arm_id:
            return f"{arm_id.rstrip('/').rsplit('/', 1)[-1].lower()}.azurecr.io/mlstack"
        if not ctx.settings.image_registry:
            raise MlstackError(
                f"workspace {ctx.workspace} has no container registry for mlstack's runtime images; "
                "set target.azure.image_registry (e.g. myregistry.azurecr.io)"
            )
        return f"{ctx.settings.image_registry.rstrip('/')}/mlstack"

    server = pulumi.Output.from_input(platform.container_registry_id).apply(repository)
    return RuntimeImages(repository=server, opts=platform.component.child())


def build_platform(ctx: Azure) -> Platform:
    component = ctx.component("platform", ctx.spec_name)
    private = is_private(ctx)
    if ctx.settings.create_workspace:
        platform = _new_workspace(ctx, component, private)
    else:
        platform = _existing_workspace(ctx, component, private)
    ctx.platform = platform
    return platform
