"""registry → one `registry` component per model group; each declared version is uploaded to the Vertex
Model Registry under the group's parent model with its aliases (dynamic provider, providers/model.py).
Versions that pipelines register later go through the same upload code (runtime.py)."""

from __future__ import annotations

from mlstack.backends.components import SpecComponent
from mlstack.backends.gcp import checks
from mlstack.backends.gcp.context import Gcp, gcp_labels
from mlstack.backends.gcp.providers import ModelVersion
from mlstack.errors import MlstackError
from mlstack.spec.models import ModelGroup
from mlstack.spec.models import ModelVersion as SpecVersion


def serving_image(ctx: Gcp, version: SpecVersion, group: str) -> str:
    """The version's image, else Vertex's prebuilt image for its framework and the machines serving it."""
    image, problem = checks.serving_image(ctx.resolved, version, group)
    if image is None:
        raise MlstackError(problem or f"model group '{group}': no serving image")
    return image


def model_id(ctx: Gcp, group: str) -> str:
    return ctx.name(group, max_length=63)


def build_group(ctx: Gcp, group: ModelGroup) -> dict[int, ModelVersion]:
    component = SpecComponent("registry", group.name)
    versions = {}
    promotion = ctx.resolved.spec.registry.promotion_of(group)
    policy = gcp_labels(promotion.tags()) if promotion else {}  # Vertex has no model-level labels: on each version
    for version in group.versions:
        props = {
            "project": ctx.project,
            "region": ctx.region,
            "model_id": model_id(ctx, group.name),
            "display_name": group.name,
            "description": group.description,
            "version": version.version,
            "artifact_uri": version.artifact,
            "image_uri": serving_image(ctx, version, group.name),
            "aliases": sorted(version.aliases),
            "metrics": dict(version.metrics),  # what beat_champion compares with while this is the champion
            "labels": {**ctx.labels, **gcp_labels(group.tags), **policy},
            "kms_key": ctx.kms_key,
        }
        versions[version.version] = ModelVersion(f"{group.name}-v{version.version}", props, ctx.opts(component))
    component.done()
    return versions
