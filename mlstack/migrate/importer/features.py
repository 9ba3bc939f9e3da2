"""Feature groups -> feature views, and their record identifiers -> entities.

The inverse of the aws backend's mapping (backends/aws/features.py): the record identifier is the
entity's join key (or `<a>__<b>` over several keys), the event time the source's timestamp field,
Integral/Fractional/String the int64/float64/string dtypes."""

from __future__ import annotations

from typing import Any

from mlstack.migrate.importer.context import Import, spec_name, user_tags
from mlstack.spec.types import format_duration

DTYPES = {"Integral": "int64", "Fractional": "float64", "String": "string"}
TTL_SECONDS = {"Seconds": 1, "Minutes": 60, "Hours": 3600, "Days": 86400, "Weeks": 604800}


def _entity_name(identifier: str) -> str:
    return spec_name(identifier.removesuffix("_id").replace("__", "-") or identifier)


def feature_store(ctx: Import) -> dict[str, Any]:
    entities: dict[str, dict[str, Any]] = {}
    views = []
    for group, tags in ctx.snapshot.feature_groups:
        path = ("feature_store", "views", len(views))
        vendor = group["FeatureGroupName"]
        types = {d["FeatureName"]: d["FeatureType"] for d in group.get("FeatureDefinitions", [])}
        identifier, event_time = group["RecordIdentifierFeatureName"], group["EventTimeFeatureName"]
        keys = identifier.split("__") if all(k in types for k in identifier.split("__")) else [identifier]
        entity = tags.get("mlstack-entity") or _entity_name(identifier)
        join_keys = [{"name": k, "dtype": DTYPES.get(types.get(k, "String"), "string")} for k in keys]
        known = entities.setdefault(entity, {"name": entity, "join_keys": join_keys})
        if known["join_keys"] != join_keys:
            ctx.report.add(
                (*path, "entity"),
                "unsupported",
                f"feature group {vendor} keys records by {identifier}",
                f"entity '{entity}' already has other join keys: give this view an entity of its own",
            )
        skip = {*keys, identifier, event_time}
        features = [{"name": n, "dtype": DTYPES.get(t, "string")} for n, t in types.items() if n not in skip]
        offline = group.get("OfflineStoreConfig")
        online = group.get("OnlineStoreConfig", {})
        source = offline["S3StorageConfig"]["S3Uri"] if offline else f"features/{spec_name(vendor)}"
        view: dict[str, Any] = {
            "name": ctx.name(vendor, "feature view", (*path, "name")),
            "entity": entity,
            "source": {"uri": source, "timestamp_field": event_time},
            "features": features,
        }
        ctx.report.add(
            (*path, "source", "uri"),
            "approximate" if offline else "unsupported",
            f"source of {vendor}",
            "SageMaker keeps no source for a feature group: its offline store stands in; point at the data "
            "that feeds it"
            if offline
            else "an online-only feature group has no S3 location: name the source",
        )
        if ttl := online.get("TtlDuration"):
            view["ttl"] = format_duration(ttl["Value"] * TTL_SECONDS[ttl["Unit"]])
        view["online"] = bool(online.get("EnableOnlineStore"))
        view["offline"] = offline is not None
        if own := user_tags(tags):
            ctx.report.add(
                path,
                "unsupported",
                f"tags of feature group {vendor}: {own}",
                "feature views carry the spec's tags only: move them to the spec's tags or drop them",
            )
        if group.get("Description"):
            view["description"] = group["Description"]
        if types.get(event_time) not in (None, "Fractional", "String"):
            ctx.report.add(
                (*path, "source", "timestamp_field"),
                "approximate",
                f"event time {event_time} is {types[event_time]}",
                "mlstack writes it as Fractional seconds",
            )
        views.append(view)
        ctx.report.add(path, "exact", f"feature group {vendor}: {len(features)} features keyed by {identifier}")
    return {"entities": list(entities.values()), "views": views} if views else {}
