"""Vendor names for what the AWS backend creates, derived from spec names only.

SageMaker objects keep the spec object's name (plus `-<env>` when an environment is selected, so that
dev and prod may share an account); account-wide things (roles, bucket, topic) also carry the spec
name. Names that must change with their content (models, endpoint configurations) end in a digest of
that content: an update then creates the new object before the old one is released."""

from __future__ import annotations

import hashlib
import json

from mlstack.backends.naming import physical_name
from mlstack.targets.aws import (
    ALARM,
    BUCKET,
    GLUE,
    ROLE,
    SAGEMAKER,
)

DIGEST = 8


def digest(content: object) -> str:
    """A short stable digest of JSON-able content."""
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:DIGEST]


class Names:
    def __init__(self, spec: str, environment: str | None, prefix: str = "") -> None:
        self.spec = spec
        self.env = environment
        self.prefix = prefix  # the user's, in development mode (mlstack.spec.development)

    def sagemaker(self, name: str, max_length: int = SAGEMAKER) -> str:
        return physical_name(self.prefix, name, self.env or "", max_length=max_length)

    def versioned(self, content: object, name: str, *parts: str) -> str:
        """`<name>-<env>-<parts>-<digest of content>`, at most 63 characters: new content, new name."""
        base = physical_name(self.prefix, name, self.env or "", *parts, max_length=SAGEMAKER - DIGEST - 1)
        return f"{base}-{digest(content)}"

    def platform(self, *parts: str, max_length: int) -> str:
        return physical_name(self.prefix, self.spec, self.env or "", *parts, max_length=max_length)

    def bucket(self, account: str, region: str) -> str:
        # Bucket names are global: the account and region make them unique without a random suffix.
        return physical_name("mlstack", self.prefix, self.spec, self.env or "", account, region, max_length=BUCKET)

    def glue_database(self) -> str:
        return self.platform("features", max_length=GLUE).replace("-", "_")

    def role(self, concern: str) -> str:
        return self.platform(concern, max_length=ROLE)

    def alarm(self, *parts: str) -> str:
        return self.platform(*parts, max_length=ALARM)
