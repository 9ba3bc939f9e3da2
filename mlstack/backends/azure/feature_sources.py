"""Where a feature view's source data lives, as the feature store's materialisation reads it (audit Z7).

The feature store is a workspace of its own: a short datastore URI (`azureml://datastores/<ds>/paths/<p>`)
in its feature set specification resolves among the feature store's datastores — its own
`workspaceblobstore` is an empty container — not the ML workspace's, where the data is (azureml-featurestore
completes a short URI with the workspace it runs in, `_ensure_azureml_full_path`, and materialisation runs in
the feature store). So mlstack writes the long form, naming the ML workspace. Which storage account a source is on decides the materialisation
identity's Storage Blob Data Reader grant: mlstack knows the ML workspace's own (its `workspaceblobstore`);
any other account or datastore is the spec author's to grant. No Pulumi here: checks.py reads it too."""

from __future__ import annotations

import re
from dataclasses import dataclass

from mlstack.backends.naming import physical_name
from mlstack.resolve import Resolved
from mlstack.targets.azure import WORKSPACE

# azure-ai-ml's datastore URI forms (azure.ai.ml._utils._storage_utils.AzureMLDatastorePathUri)
SHORT_URI = re.compile(r"azureml://datastores/(?P<datastore>[^/]+)/paths/(?P<path>.*)", re.IGNORECASE)
LONG_URI = re.compile(
    r"azureml://subscriptions/(?P<subscription>[^/]+)/resource[gG]roups/(?P<resource_group>[^/]+)/"
    r"(?:providers/Microsoft\.MachineLearningServices/)?workspaces/(?P<workspace>[^/]+)/"
    r"datastores/(?P<datastore>[^/]+)/paths/(?P<path>.*)",
    re.IGNORECASE,
)
# the workspace's default blob datastore, on the workspace's own storage account
WORKSPACE_DATASTORE = "workspaceblobstore"
# a registered data asset (`azureml:name:version`): not a storage path, and it too would resolve in the
# feature store workspace
ASSET = re.compile(r"azureml:[^/]")


@dataclass(frozen=True)
class Workspace:
    subscription: str
    resource_group: str
    name: str

    def key(self) -> tuple[str, str, str]:
        return (self.subscription.lower(), self.resource_group.lower(), self.name.lower())  # ARM ignores case


def workspace_of(resolved: Resolved) -> Workspace:
    """The ML workspace of the spec's Azure target (in development mode, the user's own copy)."""
    settings = resolved.spec.target.azure
    assert settings is not None
    name = settings.workspace
    if resolved.prefix:
        name = physical_name(resolved.prefix, name, max_length=WORKSPACE)
    return Workspace(settings.subscription_id, settings.resource_group, name)


def materialization_identity(resolved: Resolved) -> str:
    """The name of the user-assigned identity the feature store materialises with: its own, or with a
    customer-managed key on a workspace mlstack creates, the key's identity (features.py says why)."""
    settings = resolved.spec.target.azure
    assert settings is not None
    part = "cmk" if resolved.kms_key and settings.create_workspace else "materialization"
    return physical_name(resolved.prefix, resolved.name, resolved.environment or "", part, max_length=128)


@dataclass(frozen=True)
class FeatureSource:
    path: str  # source.path of the feature set specification
    datastore: str | None  # the ML workspace's datastore the path is in (None: elsewhere)

    @property
    def on_workspace_storage(self) -> bool:
        """On the ML workspace's own storage account: the one mlstack grants the reader on."""
        return self.datastore == WORKSPACE_DATASTORE


def feature_source(uri: str, workspace: Workspace) -> FeatureSource:
    short = SHORT_URI.fullmatch(uri)
    if short:
        uri = (
            f"azureml://subscriptions/{workspace.subscription}/resourcegroups/{workspace.resource_group}"
            f"/workspaces/{workspace.name}/datastores/{short['datastore']}/paths/{short['path']}"
        )
    long = LONG_URI.fullmatch(uri)
    if long and Workspace(long["subscription"], long["resource_group"], long["workspace"]).key() == workspace.key():
        return FeatureSource(uri, long["datastore"])
    return FeatureSource(uri, None)


def is_asset(uri: str) -> bool:
    return bool(ASSET.match(uri))
