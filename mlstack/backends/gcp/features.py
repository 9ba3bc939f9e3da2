"""feature store → Vertex Feature Store 2.0.

- One online store per spec (`optimized`, or Bigtable when `feature_store.online_store: bigtable`),
  private (PSC) unless the network allows public endpoints, encrypted with the CMEK key.
- Per feature view: an AiFeatureGroup over the view's BigQuery source with the entity's join keys as
  entity id columns, an AiFeatureGroupFeature per feature, and, for online views, an
  AiFeatureOnlineStoreFeatureview syncing those features on the view's cron.
- Vertex reads event time from a column named `feature_timestamp`; when the spec's timestamp_field is
  another column, the group reads a BigQuery view that renames it.
- TTL has no Vertex counterpart: the online store serves each entity's latest synced value whatever its
  age. The TTL is kept as the group's `mlstack-ttl-seconds` label and applied by mlstack's training-set
  join; staleness online is bounded only by the sync schedule.
- Entities have no Vertex resource of their own: their join keys become each group's entity id columns."""

from __future__ import annotations

import pulumi_gcp as gcp

from mlstack.backends.components import SpecComponent
from mlstack.backends.gcp.checks import private_online_store, psc_network, psc_subnet
from mlstack.backends.gcp.context import Gcp
from mlstack.backends.gcp.sources import bigquery_table
from mlstack.errors import MlstackError
from mlstack.spec.models import FeatureView
from mlstack.targets import GCP

VERTEX_TIMESTAMP = "feature_timestamp"
# A view without its own schedule is synced daily (Vertex needs a cron for scheduled sync).
DEFAULT_SYNC = "0 0 * * *"


def _online_store(ctx: Gcp, component: SpecComponent) -> gcp.vertex.AiFeatureOnlineStore:
    spec = ctx.resolved.spec
    private = private_online_store(spec)
    kind = (
        {"bigtable": {"auto_scaling": {"min_node_count": 1, "max_node_count": 3, "cpu_utilization_target": 50}}}
        if spec.feature_store.online_store == "bigtable"
        else {"optimized": {}}
    )
    serving = (
        {
            "dedicated_serving_endpoint": {
                "private_service_connect_config": {
                    "enable_private_service_connect": True,
                    "project_allowlists": [ctx.project],
                }
            }
        }
        if private
        else {}
    )
    store = gcp.vertex.AiFeatureOnlineStore(
        "online-store",
        name=ctx.vertex_id(),
        project=ctx.project,
        region=ctx.region,
        labels=ctx.labels,
        encryption_spec=ctx.encryption(),
        **kind,
        **serving,
        opts=ctx.opts(component),
    )
    if private:
        _store_forwarding_rule(ctx, component, store)
    return store


def _store_forwarding_rule(ctx: Gcp, component: SpecComponent, store: gcp.vertex.AiFeatureOnlineStore) -> None:
    """The consumer side of the store's Private Service Connect endpoint: an internal address in the spec's
    subnet and a forwarding rule from it to the service attachment Vertex gives the store (Vertex offers no
    PSC automation for feature online stores)."""
    network, subnet = psc_network(ctx.resolved.spec), psc_subnet(ctx.resolved.spec, ctx.region)
    if network is None or subnet is None:
        raise MlstackError("the private online feature store needs target.gcp.network and target.gcp.subnet")
    name = ctx.name("online-store-psc", max_length=63)
    address = gcp.compute.Address(
        "online-store-psc-address",
        name=name,
        project=ctx.project,
        region=ctx.region,
        subnetwork=subnet,
        address_type="INTERNAL",
        description=f"Private Service Connect address of the {ctx.spec_name} online feature store",
        labels=ctx.labels,
        opts=ctx.opts(component),
    )
    gcp.compute.ForwardingRule(
        "online-store-psc",
        name=name,
        project=ctx.project,
        region=ctx.region,
        network=network,
        ip_address=address.id,
        # a Private Service Connect endpoint: no load balancing scheme, the service attachment as target
        load_balancing_scheme="",
        target=store.dedicated_serving_endpoint.apply(lambda e: e.service_attachment if e else None),
        description=f"reaches the {ctx.spec_name} online feature store through Private Service Connect",
        labels=ctx.labels,
        opts=ctx.opts(component),
    )


def _source_uri(ctx: Gcp, view: FeatureView, component: SpecComponent) -> str:
    """The BigQuery table the group reads: the source itself, or a view exposing feature_timestamp."""
    table = bigquery_table(view.source.uri)
    assert table is not None  # sources.check_uris ran first
    if view.source.timestamp_field == VERTEX_TIMESTAMP:
        return table.uri
    assert ctx.platform is not None
    view_id = GCP.names["feature_view"].vendor_name(f"{view.name}-source")
    gcp.bigquery.Table(
        f"{view.name}-source",
        project=ctx.project,
        dataset_id=ctx.platform.dataset_id.split(".", 1)[1],
        table_id=view_id,
        view={
            # Vertex syncs only a TIMESTAMP feature_timestamp (audit G14): a STRING, DATE or DATETIME column
            # becomes one; a column that cannot (epoch numbers) fails the view's creation, at `pulumi up`,
            # with BigQuery's message, instead of every sync failing later
            "query": f"SELECT *, CAST(`{view.source.timestamp_field}` AS TIMESTAMP) AS {VERTEX_TIMESTAMP} "
            f"FROM {table.sql}",
            "use_legacy_sql": False,
        },
        deletion_protection=False,
        labels=ctx.labels,
        opts=ctx.opts(component, depends_on=[ctx.platform.dataset]),
    )
    return f"bq://{ctx.platform.dataset_id}.{view_id}"


def build_view(ctx: Gcp, view: FeatureView, store: gcp.vertex.AiFeatureOnlineStore | None) -> None:
    component = SpecComponent("feature_view", view.name)
    entity = ctx.resolved.entity_of(view)
    rule = GCP.names["feature_view"]
    labels = {**ctx.labels, "mlstack-entity": entity.name}
    if view.ttl is not None:
        labels["mlstack-ttl-seconds"] = str(int(view.ttl))
    group = gcp.vertex.AiFeatureGroup(
        view.name,
        name=ctx.vertex_id(rule.vendor_name(view.name)),
        project=ctx.project,
        region=ctx.region,
        description=view.description or f"mlstack feature view {view.name}",
        labels=labels,
        big_query={
            "big_query_source": {"input_uri": _source_uri(ctx, view, component)},
            "entity_id_columns": [key.name for key in entity.join_keys],
        },
        opts=ctx.opts(component),
    )
    features = []
    for column in view.features:
        feature_id = column.name.lower()
        features.append(
            gcp.vertex.AiFeatureGroupFeature(
                f"{view.name}-{feature_id}",
                name=feature_id,
                feature_group=group.name,
                project=ctx.project,
                region=ctx.region,
                description=column.description or f"{column.dtype} feature",
                version_column_name=column.name,
                labels={**ctx.labels, "mlstack-dtype": column.dtype},
                opts=ctx.opts(component),
            )
        )
    if view.online and store is not None:
        gcp.vertex.AiFeatureOnlineStoreFeatureview(
            f"{view.name}-online",
            name=rule.vendor_name(view.name),
            feature_online_store=store.name,
            project=ctx.project,
            region=ctx.region,
            labels=ctx.labels,
            feature_registry_source={
                "feature_groups": [
                    {"feature_group_id": group.name, "feature_ids": [c.name.lower() for c in view.features]}
                ]
            },
            sync_config={"cron": view.sync_schedule or DEFAULT_SYNC},
            opts=ctx.opts(component, depends_on=features),
        )
    component.done({"feature_group": group.name})


def build_feature_store(ctx: Gcp) -> None:
    views = ctx.resolved.spec.feature_store.views
    if not views:
        return
    store = None
    if any(v.online for v in views):
        component = SpecComponent("feature_store", ctx.spec_name)
        store = _online_store(ctx, component)
        component.done({"online_store": store.name})
    for view in views:
        build_view(ctx, view, store)
