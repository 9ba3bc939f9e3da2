"""Pulumi dynamic providers over google-cloud-aiplatform for what pulumi_gcp lacks: model upload and
aliases, deploying models with a traffic split, and model deployment monitoring jobs.

The `Resource` classes here are cheap to declare (`mlstack plan` builds them under mocks); the SDK is
imported only when a provider method runs."""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi.dynamic import Resource

from mlstack.backends.gcp.providers.deployment import DeploymentProvider
from mlstack.backends.gcp.providers.model import ModelVersionProvider
from mlstack.backends.gcp.providers.monitoring import MonitoringJobProvider


class ModelVersion(Resource, module="vertex", name="ModelVersion"):
    """A model version in the Vertex Model Registry (outputs: model, version_id, version_name)."""

    version_name: pulumi.Output[str]
    version_id: pulumi.Output[str]

    def __init__(self, name: str, props: dict[str, Any], opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(ModelVersionProvider(), name, {**props, "version_name": None, "version_id": None}, opts)


class Deployment(Resource, module="vertex", name="Deployment"):
    """The deployed models and traffic split of one endpoint (outputs: deployed, traffic_split)."""

    deployed: pulumi.Output[dict]

    def __init__(self, name: str, props: dict[str, Any], opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(DeploymentProvider(), name, {**props, "deployed": None, "traffic_split": None}, opts)


class MonitoringJob(Resource, module="vertex", name="ModelDeploymentMonitoringJob"):
    """The endpoint's model deployment monitoring job (output: name)."""

    name: pulumi.Output[str]

    def __init__(self, name: str, props: dict[str, Any], opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(MonitoringJobProvider(), name, {**props, "name": None}, opts)
