"""Where Azure ML reads data from: Azure storage (abfss://, wasbs://, https://) and Azure ML assets
(azureml:). A spec written for another cloud (s3://, gs://, bq://) still plans, so that a migration can be
reviewed, but every such URI is reported: Azure would fail on it at deploy time."""

from __future__ import annotations

import pulumi

from mlstack.spec.models import Spec
from mlstack.targets import AZURE

ASSET_PREFIX = "azureml:"
# Registries Azure ML pulls serving and job images from with its own identity or anonymously.
PUBLIC_REGISTRIES = ("mcr.microsoft.com", "docker.io")


def _readable(uri: str, schemes: tuple[str, ...]) -> bool:
    return uri.startswith(schemes) or uri.startswith(ASSET_PREFIX)


def pullable(image: str) -> bool:
    host = image.split("/", 1)[0] if "/" in image else "docker.io"
    return host.endswith(".azurecr.io") or host in PUBLIC_REGISTRIES or "." not in host


def unreadable(spec: Spec) -> list[str]:
    """Every URI and image in the spec that Azure ML cannot read as written."""
    problems = []
    for group in spec.registry.model_groups:
        for version in group.versions:
            if not _readable(version.artifact, AZURE.artifact_schemes):
                problems.append(f"model {group.name} v{version.version} artifact {version.artifact}")
            if version.image and not pullable(version.image):
                problems.append(f"model {group.name} v{version.version} image {version.image}")
    for view in spec.feature_store.views:
        if not _readable(view.source.uri, AZURE.source_schemes):
            problems.append(f"feature view {view.name} source {view.source.uri}")
    for endpoint in spec.endpoints:
        capture = endpoint.data_capture
        if capture and capture.destination and not _readable(capture.destination, AZURE.capture_schemes):
            problems.append(f"endpoint {endpoint.name} capture destination {capture.destination}")
    for monitor in spec.monitors:
        for what, uri in (("baseline", monitor.baseline), ("ground truth", monitor.ground_truth)):
            if uri and not _readable(uri, AZURE.source_schemes):
                problems.append(f"monitor {monitor.name} {what} {uri}")
    for pipeline in spec.pipelines:
        if pipeline.data and not _readable(pipeline.data, AZURE.source_schemes):
            problems.append(f"pipeline {pipeline.name} data {pipeline.data}")
        images = {pipeline.image, *(s.image for s in pipeline.steps)} - {None}
        problems += [f"pipeline {pipeline.name} image {i}" for i in sorted(images) if not pullable(i)]
    return problems


def warn_unreadable(spec: Spec) -> None:
    if problems := unreadable(spec):
        listing = "\n  ".join(problems)
        pulumi.log.warn(
            "Azure ML reads Azure storage (abfss://, wasbs://, https://), azureml: assets and images from Azure "
            f"Container Registry, MCR or Docker Hub; these would fail at deploy time:\n  {listing}"
        )
