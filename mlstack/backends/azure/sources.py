"""Where Azure ML reads data from: Azure storage (abfss://, wasbs://, https://) and Azure ML assets
(azureml:). Validation rejects model artifacts, feature sources and capture destinations elsewhere (the
target profile's schemes); baselines, labels, training data and images are reported here, with the plan
still made, because Azure would fail on them only when a job runs."""

from __future__ import annotations

import pulumi

from mlstack.spec.models import Spec
from mlstack.targets import AZURE

# Registries Azure ML pulls serving and job images from with its own identity or anonymously.
PUBLIC_REGISTRIES = ("mcr.microsoft.com", "docker.io")


def pullable(image: str) -> bool:
    host = image.split("/", 1)[0] if "/" in image else "docker.io"
    return host.endswith(".azurecr.io") or host in PUBLIC_REGISTRIES or "." not in host


def unreadable(spec: Spec) -> list[str]:
    """The data and images of jobs (monitors, pipelines) and deployments that Azure ML cannot read as written."""
    problems = []
    for group in spec.registry.model_groups:
        for version in group.versions:
            if version.image and not pullable(version.image):
                problems.append(f"model {group.name} v{version.version} image {version.image}")
    for monitor in spec.monitors:
        for what, uri in (("baseline", monitor.baseline), ("ground truth", monitor.ground_truth)):
            if uri and not uri.startswith(AZURE.source_schemes):
                problems.append(f"monitor {monitor.name} {what} {uri}")
    for pipeline in spec.pipelines:
        if pipeline.data and not pipeline.data.startswith(AZURE.source_schemes):
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
