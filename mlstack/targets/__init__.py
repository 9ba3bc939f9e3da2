"""What each target can do and how it names things, as data shared by validation, backends,
review and migration (the way a sqlglot dialect is a table of mappings, not a code path): one module
per target, and the list of targets once."""

from __future__ import annotations

from mlstack.targets.aws import AWS
from mlstack.targets.azure import AZURE
from mlstack.targets.dialect import NameRule, TargetProfile, supports_metric
from mlstack.targets.gcp import GCP
from mlstack.targets.local import LOCAL

PROFILES: dict[str, TargetProfile] = {p.cloud: p for p in (AWS, GCP, AZURE, LOCAL)}


def profile(cloud: str) -> TargetProfile:
    return PROFILES[cloud]


__all__ = ["AWS", "AZURE", "GCP", "LOCAL", "PROFILES", "NameRule", "TargetProfile", "profile", "supports_metric"]
