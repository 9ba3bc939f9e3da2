"""The feature store can materialise what the spec declares (audit Z7): feature set specifications name their
source in the ML workspace, and the materialisation identity can read the sources and write both stores."""

from __future__ import annotations

import pytest
import yaml
from azure.ai.ml._schema._feature_set.featureset_spec_metadata_schema import FeaturesetSpecMetadataSchema
from azure.ai.ml._utils._storage_utils import AzureMLDatastorePathUri
from azure.ai.ml.constants._common import BASE_PATH_CONTEXT_KEY
from azure_specs import endpoint_spec

from mlstack.backends.azure import checks
from mlstack.backends.azure.iam import ROLES
from mlstack.backends.azure.mocks import outputs as arm_answer
from mlstack.resolve import resolve
from mlstack.spec import SpecInvalid, loads

ENVS = [None, "dev", "prod"]


def _view(source: str, online: bool = True) -> str:
    return f"""\
feature_store:
  entities:
    - name: user
      join_keys: [{{name: user_id, dtype: int64}}]
  views:
    - name: profile
      entity: user
      source: {{uri: "{source}", timestamp_field: ts}}
      online: {str(online).lower()}
      sync_schedule: "0 2 * * *"
      features:
        - {{name: age, dtype: int32}}
"""


def _spec(source: str = "profiles", online: bool = True) -> str:
    return endpoint_spec("type: all_at_once\n").replace("endpoints:\n", _view(source, online) + "endpoints:\n")


def _featureset_spec(plan, view: str) -> dict:
    (blob,) = [r.inputs for r in plan.of("Resource") if r.name == f"{view}-spec"]
    return yaml.safe_load(blob["text"])


def _grants(plan, principal: str) -> dict[str, set[tuple[str, str]]]:
    """role name -> scopes, of the role assignments to `principal`."""
    names = {guid: name for name, guid in ROLES.items()}
    found: dict[str, set[tuple[str, str]]] = {}
    for grant in plan.of("RoleAssignment"):
        if grant.inputs.get("principalId") == principal:
            role = names[grant.inputs["roleDefinitionId"].rsplit("/", 1)[1]]
            found.setdefault(role, set()).add(grant.inputs["scope"])
    return found


class Identity:
    """A planned user-assigned identity with what the plan's mock ARM answered for it (its ids)."""

    def __init__(self, plan, resource) -> None:
        self.name = resource.name
        self.inputs = resource.inputs
        self.outputs = arm_answer(resource.type, resource.name, resource.inputs, plan.resolved.region)


def _identity(plan) -> tuple[str, Identity]:
    """The user-assigned identity on the feature store workspace."""
    (uai_id,) = plan.inputs("Workspace", "feature-store")["identity"]["userAssignedIdentities"]
    (identity,) = [r for r in plan.of("UserAssignedIdentity") if f"{r.name}-id" == uai_id]
    return uai_id, Identity(plan, identity)


@pytest.mark.parametrize("env", ENVS)
def test_a_featureset_source_names_the_ml_workspaces_datastore_in_the_long_form(fraud, env):
    plan = fraud(env)
    workspace = plan.resolved.spec.target.azure
    for view in ("customer-txn-stats", "merchant-risk"):
        text = _featureset_spec(plan, view)
        path = text["source"]["path"]
        # azure-ai-ml reads it as a datastore path of the ML workspace, not of the feature store
        parsed = AzureMLDatastorePathUri(path)
        assert (parsed.subscription_id, parsed.resource_group, parsed.workspace_name) == (
            workspace.subscription_id,
            workspace.resource_group,
            workspace.workspace,
        )
        assert parsed.datastore == "workspaceblobstore"
        assert parsed.path == f"fraud/{view.replace('-', '_')}"
        assert parsed.workspace_name != plan.inputs("Workspace", "feature-store")["workspaceName"]
        # and the specification as a whole still loads as a feature set specification
        loaded = FeaturesetSpecMetadataSchema(context={BASE_PATH_CONTEXT_KEY: "."}).load(text)
        assert loaded.source.path == path


def test_a_storage_url_source_is_written_as_given(planned):
    url = "abfss://data@shoplake.dfs.core.windows.net/profiles"
    assert _featureset_spec(planned(_spec(url)), "profile")["source"]["path"] == url


@pytest.mark.parametrize("env", [None, "dev"])
def test_the_materialisation_identity_is_user_assigned_and_holds_the_roles_azure_lists(fraud, env):
    plan = fraud(env)
    uai_id, identity = _identity(plan)
    principal = identity.outputs["principalId"]
    assert identity.inputs["resourceName"].endswith("-materialization")
    assert plan.inputs("Workspace", "feature-store")["identity"]["type"] == "SystemAssigned,UserAssigned"
    # both stores are reached as that identity, the way azure-ai-ml's feature store creation connects them
    for store in ("offline-store", "online-store"):
        connection = plan.inputs("WorkspaceConnection", f"feature-store-{store}")["properties"]
        assert connection["authType"] == "ManagedIdentity"
        assert connection["credentials"] == {"clientId": identity.outputs["clientId"], "resourceId": uai_id}
        assert "useWorkspaceManagedIdentity" not in connection

    target = plan.resolved.spec.target.azure
    rg = f"/subscriptions/{target.subscription_id}/resourceGroups/{target.resource_group}"
    workspaces = f"{rg}/providers/Microsoft.MachineLearningServices/workspaces/"
    store = workspaces + plan.inputs("Workspace", "feature-store")["workspaceName"]
    workspace = workspaces + plan.inputs("Workspace", "workspace")["workspaceName"]
    accounts = f"{rg}/providers/Microsoft.Storage/storageAccounts/"
    redis = f"{rg}/providers/Microsoft.Cache/redis/" + plan.inputs("Redis", "online-store")["name"]
    assert _grants(plan, principal) == {
        "AzureML Data Scientist": {store},
        "Storage Blob Data Contributor": {accounts + plan.inputs("StorageAccount", "offline-store")["accountName"]},
        # the sources: the datastore resolved in the ML workspace, its blobs on the workspace's storage
        "Reader": {workspace, redis},
        "Storage Blob Data Reader": {accounts + plan.inputs("StorageAccount", "storage")["accountName"]},
    }


def test_the_online_store_gives_the_materialisation_identity_its_data_contributor_policy(fraud):
    plan = fraud(None)
    _, identity = _identity(plan)
    redis = plan.inputs("Redis", "online-store")
    assert redis["disableAccessKeyAuthentication"] is True
    assert redis["redisConfiguration"] == {"aadEnabled": "true"}
    (assignment,) = plan.of("AccessPolicyAssignment")
    assert assignment.type == "azure-native:redis:AccessPolicyAssignment"
    assert assignment.inputs == {
        "accessPolicyAssignmentName": "mlstack-materialization",
        "accessPolicyName": "Data Contributor",
        "cacheName": redis["name"],
        "objectId": identity.outputs["principalId"],
        "objectIdAlias": identity.name,
        "resourceGroupName": plan.resolved.spec.target.azure.resource_group,
    }


def test_with_a_customer_managed_key_the_keys_identity_is_the_materialisation_identity(fraud):
    plan = fraud("prod")
    uai_id, identity = _identity(plan)
    assert identity.name == "cmk" and [r.name for r in plan.of("UserAssignedIdentity")] == ["cmk"]
    assert plan.inputs("Workspace", "feature-store")["primaryUserAssignedIdentity"] == uai_id
    grants = _grants(plan, identity.outputs["principalId"])
    assert {"AzureML Data Scientist", "Storage Blob Data Contributor", "Storage Blob Data Reader", "Reader"} <= set(
        grants
    )
    (assignment,) = plan.of("AccessPolicyAssignment")
    assert assignment.inputs["objectId"] == identity.outputs["principalId"]


def test_an_offline_only_store_has_no_cache_access_to_give(planned):
    plan = planned(_spec(online=False))
    _, identity = _identity(plan)
    assert plan.of("AccessPolicyAssignment") == [] and plan.of("Redis") == []
    grants = _grants(plan, identity.outputs["principalId"])
    assert all("Microsoft.Cache" not in scope for scopes in grants.values() for scope in scopes)


def test_storage_mlstack_cannot_grant_on_is_a_located_warning_and_gets_no_reader(planned):
    url = "abfss://data@shoplake.dfs.core.windows.net/profiles"
    plan = planned(_spec(url))
    _, identity = _identity(plan)
    grants = _grants(plan, identity.outputs["principalId"])
    assert "Storage Blob Data Reader" not in grants
    assert all("/workspaces/shop-ml" not in scope for scope in grants["Reader"])
    warned = [(p, m) for p, m in checks.warnings(plan.resolved) if p[:2] == ("feature_store", "views")]
    assert warned == [
        (
            ("feature_store", "views", 0, "source", "uri"),
            "feature view profile: mlstack grants the feature store's materialisation identity "
            "(shop-materialization) read access to the ML workspace's workspaceblobstore only; grant it Storage "
            f"Blob Data Reader on the storage account it names, or materialisation cannot read '{url}'",
        )
    ]


def test_another_datastore_of_the_workspace_is_read_through_it_and_warned_about(planned):
    plan = planned(_spec("azureml://datastores/lake/paths/profiles"))
    _, identity = _identity(plan)
    path = AzureMLDatastorePathUri(_featureset_spec(plan, "profile")["source"]["path"])
    assert (path.workspace_name, path.datastore, path.path) == ("shop-ml", "lake", "profiles")
    grants = _grants(plan, identity.outputs["principalId"])
    assert any(scope.endswith("/workspaces/shop-ml") for scope in grants["Reader"])
    assert "Storage Blob Data Reader" not in grants
    (message,) = [m for p, m in checks.warnings(plan.resolved) if p[:2] == ("feature_store", "views")]
    assert "the storage account behind datastore lake of workspace shop-ml" in message


def test_the_workspaces_default_datastore_is_not_warned_about():
    resolved = resolve(loads(_spec(), target="azure"))
    assert [p for p, _ in checks.warnings(resolved) if p[:2] == ("feature_store", "views")] == []


def test_a_data_asset_as_a_feature_set_source_is_refused_located():
    with pytest.raises(SpecInvalid) as error:
        loads(_spec("azureml:profiles:3"), target="azure")
    message = str(error.value)
    assert "feature_store.views[0].source.uri" in message
    assert "an Azure feature set reads a storage path, not the data asset 'azureml:profiles:3'" in message
