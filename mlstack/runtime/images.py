"""The container images a stack builds for mlstack's runtime, as plain data (no Pulumi here).

Two kinds, both rendered from templates/runtime/Dockerfile.j2 and installing mlstack from the wheel of
the running installation (wheel.py):

- the runtime image: a vendor's Python image with mlstack and the target's extra installed; mlstack's own
  jobs run in it (quality gates, registration, deployment, monitor evaluation, shadow replay);
- a step image per image the spec's code steps name: that image with mlstack added without its
  dependencies, so `python3 -m mlstack.runtime.step` (standard library only) can run the user's code
  under the step contract.

An image is tagged by content: a digest of its Dockerfile and of the wheel, so a new mlstack or a new
base image is a new tag, and an unchanged one keeps its tag (registries that refuse to overwrite tags,
like an IMMUTABLE ECR repository, stay happy)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from mlstack.paths import TEMPLATES

TEMPLATE = TEMPLATES / "runtime" / "Dockerfile.j2"
# Docker Official Image: the runtime image's base on every target.
PYTHON_BASE = "python:3.11-slim"
PLATFORM = "linux/amd64"  # the CPU architecture of every cloud instance type mlstack picks


@dataclass(frozen=True)
class ImageSpec:
    key: str  # stable resource name part: the same image across mlstack versions is updated, not replaced
    purpose: str
    base: str
    wheel: bool = True
    dependencies: bool = True
    extras: str = ""
    setup: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)

    def dockerfile(self, wheel_name: str) -> str:
        return _template().render(
            purpose=self.purpose,
            base=self.base,
            wheel=wheel_name if self.wheel else None,
            dependencies=self.dependencies,
            extras=self.extras,
            setup=self.setup,
            env=self.env,
        )

    def tag(self, wheel_name: str, wheel_sha256: str) -> str:
        digest = hashlib.sha256(self.dockerfile(wheel_name).encode())
        if self.wheel:
            digest.update(wheel_sha256.encode())
        return f"{self.key}-{digest.hexdigest()[:16]}"


def runtime_image(extra: str) -> ImageSpec:
    return ImageSpec(
        key="runtime",
        purpose=f"mlstack runtime ({extra}): gates, registration, deployment, monitors, replay",
        base=PYTHON_BASE,
        extras=f"[{extra},runtime]",
    )


def step_image(base: str) -> ImageSpec:
    """The spec's step image with mlstack's step adapter added (no dependencies: it needs none)."""
    short = hashlib.sha256(base.encode()).hexdigest()[:8]
    purpose = f"steps of {base} under the mlstack step contract"
    return ImageSpec(key=f"step-{short}", purpose=purpose, base=base, dependencies=False)


@cache
def _template() -> Any:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(loader=FileSystemLoader(TEMPLATE.parent), undefined=StrictUndefined, autoescape=False)
    return env.get_template(TEMPLATE.name)
