"""Azure ML environments for the container images the spec names: one EnvironmentContainer and
EnvironmentVersion per image, shared by every pipeline step and deployment that runs it."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
from pulumi_azure_native import machinelearningservices as ml

from mlstack.backends.azure.context import Azure, after, short_hash

# The serving contract of a custom image, as SageMaker defines it: HTTP on 8080, GET /ping, POST /invocations.
SERVING_PORT = 8080
HEALTH_PATH = "/ping"
SCORING_PATH = "/invocations"


@dataclass
class Environments:
    ctx: Azure
    ids: dict[tuple[str, bool], pulumi.Output[str]] = field(default_factory=dict)

    def of(self, image: str, *, serving: bool, built: pulumi.Input[str] | None = None) -> pulumi.Output[str]:
        """The ARM id of the environment version running `image` (created on first use); `built`: the
        reference of the image this stack built from it, which the environment runs instead."""
        key = (image, serving)
        if key not in self.ids:
            self.ids[key] = self._create(image, serving, built)
        return self.ids[key]

    def _create(self, image: str, serving: bool, built: pulumi.Input[str] | None) -> pulumi.Output[str]:
        ctx = self.ctx
        assert ctx.platform is not None
        kind = "serve" if serving else "job"
        name = f"mlstack-{kind}-{short_hash(image, digits=10)}"
        opts = ctx.platform.component.child()
        container = ml.EnvironmentContainer(
            name,
            name=name,
            properties=ml.EnvironmentContainerPropertiesArgs(description=image, tags=ctx.tags),
            **ctx.in_workspace(),
            opts=opts,
        )
        routes = None
        if serving:
            health = ml.RouteArgs(path=HEALTH_PATH, port=SERVING_PORT)
            routes = ml.InferenceContainerPropertiesArgs(
                liveness_route=health,
                readiness_route=health,
                scoring_route=ml.RouteArgs(path=SCORING_PATH, port=SERVING_PORT),
            )
        version = ml.EnvironmentVersion(
            f"{name}-v1",
            name=name,
            version="1",
            properties=ml.EnvironmentVersionPropertiesArgs(
                image=built or image, os_type="Linux", inference_config=routes, tags=ctx.tags
            ),
            **ctx.in_workspace(),
            opts=ctx.platform.component.child(depends_on=[container]),
        )
        return after(version, ctx.asset_id("environments", name, "1"))
