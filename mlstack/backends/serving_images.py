"""The prebuilt serving image each served model version gets on a cloud, chosen from the target's image
table (mlstack.targets.images) with the compute the endpoint resolved to: validation reports what no
image fits, located at the version's framework; the backends build URIs with the same choice."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from mlstack.errors import MlstackError, Path
from mlstack.resolve import Resolved, Variant
from mlstack.spec.models import ModelVersion
from mlstack.targets.images import ImageTable, ServingImage


@dataclass(frozen=True)
class Use:
    """One variant serving a declared version without its own image."""

    endpoint: str
    variant: Variant
    version: ModelVersion
    path: Path  # the version in the spec

    @property
    def gpu(self) -> bool:
        return bool(self.variant.sku and self.variant.sku.gpus)

    def machine(self) -> str:
        sku = self.variant.sku
        if sku is None:
            return "serverless capacity"
        return f"{sku.sku} ({sku.gpus} {sku.gpu} GPU)" if sku.gpus else sku.sku


def uses(resolved: Resolved, with_image: bool = False) -> Iterator[Use]:
    """Every (endpoint variant, declared version) pair where the cloud's image must be chosen (and, with
    `with_image`, those that name their own)."""
    paths = {
        id(version): ("registry", "model_groups", gi, "versions", vi)
        for gi, group in enumerate(resolved.spec.registry.model_groups)
        for vi, version in enumerate(group.versions)
    }
    for plan in resolved.endpoints:
        for variant in plan.variants:
            version = variant.version
            if version is not None and (with_image or not version.image) and id(version) in paths:
                yield Use(plan.endpoint.name, variant, version, paths[id(version)])


def choose(table: ImageTable, use: Use) -> ServingImage | str:
    """The image for one use, or a message saying why there is none."""
    choice = table.choose(use.version.framework, use.version.framework_version, use.gpu)
    if isinstance(choice, str):
        return f"endpoint '{use.endpoint}' serves {use.variant.model.describe()} on {use.machine()}: {choice}"
    return choice


def problems(resolved: Resolved, table: ImageTable, missing: bool = True) -> Iterator[tuple[Path, str]]:
    """One located problem per version and message, for `mlstack validate`; `missing=False` leaves frameworks
    the cloud has no image for at all to the backend's own check."""
    seen = set()
    for use in uses(resolved):
        if not missing and not table.versions(use.version.framework):
            continue
        choice = choose(table, use)
        if isinstance(choice, str) and (use.path, choice) not in seen:
            seen.add((use.path, choice))
            yield (*use.path, "framework"), choice


def uri(table: ImageTable, use: Use, region: str) -> str:
    """The image URI lowering uses; validation has reported every case this raises for."""
    choice = choose(table, use)
    if isinstance(choice, str):
        raise MlstackError(choice)
    found = table.uri(choice, region)
    if found is None:
        raise MlstackError(f"{table.title} lists no registry for {choice.framework} images in {region}: set `image`")
    return found


def serves_on_gpu(resolved: Resolved, group: str) -> bool:
    """Whether an endpoint serves the group on GPUs: the image a pipeline registers its versions with."""
    return any(
        v.sku is not None and v.sku.gpus > 0 for p in resolved.endpoints for v in p.variants if v.model.group == group
    )
