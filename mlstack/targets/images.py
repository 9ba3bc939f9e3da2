"""Serving images as data: which prebuilt image a cloud publishes for a framework, version and kind of
machine, and what it offers instead when it publishes none. Each target dialect holds one `ImageTable`;
validation, the backends and review choose from it with the resolved compute (a SKU with GPUs gets a
GPU image or a located error, never a CPU image)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ServingImage:
    """One published serving image: a row of the vendor's list, cited with the date it was read."""

    framework: str  # the spec's framework name
    version: str  # framework version the image serves
    gpu: bool  # built for GPU machines (CUDA); False: CPU machines only
    uri: str  # template: {region} and the table's registry placeholders filled per region; "": the cloud picks
    server: str  # what serves the model inside the image
    source: str  # the vendor's published list
    as_of: str  # when that list was read
    cpu_too: bool = False  # one image for both kinds of machine (e.g. SageMaker XGBoost)

    @property
    def shown(self) -> str:
        """The image without its per-region registry host (or the server, where the cloud picks the image)."""
        return self.uri.split("/", 1)[1] if self.uri else self.server

    def runs_on(self, gpu: bool) -> bool:
        return self.gpu == gpu or self.cpu_too


@dataclass(frozen=True)
class ImageTable:
    title: str  # the cloud's name for its images, for messages
    rows: tuple[ServingImage, ...]
    # region -> values of the URI template's placeholders, None where the vendor lists no registry
    registries: Callable[[str], dict[str, str] | None] = lambda region: {}
    # framework -> what the cloud offers instead of a GPU image for it
    no_gpu: dict[str, str] = field(default_factory=dict)
    # framework -> what the cloud offers instead of any image for it
    missing: dict[str, str] = field(default_factory=dict)

    def versions(self, framework: str) -> list[str]:
        return list(dict.fromkeys(r.version for r in self.rows if r.framework == framework))

    def choose(self, framework: str, version: str | None, gpu: bool) -> ServingImage | str:
        """The first matching row (each framework's default version first), or why there is none."""
        rows = [r for r in self.rows if r.framework == framework]
        if not rows:
            instead = self.missing.get(framework, "set `image` to a serving container")
            return f"{self.title} publishes no serving image for {framework} models; {instead}"
        if version is not None:
            rows = [r for r in rows if r.version == version]
            if not rows:
                listed = ", ".join(self.versions(framework))
                return f"{self.title} publishes {framework} serving images for versions {listed}, not {version}"
        fitting = [r for r in rows if r.runs_on(gpu)]
        if fitting:
            return fitting[0]
        if gpu:
            instead = self.no_gpu.get(framework, "serve it on a CPU machine or set `image` to a GPU container")
            return f"{self.title} publishes no GPU serving image for {framework} (only {rows[0].shown}); {instead}"
        return (
            f"{self.title} publishes {framework} serving images for GPU machines only ({rows[0].shown}); "
            "give the endpoint GPUs or set `image`"
        )

    def uri(self, row: ServingImage, region: str) -> str | None:
        """The row's image URI in `region`, or None where the vendor lists no registry there."""
        values = self.registries(region)
        return None if values is None else row.uri.format(region=region, **values)
