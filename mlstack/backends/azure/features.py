"""The feature store as an Azure ML workspace of kind FeatureStore: entities as
FeaturestoreEntityContainerEntity/FeaturestoreEntityVersion, views as FeaturesetContainerEntity/
FeaturesetVersion with a feature set specification (templates/azureml/featureset_spec.yaml.j2, stored
next to the offline store) and materialisation settings: offline store on ADLS Gen2, online store on
Azure Cache for Redis, both reached with the feature store's materialisation identity, synced on the view's
schedule.

The materialisation identity is the user-assigned identity Azure ML runs materialisation jobs with (the
stores' connections carry it). It holds what Azure's feature store access control lists for it — AzureML
Data Scientist on the feature store, Storage Blob Data Contributor on the offline store, Storage Blob Data
Reader on the source data — and, because Redis takes Entra ID only, the cache's "Data Contributor" access
policy (audit Z7).

Asset versions are hashes of what they declare: Azure asset versions are immutable, so a changed view is
a new feature set version and the old one stays readable until Pulumi removes it."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import PurePosixPath

import jinja2
import pulumi
import pulumi_azure_native as azure_native
from pulumi_azure_native import machinelearningservices as ml

from mlstack.backends.azure.blobs import TextBlob
from mlstack.backends.azure.context import Azure, after, short_hash
from mlstack.backends.azure.feature_sources import FeatureSource, Workspace, feature_source, materialization_identity
from mlstack.backends.azure.iam import grant
from mlstack.backends.azure.schedules import recurrence
from mlstack.backends.azure.workspace import private_endpoint, storage_account, workspace_encryption, workspace_identity
from mlstack.backends.components import SpecComponent
from mlstack.backends.naming import physical_name
from mlstack.paths import TEMPLATES as TEMPLATES_ROOT
from mlstack.runtime.contract import CODE_KINDS
from mlstack.spec.models import Entity, FeatureView

TEMPLATE = TEMPLATES_ROOT / "azureml" / "featureset_spec.yaml.j2"
# spec dtype -> Azure feature set column type (azure-ai-ml DataColumnType; the REST enum capitalises it)
COLUMN_TYPES = {
    "int32": "integer",
    "int64": "long",
    "float32": "float",
    "float64": "double",
    "string": "string",
    "bool": "boolean",
    "timestamp": "datetime",
}
OFFLINE_CONNECTION = "offline-store"
ONLINE_CONNECTION = "online-store"
OFFLINE_CONTAINER = "offline-store"
SPECS_CONTAINER = "featuresets"
SPARK_RUNTIME = "3.4"
MATERIALIZATION_INSTANCE = "standard_e8s_v3"
SPEC_FILE = "FeaturesetSpec.yaml"
# Azure Cache for Redis built-in access policy that reads and writes keys (Entra ID data access)
REDIS_DATA_POLICY = "Data Contributor"


@cache
def _template() -> jinja2.Template:
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    return env.from_string(TEMPLATE.read_text())


def source_type(uri: str) -> str:
    return "csv" if PurePosixPath(uri).suffix.lower() == ".csv" else "parquet"


def lookback(seconds: int | None) -> dict[str, int]:
    if not seconds:
        return {}
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    parts = {"days": days, "hours": hours, "minutes": rest // 60}
    return {unit: amount for unit, amount in parts.items() if amount}


def featureset_spec(view: FeatureView, entity: Entity, source: FeatureSource) -> str:
    """The view's FeaturesetSpec.yaml."""
    return _template().render(
        source={
            "type": source_type(view.source.uri),
            "path": source.path,
            "timestamp": view.source.timestamp_field,
        },
        features=[{"name": f.name, "type": COLUMN_TYPES[f.dtype], "description": f.description} for f in view.features],
        index_columns=[{"name": c.name, "type": COLUMN_TYPES[c.dtype]} for c in entity.join_keys],
        lookback=lookback(view.ttl),
    )


def store_type(view: FeatureView) -> str:
    return {(True, True): "OnlineAndOffline", (True, False): "Online", (False, True): "Offline"}.get(
        (view.online, view.offline), "None"
    )


def entity_version(entity: Entity) -> str:
    return short_hash(json.dumps([(c.name, c.dtype) for c in entity.join_keys]), digits=8)


def featureset_version(view: FeatureView, spec_text: str) -> str:
    return short_hash(spec_text, store_type(view), view.sync_schedule or "", digits=8)


@dataclass
class FeatureStore:
    name: pulumi.Input[str]
    workspace_id: pulumi.Input[str]  # the feature store workspace
    offline_id: pulumi.Input[str]  # its offline store's storage account
    feature_sets: dict[str, pulumi.Output[str]] = field(default_factory=dict)  # view -> "<name>:<version>"


def offline_account(ctx: Azure) -> str:
    return ctx.unique_name("fs", 24)


def store_name(ctx: Azure) -> str:
    return physical_name(ctx.workspace, "fs", max_length=33)


def redis_name(ctx: Azure) -> str:
    return ctx.name("online", max_length=63)


def _connection(
    ctx: Azure,
    component: SpecComponent,
    store: ml.Workspace,
    identity: azure_native.managedidentity.UserAssignedIdentity,
    name: str,
    category: str,
    target,
):
    """A store's connection, made with the materialisation identity (as azure-ai-ml's feature store
    creation makes it: managed identity credentials naming the identity's client and resource ids)."""
    assert ctx.platform is not None
    return ml.WorkspaceConnection(
        f"feature-store-{name}",
        connection_name=name,
        resource_group_name=ctx.platform.resource_group_name,
        workspace_name=after(store, store_name(ctx)),
        properties=ml.ManagedIdentityAuthTypeWorkspaceConnectionPropertiesArgs(
            auth_type="ManagedIdentity",
            category=category,
            target=target,
            credentials=ml.WorkspaceConnectionManagedIdentityArgs(
                client_id=identity.client_id, resource_id=identity.id
            ),
        ),
        opts=component.child(),
    )


def _materialization_identity(
    ctx: Azure, component: SpecComponent
) -> azure_native.managedidentity.UserAssignedIdentity:
    """The user-assigned identity materialisation jobs run with. A feature store with materialisation takes
    one user-assigned identity (azure-ai-ml's FeatureStoreOperations), so with a customer-managed key the
    key's identity, already on the workspace, is that one."""
    platform = ctx.platform
    assert platform is not None
    if platform.cmk_identity is not None:
        return platform.cmk_identity
    return azure_native.managedidentity.UserAssignedIdentity(
        "feature-store-materialization",
        resource_name_=materialization_identity(ctx.resolved),
        **ctx.in_group(),
        tags=ctx.tags,
        opts=component.child(),
    )


def _online_store(ctx: Azure, component: SpecComponent) -> azure_native.redis.Redis:
    return azure_native.redis.Redis(
        "online-store",
        name=redis_name(ctx),
        **ctx.in_group(),
        sku=azure_native.redis.SkuArgs(
            name="Premium" if ctx.resolved.production else "Standard",
            family="P" if ctx.resolved.production else "C",
            capacity=1,
        ),
        enable_non_ssl_port=False,
        minimum_tls_version="1.2",
        # Entra ID only: no access keys to leak
        disable_access_key_authentication=True,
        redis_configuration=azure_native.redis.RedisCommonPropertiesRedisConfigurationArgs(aad_enabled="true"),
        public_network_access="Disabled" if ctx.platform and ctx.platform.private else "Enabled",
        tags=ctx.tags,
        opts=component.child(),
    )


def _store_workspace(
    ctx: Azure,
    component: SpecComponent,
    online: bool,
    identity: azure_native.managedidentity.UserAssignedIdentity,
) -> ml.Workspace:
    platform = ctx.platform
    assert platform is not None
    return ml.Workspace(
        "feature-store",
        workspace_name=store_name(ctx),
        **ctx.in_group(),
        kind="FeatureStore",
        friendly_name=f"{ctx.spec_name} feature store",
        storage_account=platform.storage_account_id,
        key_vault=platform.key_vault_id,
        application_insights=platform.application_insights_id,
        container_registry=platform.container_registry_id,
        identity=workspace_identity(identity),
        primary_user_assigned_identity=platform.cmk_identity.id if platform.cmk_identity else None,
        encryption=workspace_encryption(ctx, platform.cmk_identity),
        system_datastores_auth_mode="Identity",
        public_network_access="Disabled" if platform.private else "Enabled",
        feature_store_settings=ml.FeatureStoreSettingsArgs(
            compute_runtime=ml.ComputeRuntimeDtoArgs(spark_runtime_version=SPARK_RUNTIME),
            offline_store_connection_name=OFFLINE_CONNECTION,
            online_store_connection_name=ONLINE_CONNECTION if online else None,
        ),
        tags=ctx.tags,
        opts=component.child(),
    )


def _store_scope(ctx: Azure, store: ml.Workspace) -> dict:
    assert ctx.platform is not None
    return {"resource_group_name": ctx.platform.resource_group_name, "workspace_name": after(store, store_name(ctx))}


def _ml_workspace(ctx: Azure) -> Workspace:
    return Workspace(ctx.subscription, ctx.resource_group, ctx.workspace)


def _grant_materialization(
    ctx: Azure,
    identity: azure_native.managedidentity.UserAssignedIdentity,
    store_id: pulumi.Input[str],
    offline_id: pulumi.Input[str],
    sources: Iterable[FeatureSource],
) -> None:
    """The roles Azure's feature store access control lists for the materialisation identity, each on one
    resource. Sources in the ML workspace's datastores are read through the datastore (Reader on the ML
    workspace resolves it) from the workspace's storage; other storage is the spec author's to grant
    (checks.warnings says so, located)."""
    platform = ctx.platform
    assert platform is not None
    sources = list(sources)
    roles: list[tuple[str, pulumi.Input[str], str]] = [
        ("AzureML Data Scientist", store_id, "feature-store"),
        ("Storage Blob Data Contributor", offline_id, "offline-store"),
    ]
    if any(source.datastore for source in sources):
        roles.append(("Reader", platform.workspace_id, "workspace"))
    if any(source.on_workspace_storage for source in sources):
        roles.append(("Storage Blob Data Reader", platform.storage_account_id, "workspace-storage"))
    for role, scope, key in roles:
        grant(
            ctx,
            platform.component,
            f"materialization-{key}",
            principal_id=identity.principal_id,
            role=role,
            scope=scope,
            scope_key=key,
        )


def _online_store_access(
    ctx: Azure,
    identity: azure_native.managedidentity.UserAssignedIdentity,
    redis: azure_native.redis.Redis,
    redis_id: pulumi.Input[str],
) -> None:
    """The cache takes Entra ID only, so writing to it is an access policy assignment of the materialisation
    identity, not an Azure role. Azure's own feature store creation also makes the identity Contributor on the
    cache (azure-ai-ml feature_store_role_assignments.json); mlstack gives no Contributor and grants the read
    part of it: Reader on the cache, to read its host and ports."""
    platform = ctx.platform
    assert platform is not None
    azure_native.redis.AccessPolicyAssignment(
        "online-store-materialization",
        access_policy_assignment_name="mlstack-materialization",
        cache_name=after(redis, redis_name(ctx)),
        resource_group_name=platform.resource_group_name,
        access_policy_name=REDIS_DATA_POLICY,
        object_id=identity.principal_id,
        object_id_alias=identity.name,
        opts=platform.component.child(),
    )
    grant(
        ctx,
        platform.component,
        "materialization-online-store",
        principal_id=identity.principal_id,
        role="Reader",
        scope=redis_id,
        scope_key="online-store",
    )


def build_feature_store(ctx: Azure) -> FeatureStore | None:
    spec = ctx.resolved.spec.feature_store
    if not spec.views and not spec.entities:
        return None
    platform = ctx.platform
    assert platform is not None
    shared = platform.component
    online = any(v.online for v in spec.views)
    offline = storage_account(
        ctx,
        shared,
        "offline-store",
        offline_account(ctx),
        rg=platform.resource_group_name,
        private=platform.private,
        cmk=platform.cmk_identity,
        hierarchical=True,
    )
    account = after(offline, offline_account(ctx))
    offline_id = ctx.resource_id("Microsoft.Storage/storageAccounts", offline_account(ctx))
    containers = {
        name: azure_native.storage.BlobContainer(
            f"offline-store-{name}",
            container_name=name,
            account_name=account,
            resource_group_name=platform.resource_group_name,
            public_access="None",
            opts=shared.child(),
        )
        for name in (OFFLINE_CONTAINER, SPECS_CONTAINER)
    }
    # whoever runs `pulumi up` writes the feature set specifications with Entra ID (no account keys)
    deployer = azure_native.authorization.get_client_config_output(
        opts=pulumi.InvokeOutputOptions(provider=ctx.provider)
    )
    deployer_grant = grant(
        ctx,
        shared,
        "deployer-featureset-specs",
        principal_id=deployer.object_id,
        role="Storage Blob Data Contributor",
        scope=after(containers[SPECS_CONTAINER], f"{offline_id}/blobServices/default/containers/{SPECS_CONTAINER}"),
        scope_key="featuresets",
        principal_type=None,  # a user or a service principal, whichever runs the deployment
    )
    identity = _materialization_identity(ctx, shared)
    store = _store_workspace(ctx, shared, online, identity)
    store_id = ctx.resource_id("Microsoft.MachineLearningServices/workspaces", store_name(ctx))
    private_endpoint(ctx, shared, "feature-store", after(store, store_id), "amlworkspace")
    for group in ("blob", "dfs"):
        private_endpoint(ctx, shared, f"offline-store-{group}", after(offline, offline_id), group)
    sources = {view.name: feature_source(view.source.uri, _ml_workspace(ctx)) for view in spec.views}
    _grant_materialization(ctx, identity, after(store, store_id), after(offline, offline_id), sources.values())
    _connection(
        ctx,
        shared,
        store,
        identity,
        OFFLINE_CONNECTION,
        "ADLSGen2",
        pulumi.Output.concat("https://", account, f".dfs.core.windows.net/{OFFLINE_CONTAINER}"),
    )
    if online:
        redis = _online_store(ctx, shared)
        redis_id = after(redis, ctx.resource_id("Microsoft.Cache/redis", redis_name(ctx)))
        private_endpoint(ctx, shared, "online-store", redis_id, "redisCache")
        _online_store_access(ctx, identity, redis, redis_id)
        _connection(ctx, shared, store, identity, ONLINE_CONNECTION, "Redis", redis_id)
    scope = _store_scope(ctx, store)
    entity_ids = {}
    for entity in spec.entities:
        component = ctx.component("entity", entity.name)
        version = entity_version(entity)
        container = ml.FeaturestoreEntityContainerEntity(
            entity.name,
            name=entity.name,
            properties=ml.FeaturestoreEntityContainerPropertiesArgs(description=entity.description, tags=ctx.tags),
            **scope,
            opts=component.child(),
        )
        ml.FeaturestoreEntityVersion(
            f"{entity.name}-version",
            name=entity.name,
            version=version,
            properties=ml.FeaturestoreEntityVersionPropertiesArgs(
                description=entity.description,
                index_columns=[
                    ml.IndexColumnArgs(column_name=c.name, data_type=COLUMN_TYPES[c.dtype].capitalize())
                    for c in entity.join_keys
                ],
                tags=ctx.tags,
            ),
            **scope,
            opts=component.child(depends_on=[container]),
        )
        entity_ids[entity.name] = f"azureml:{entity.name}:{version}"
        component.done()
    built = FeatureStore(store_name(ctx), after(store, store_id), after(offline, offline_id))
    for view in spec.views:
        entity = ctx.resolved.entity_of(view)
        component = ctx.component("feature_view", view.name)
        text = featureset_spec(view, entity, sources[view.name])
        version = featureset_version(view, text)
        folder = f"{view.name}/{version}"
        # written with the deployer's Entra ID: the account takes no shared keys (blobs.py)
        blob = TextBlob(
            f"{view.name}-spec",
            account_url=pulumi.Output.concat("https://", account, ".blob.core.windows.net"),
            container=after(containers[SPECS_CONTAINER], SPECS_CONTAINER),
            blob_name=f"{folder}/{SPEC_FILE}",
            text=text,
            content_type="application/x-yaml",
            opts=component.child(depends_on=[deployer_grant]),
        )
        container = ml.FeaturesetContainerEntity(
            view.name,
            name=view.name,
            properties=ml.FeaturesetContainerPropertiesArgs(description=view.description, tags=ctx.tags),
            **scope,
            opts=component.child(),
        )
        schedule = None
        if view.sync_schedule and view.online:
            rec = recurrence(view.sync_schedule)
            schedule = ml.RecurrenceTriggerArgs(
                trigger_type="Recurrence",
                frequency=rec.frequency,
                interval=rec.interval,
                time_zone="UTC",
                schedule=ml.RecurrenceScheduleArgs(
                    hours=list(rec.hours), minutes=list(rec.minutes), week_days=list(rec.week_days) or None
                )
                if rec.minutes
                else None,
            )
        featureset = ml.FeaturesetVersion(
            f"{view.name}-version",
            name=view.name,
            version=version,
            properties=ml.FeaturesetVersionPropertiesArgs(
                description=view.description,
                entities=[entity_ids[view.entity]],
                specification=ml.FeaturesetSpecificationArgs(
                    path=pulumi.Output.concat(
                        "abfss://", SPECS_CONTAINER, "@", account, f".dfs.core.windows.net/{folder}"
                    )
                ),
                materialization_settings=ml.MaterializationSettingsArgs(
                    store_type=store_type(view),
                    schedule=schedule,
                    resource=ml.MaterializationComputeResourceArgs(instance_type=MATERIALIZATION_INSTANCE),
                ),
                tags=ctx.tags,
            ),
            **scope,
            opts=component.child(depends_on=[container, blob]),
        )
        built.feature_sets[view.name] = after(featureset, f"{view.name}:{version}")
        component.done()
    return built


def grant_consumers(ctx: Azure, store: FeatureStore) -> None:
    """The clusters that run the code steps of a pipeline with feature views read the feature sets: the
    feature store's metadata (AzureML Data Scientist on the feature store workspace) and the materialised data
    (Storage Blob Data Reader on the offline store), the consumer roles of Azure's feature store access
    control (audit Z8). One pair per cluster."""
    assert ctx.platform is not None
    readers: dict[str, pulumi.Output[str]] = {}
    for pipeline in (p for p in ctx.resolved.spec.pipelines if p.feature_views):
        for step in (s for s in pipeline.steps if s.kind in CODE_KINDS):
            sku = ctx.resolved.step_sku(pipeline.name, step.name)
            if sku is not None and sku.sku in ctx.platform.principals:
                readers[sku.sku] = ctx.platform.principals[sku.sku]
    for sku_id, principal in sorted(readers.items()):
        for role, scope, key in (
            ("AzureML Data Scientist", store.workspace_id, "feature-store"),
            ("Storage Blob Data Reader", store.offline_id, "offline-store"),
        ):
            grant(
                ctx,
                ctx.platform.component,
                f"cluster-{sku_id}-{key}",
                principal_id=principal,
                role=role,
                scope=scope,
                scope_key=key,
            )

