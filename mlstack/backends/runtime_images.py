"""Building and pushing mlstack's runtime images (mlstack/runtime/images.py) with Pulumi's docker-build
provider, into the platform's own registry: ECR on AWS, Artifact Registry on GCP, the workspace's ACR on
Azure. `pulumi up` builds them on the deployer's machine (Docker with BuildKit) and pushes them before
any job that runs them is created; a plan only shows the Dockerfile and the content tag.

The build context is `.mlstack-build/runtime/` under the working directory, holding only the wheel: a stable
path, so an unchanged installation gives an unchanged resource."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi

from mlstack.runtime import images, wheel

CONTEXT_ROOT = Path(".mlstack-build") / "runtime"  # not .mlstack/: the local emulator owns that folder


@dataclass
class RuntimeImages:
    """Images pushed to `repository` (registry host and path, no tag); `uri` gives each one's reference."""

    repository: pulumi.Input[str]
    opts: pulumi.ResourceOptions
    registries: list[dict[str, Any]] | None = None
    built: dict[str, Any] = field(default_factory=dict)  # image key -> docker-build Image
    _wheel: wheel.Wheel | None = None

    @property
    def wheel(self) -> wheel.Wheel:
        if self._wheel is None:
            self._wheel = wheel.build(CONTEXT_ROOT)
        return self._wheel

    def uri(self, spec: images.ImageSpec) -> pulumi.Output[str]:
        """The image's reference `<repository>:<content tag>` once it is pushed (built on first use)."""
        reference = pulumi.Output.concat(self.repository, ":", self._tag(spec))
        if spec.key not in self.built:
            self.built[spec.key] = self._build(spec, reference)
        return pulumi.Output.all(self.built[spec.key].id, reference).apply(lambda values: values[1])

    def reference(self, spec: images.ImageSpec) -> str:
        """The same reference as text, for a repository named by text; whatever runs the image must
        depend on `resources`."""
        assert isinstance(self.repository, str)
        self.uri(spec)
        return f"{self.repository}:{self._tag(spec)}"

    def _tag(self, spec: images.ImageSpec) -> str:
        return spec.tag(self.wheel.path.name, self.wheel.sha256)

    def _build(self, spec: images.ImageSpec, reference: pulumi.Output[str]) -> Any:
        import pulumi_docker_build as docker_build

        return docker_build.Image(
            f"{spec.key}-image",
            context={"location": str(self.wheel.path.parent)},
            dockerfile={"inline": spec.dockerfile(self.wheel.path.name)},
            platforms=[images.PLATFORM],
            tags=[reference],
            push=True,
            registries=self.registries,
            opts=self.opts,
        )

    @property
    def resources(self) -> list[pulumi.Resource]:
        return list(self.built.values())
