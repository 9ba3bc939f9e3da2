"""One Pulumi ComponentResource per spec object, so previews read like the spec."""

from __future__ import annotations

import pulumi


class SpecComponent(pulumi.ComponentResource):
    """`mlstack:<kind>:<Kind>`, e.g. mlstack:endpoint:Endpoint named after the spec object."""

    def __init__(self, kind: str, name: str, props: dict | None = None, opts: pulumi.ResourceOptions | None = None):
        title = "".join(part.capitalize() for part in kind.split("_"))
        super().__init__(f"mlstack:{kind}:{title}", name, props, opts)

    def child(self, **kwargs: object) -> pulumi.ResourceOptions:
        """Options for a cloud resource that belongs to this component."""
        return pulumi.ResourceOptions(parent=self, **kwargs)  # type: ignore[arg-type]

    def done(self, outputs: dict | None = None) -> None:
        self.register_outputs(outputs or {})
