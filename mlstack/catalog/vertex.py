"""Which accelerator types and counts Vertex AI accepts on which machine types (data in vertex_rules.csv)."""

from __future__ import annotations

from collections.abc import Iterable
from fnmatch import fnmatchcase

from mlstack.catalog.data import VertexAccelerator, VertexRule
from mlstack.catalog.model import CatalogError
from mlstack.errors import did_you_mean


def _counts(counts: Iterable[int]) -> str:
    labels = [f"x{count}" for count in sorted(set(counts))]
    return labels[0] if len(labels) == 1 else f"{', '.join(labels[:-1])} or {labels[-1]}"


class VertexRules:
    def __init__(self, rules: Iterable[VertexRule], accelerators: Iterable[VertexAccelerator]) -> None:
        self.rules = list(rules)
        self.accelerators = {acc.accelerator_type: acc for acc in accelerators}

    def _matching(self, machine_type: str) -> list[VertexRule]:
        return [r for r in self.rules if any(fnmatchcase(machine_type, p) for p in r.machine_patterns)]

    def choices(self, machine_type: str, vcpus: int | None = None) -> list[tuple[str, int]]:
        """Every (accelerator_type, count) the machine takes; with `vcpus`, only those that allow that many."""
        return [
            (rule.accelerator_type, rule.count)
            for rule in self._matching(machine_type)
            if vcpus is None or rule.max_vcpus is None or vcpus <= rule.max_vcpus
        ]

    def requires_accelerator(self, machine_type: str) -> bool:
        return any(rule.accelerator_required for rule in self._matching(machine_type))

    def describe_choices(self, machine_type: str, vcpus: int | None = None) -> str:
        by_type: dict[str, list[int]] = {}
        for accelerator_type, count in self.choices(machine_type, vcpus):
            by_type.setdefault(accelerator_type, []).append(count)
        if not by_type:
            return f"{machine_type} takes no accelerators"
        options = "; ".join(f"{kind} {_counts(counts)}" for kind, counts in by_type.items())
        return f"{machine_type} takes {options}"

    def _fits(self, accelerator_type: str) -> str:
        patterns = sorted({p for r in self.rules if r.accelerator_type == accelerator_type for p in r.machine_patterns})
        return f"{accelerator_type} fits {', '.join(patterns)}"

    def check(
        self, machine_type: str, accelerator_type: str | None, accelerator_count: int | None, vcpus: int | None = None
    ) -> None:
        """Raise CatalogError naming the valid choices unless Vertex accepts this combination."""
        if accelerator_type is None:
            if accelerator_count:
                raise CatalogError(f"accelerator_count needs accelerator_type: {self.describe_choices(machine_type)}")
            if self.requires_accelerator(machine_type):
                raise CatalogError(f"{machine_type} needs an accelerator: {self.describe_choices(machine_type)}")
            return
        if accelerator_type not in self.accelerators:
            hint = did_you_mean(accelerator_type, self.accelerators)
            raise CatalogError(
                f"unknown Vertex accelerator type '{accelerator_type}'{hint}; known: {', '.join(self.accelerators)}"
            )
        counts = [c for kind, c in self.choices(machine_type) if kind == accelerator_type]
        if not counts:
            raise CatalogError(
                f"{accelerator_type} does not fit {machine_type}: {self.describe_choices(machine_type)} "
                f"({self._fits(accelerator_type)})"
            )
        if accelerator_count not in counts:
            raise CatalogError(f"{machine_type} takes {accelerator_type} {_counts(counts)}, not x{accelerator_count}")
        if (accelerator_type, accelerator_count) not in self.choices(machine_type, vcpus):
            raise CatalogError(
                f"{machine_type} has {vcpus} vCPUs, more than {accelerator_type} x{accelerator_count} allows: "
                f"{self.describe_choices(machine_type, vcpus)}"
            )

    def default_count(self, machine_type: str, accelerator_type: str) -> int | None:
        """The smallest count of this type the machine takes (None when it takes none)."""
        counts = [c for kind, c in self.choices(machine_type) if kind == accelerator_type]
        return min(counts) if counts else None

    def implied_accelerator(self, machine_type: str) -> tuple[str, int] | None:
        """The accelerator a machine type comes with when it has exactly one choice (g2, a2, a3)."""
        options = self.choices(machine_type)
        if self.requires_accelerator(machine_type) and len(options) == 1:
            return options[0]
        return None
