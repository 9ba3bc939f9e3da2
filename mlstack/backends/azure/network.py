"""The workspace's managed network provisioned for serverless Spark.

Monitors and feature materialisation run on serverless Spark, which in a managed-network workspace works
only once the network is provisioned with Spark (`az ml workspace provision-network --include-spark`,
how-to-managed-network). That is an action, not a resource, so this dynamic resource POSTs it through Azure
Resource Manager and waits until the workspace reports `managedNetwork.status.sparkReady`."""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ResourceProvider, UpdateResult

from mlstack.backends.azure.traffic import Arm
from mlstack.errors import MlstackError


def provision(arm: Arm, workspace_id: str) -> None:
    arm.post(f"{workspace_id}/provisionManagedNetwork", {"includeSpark": True})
    waited = 0.0
    while not ((arm.get(workspace_id)["properties"].get("managedNetwork") or {}).get("status") or {}).get("sparkReady"):
        if waited >= arm.timeout_seconds:
            raise MlstackError(f"{workspace_id}: managed network not ready for Spark after {waited:.0f}s")
        arm.sleep(arm.poll_seconds)
        waited += arm.poll_seconds


def _arm() -> Arm:
    from azure.identity import DefaultAzureCredential

    return Arm(DefaultAzureCredential())


class SparkNetworkProvider(ResourceProvider):
    """create provisions (idempotent on Azure's side); delete leaves the network to the workspace."""

    def create(self, props: dict[str, Any]) -> CreateResult:
        provision(_arm(), props["workspace_id"])
        return CreateResult(id_=f"{props['workspace_id']}/provisionManagedNetwork", outs=props)

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        provision(_arm(), news["workspace_id"])
        return UpdateResult(outs=news)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        return DiffResult(changes=olds.get("workspace_id") != news.get("workspace_id"))

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        return None


class SparkNetwork(pulumi.dynamic.Resource):
    def __init__(self, name: str, *, workspace_id: pulumi.Input[str], opts: pulumi.ResourceOptions | None = None):
        super().__init__(SparkNetworkProvider(), name, {"workspace_id": workspace_id, "include_spark": True}, opts)
