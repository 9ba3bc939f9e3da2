"""private_endpoints on Azure (Z4): public access off everywhere means a private endpoint for each resource
in a subnet the spec names — or, with no subnet, a located validation error before any resource."""

from __future__ import annotations

import pytest
from azure_specs import endpoint_spec

from mlstack.errors import SpecInvalid

SUBNET = (
    "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg-net/providers/Microsoft.Network/"
    "virtualNetworks/vnet/subnets/ml"
)
FEATURES = """\
feature_store:
  entities:
    - name: user
      join_keys: [{name: user_id, dtype: int64}]
  views:
    - name: profile
      entity: user
      source: {uri: profiles, timestamp_field: ts}
      online: true
      sync_schedule: "0 2 * * *"
      features:
        - {name: age, dtype: int32}
"""


def _private(subnets: str) -> str:
    return endpoint_spec("type: all_at_once\n", tail=FEATURES).replace(
        "compute:\n  small:", f"  network:\n    private_endpoints: true\n{subnets}compute:\n  small:", 1
    )


def test_a_private_network_without_a_subnet_is_refused_where_it_is_asked(planned):
    with pytest.raises(SpecInvalid) as raised:
        planned(_private(""))
    [error] = raised.value.errors
    assert error.path == ("target", "network", "private_endpoints") and error.line > 1
    assert "set target.azure.subnets" in error.message and "private_endpoints: false" in error.message


def test_a_subnet_that_is_not_an_azure_subnet_id_is_refused(planned):
    with pytest.raises(SpecInvalid) as raised:
        planned(_private("    subnets: [subnet-0abc]\n"))
    [error] = raised.value.errors
    assert error.path == ("target", "network", "subnets", 0)
    assert "is not an Azure subnet id" in error.message


def test_every_public_disabled_resource_gets_a_private_endpoint_in_the_named_subnet(planned):
    plan = planned(_private(f"    subnets: [{SUBNET}]\n"))
    endpoints = {r.name: r.inputs for r in plan.of("PrivateEndpoint")}
    groups = {
        name: (e["privateLinkServiceConnections"][0]["groupIds"], e["subnet"]["id"]) for name, e in endpoints.items()
    }
    assert {name: g for name, (g, _) in groups.items()} == {
        "workspace-private-endpoint": ["amlworkspace"],
        "storage-private-endpoint": ["blob"],
        "vault-private-endpoint": ["vault"],
        "registry-private-endpoint": ["registry"],
        "feature-store-private-endpoint": ["amlworkspace"],
        "offline-store-blob-private-endpoint": ["blob"],
        "offline-store-dfs-private-endpoint": ["dfs"],
        "online-store-private-endpoint": ["redisCache"],
    }
    assert {subnet for _, subnet in groups.values()} == {SUBNET}
    # each points at the resource the plan made public-disabled
    workspace = plan.inputs("Workspace", "workspace")
    assert workspace["publicNetworkAccess"] == "Disabled"
    target = endpoints["workspace-private-endpoint"]["privateLinkServiceConnections"][0]["privateLinkServiceId"]
    assert target.endswith("/workspaces/shop-ml")
    redis = endpoints["online-store-private-endpoint"]["privateLinkServiceConnections"][0]["privateLinkServiceId"]
    assert redis.endswith("/Microsoft.Cache/redis/" + plan.inputs("Redis", "online-store")["name"])
    assert plan.inputs("Redis", "online-store")["publicNetworkAccess"] == "Disabled"
    # the registry takes private endpoints only on Premium
    assert plan.inputs("Registry", "registry")["sku"]["name"] == "Premium"


def test_subnets_of_the_azure_settings_override_the_networks(planned):
    text = _private("    subnets: [subnet-0abc]\n").replace(
        "    data_root:", f"    subnets: [{SUBNET}]\n    data_root:", 1
    )
    plan = planned(text)
    assert {e.inputs["subnet"]["id"] for e in plan.of("PrivateEndpoint")} == {SUBNET}


def test_deployments_leave_egress_to_the_managed_network(planned):
    """Z9: in a managed-network workspace Azure asks not to set egress_public_access; an existing workspace
    (perhaps a legacy virtual network) still gets it."""
    made = planned(_private(f"    subnets: [{SUBNET}]\n"))
    assert made.inputs("Workspace", "workspace")["managedNetwork"]["isolationMode"] == "AllowOnlyApprovedOutbound"
    # unset: pulumi-azure-native then sends the service's default
    assert made.inputs("OnlineDeployment", "rank-primary")["properties"]["egressPublicNetworkAccess"] == "Enabled"
    existing = planned(
        _private(f"    subnets: [{SUBNET}]\n").replace("    data_root:", "    create_workspace: false\n    data_root:", 1)
    )
    assert existing.inputs("OnlineDeployment", "rank-primary")["properties"]["egressPublicNetworkAccess"] == "Disabled"
