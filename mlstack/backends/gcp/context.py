"""What every GCP module needs: project, region, the explicit provider, labels, the CMEK key and the
platform's shared resources, plus the naming rules Vertex imposes."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_gcp as gcp

from mlstack.backends.components import SpecComponent
from mlstack.backends.naming import physical_name
from mlstack.errors import MlstackError
from mlstack.resolve import Resolved
from mlstack.targets import GCP

if TYPE_CHECKING:
    from mlstack.backends.gcp.platform import Platform

_LABEL_BAD = re.compile(r"[^a-z0-9_-]")


def label_part(text: str) -> str:
    """A GCP label key or value: lower-case letters, digits, '_' and '-', at most 63 characters."""
    return _LABEL_BAD.sub("_", text.lower())[:63]


def gcp_labels(tags: dict[str, str]) -> dict[str, str]:
    labels = {}
    for key, value in tags.items():
        clean = label_part(key)
        if not clean[:1].isalpha():
            clean = f"k_{clean}"[:63]
        labels[clean] = label_part(value)
    return labels


def numeric_id(*parts: str) -> str:
    """A deterministic Vertex numeric resource id (endpoints need one: at most 10 digits, no leading zero)."""
    digest = int(hashlib.sha256("/".join(parts).encode()).hexdigest(), 16)
    return str(1_000_000_000 + digest % 8_999_999_999)


@dataclass
class Gcp:
    """The resolved spec seen from GCP, with the provider every resource uses."""

    resolved: Resolved
    project: str
    region: str
    provider: gcp.Provider | None = None
    platform: Platform | None = None
    stack: str = field(init=False)

    def __post_init__(self) -> None:
        self.stack = self.resolved.environment or ""

    @classmethod
    def of(cls, resolved: Resolved) -> Gcp:
        settings = resolved.spec.target.gcp
        if settings is None or not resolved.region:
            raise MlstackError(
                "the gcp target needs target.gcp.project and a region (target.region or target.gcp.region)"
            )
        return cls(resolved, settings.project, resolved.region)

    @property
    def spec_name(self) -> str:
        return self.resolved.name

    @property
    def kms_key(self) -> str | None:
        return self.resolved.kms_key

    @property
    def labels(self) -> dict[str, str]:
        return gcp_labels(self.resolved.tags)

    @property
    def parent(self) -> str:
        return f"projects/{self.project}/locations/{self.region}"

    def name(self, *parts: str, max_length: int = 63, separator: str = "-") -> str:
        """A vendor name unique to this spec and environment within the project."""
        owner = self.resolved.prefix  # development mode: the user's copy
        return physical_name(owner, self.spec_name, self.stack, *parts, max_length=max_length, separator=separator)

    def vertex_id(self, *parts: str, max_length: int = 60) -> str:
        """A Vertex feature-store id (underscores, as the GCP profile's name rule writes it)."""
        rule = GCP.names["spec"]
        return physical_name(
            *(rule.vendor_name(p) for p in (self.resolved.prefix, self.spec_name, self.stack, *parts) if p),
            max_length=max_length,
            separator="_",
        )

    def opts(self, component: SpecComponent, **kwargs: Any) -> pulumi.ResourceOptions:
        return component.child(provider=self.provider, **kwargs)

    def encryption(self) -> dict[str, str] | None:
        """The `encryption_spec` block Vertex resources take when a key is set."""
        return {"kms_key_name": self.kms_key} if self.kms_key else None
