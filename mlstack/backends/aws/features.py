"""feature store -> one SageMaker feature group per feature view (entities have no SageMaker resource).

- Record identifier: the entity's join key. An entity with several join keys gets one more String
  feature, `<key1>__<key2>...`, holding the keys' values joined with `#` (writers fill it; SageMaker
  allows exactly one record identifier). The keys stay features of their own, so they can be queried.
- Event time: the source's timestamp field, as a Fractional feature (seconds since the epoch).
- Types: integers and booleans (0/1) are Integral, floats Fractional, strings and timestamps (ISO 8601)
  String.
- Online store with the view's ttl as `ttl_duration`; offline store under `s3://<bucket>/features/`
  with a Glue table in the platform's database; both encrypted with the spec's KMS key when set.
- `sync_schedule` has no SageMaker counterpart: PutRecord writes the online and offline stores at once.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws

from mlstack.backends.aws import iam
from mlstack.backends.aws.context import Aws
from mlstack.backends.aws.platform import Platform, role_policy
from mlstack.backends.components import SpecComponent
from mlstack.spec.models import Entity, FeatureView
from mlstack.targets import aws as dialect

FEATURE_TYPES = {
    "int32": "Integral",
    "int64": "Integral",
    "bool": "Integral",
    "float32": "Fractional",
    "float64": "Fractional",
    "string": "String",
    "timestamp": "String",
}
# (unit, seconds) from the largest; SageMaker takes a whole number of one unit.
TTL_UNITS = (("Weeks", 604800), ("Days", 86400), ("Hours", 3600), ("Minutes", 60), ("Seconds", 1))
OFFLINE_PREFIX = "features/"


def record_identifier(entity: Entity) -> str:
    keys = [k.name for k in entity.join_keys]
    return keys[0] if len(keys) == 1 else "__".join(keys)


def ttl_duration(seconds: int) -> dict[str, Any]:
    unit, size = next((u, s) for u, s in TTL_UNITS if seconds % s == 0)
    return {"unit": unit, "value": seconds // size}


def feature_definitions(view: FeatureView, entity: Entity) -> list[dict[str, str]]:
    columns: dict[str, str] = {}
    for key in entity.join_keys:
        columns[key.name] = FEATURE_TYPES[key.dtype]
    identifier = record_identifier(entity)
    columns.setdefault(identifier, "String")
    columns[view.source.timestamp_field] = "Fractional"
    for feature in view.features:
        columns[feature.name] = FEATURE_TYPES[feature.dtype]
    return [{"feature_name": name, "feature_type": kind} for name, kind in columns.items()]


def _offline(ctx: Aws, platform: Platform, view: FeatureView) -> dict[str, Any]:
    assert platform.glue_database is not None
    return {
        "s3_storage_config": {"s3_uri": platform.uri(OFFLINE_PREFIX), "kms_key_id": ctx.kms_key},
        "data_catalog_config": {
            "catalog": "AwsDataCatalog",
            "database": platform.glue_database.name,
            "table_name": view.name.replace("-", "_"),
        },
        "disable_glue_table_creation": False,
    }


def _store_policy(ctx: Aws, platform: Platform) -> aws.iam.RolePolicy | None:
    """What SageMaker needs for the stores: the features prefix and the Glue tables of the offline store,
    the key of both; None when there is nothing to grant (online stores without a key)."""
    statements = list(iam.kms(ctx))
    if platform.glue_database is not None:
        database = platform.glue_database.name
        glue = [
            ctx.arn("glue", "catalog"),
            pulumi.Output.concat(ctx.arn("glue", "database/"), database),
            pulumi.Output.concat(ctx.arn("glue", "table/"), database, "/*"),
        ]
        statements += [
            *iam.bucket_prefix(ctx, platform.bucket_name, [OFFLINE_PREFIX], write=True),
            iam.allow(["s3:GetBucketAcl"], [ctx.s3_arn(platform.bucket_name)]),
            # AWS's AmazonSageMakerFeatureStoreAccess grants it for the offline store's writes; here on the
            # offline prefix only (audit A13; whether the store still sends an ACL to a bucket whose owner
            # enforces ownership is not verified, so it is granted rather than assumed away).
            iam.allow(["s3:PutObjectAcl"], [ctx.s3_arn(platform.bucket_name, f"{OFFLINE_PREFIX}*")]),
            iam.allow(
                [
                    "glue:BatchCreatePartition",
                    "glue:CreateTable",
                    "glue:GetDatabase",
                    "glue:GetTable",
                    "glue:UpdateTable",
                ],
                glue,
            ),
        ]
    if not statements:
        return None
    return role_policy(ctx, platform, "feature-store", "feature-store", statements, platform.component)


def build(ctx: Aws, platform: Platform) -> dict[str, aws.sagemaker.FeatureGroup]:
    spec = ctx.resolved.spec
    groups: dict[str, aws.sagemaker.FeatureGroup] = {}
    store_policy = _store_policy(ctx, platform) if spec.feature_store.views else None
    for view in spec.feature_store.views:
        component = SpecComponent("feature_view", view.name)
        entity = ctx.resolved.entity_of(view)
        depends: list[pulumi.Resource] = [*platform.bucket_ready, *([store_policy] if store_policy else [])]
        offline = _offline(ctx, platform, view) if view.offline else None
        online = None
        if view.online:
            online = {
                "enable_online_store": True,
                "security_config": {"kms_key_id": ctx.kms_key} if ctx.kms_key else None,
                "ttl_duration": ttl_duration(view.ttl) if view.ttl else None,
            }
        group = aws.sagemaker.FeatureGroup(
            view.name,
            feature_group_name=ctx.names.sagemaker(view.name, max_length=dialect.FEATURE_GROUP),
            description=view.description or None,
            record_identifier_feature_name=record_identifier(entity),
            event_time_feature_name=view.source.timestamp_field,
            feature_definitions=feature_definitions(view, entity),
            online_store_config=online,
            offline_store_config=offline,
            role_arn=platform.role_arns["feature-store"],  # required even for online-only groups
            tags={**ctx.tags, "mlstack-entity": entity.name},
            opts=ctx.child(component, depends_on=depends),
        )
        component.done({"name": group.feature_group_name})
        groups[view.name] = group
    return groups
