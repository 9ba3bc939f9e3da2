"""What the import's mapping steps share: the snapshot read, the report, spec names for vendor names,
and the compute profiles that pinned instance types become."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from mlstack.errors import Path
from mlstack.migrate.importer.reader import Snapshot
from mlstack.migrate.names import fit
from mlstack.migrate.report import Report
from mlstack.spec.types import NAME_PATTERN
from mlstack.targets import NameRule

_SPEC_NAME = NameRule(63, NAME_PATTERN.strip("^$"), "spec names are lower-case letters, digits and hyphens")
# Tags mlstack writes on everything it creates; they are not the user's.
MANAGED_TAGS = frozenset({"managed-by", "mlstack-spec", "mlstack-env"})


def spec_name(vendor: str) -> str:
    """A spec name for a vendor name: lower case, other characters as hyphens, cut with a hash if long."""
    name = re.sub(r"[^a-z0-9-]+", "-", vendor.lower()).strip("-") or "unnamed"
    if not name[0].isalpha():
        name = f"x-{name}"
    return fit(name, _SPEC_NAME)


@dataclass
class Import:
    snapshot: Snapshot
    report: Report
    spec: dict[str, Any] = field(default_factory=dict)
    compute: dict[str, dict[str, Any]] = field(default_factory=dict)
    endpoints: dict[str, str] = field(default_factory=dict)  # SageMaker endpoint name -> spec name
    rollback_alarms: dict[str, str] = field(default_factory=dict)  # alarm name -> spec endpoint it rolls back

    def name(self, vendor: str, what: str, path: Path) -> str:
        name = spec_name(vendor)
        if name != vendor:
            self.report.add(
                path,
                "approximate",
                f"{what} '{vendor}' → '{name}'",
                f"'{vendor}' is not a spec name; mlstack names the {what} it plans '{name}', so applying this "
                "spec creates a new one beside the existing one",
                before=vendor,
                after=name,
            )
        return name

    def profile(self, instance_type: str) -> str:
        """The named compute profile pinning `instance_type` (one per type)."""
        name = spec_name(instance_type.removeprefix("ml."))
        self.compute.setdefault(name, {"instance_type": instance_type})
        return name

    def alarm(self, name: str) -> dict[str, Any] | None:
        return next((a for a in self.snapshot.alarms if a["AlarmName"] == name), None)

    @staticmethod
    def schedule_of(alarm: dict[str, Any]) -> str | None:
        """The monitoring schedule an alarm watches (its MonitoringSchedule dimension), if any."""
        dimensions = list(alarm.get("Dimensions", []))
        for query in alarm.get("Metrics", []):
            dimensions += query.get("MetricStat", {}).get("Metric", {}).get("Dimensions", [])
        return next((d["Value"] for d in dimensions if d["Name"] == "MonitoringSchedule"), None)

    def alarms_of_schedule(self, schedule: str) -> list[dict[str, Any]]:
        return [a for a in self.snapshot.alarms if self.schedule_of(a) == schedule]


def user_tags(tags: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in tags.items() if k not in MANAGED_TAGS and not k.startswith(("mlstack-", "aws:"))}
