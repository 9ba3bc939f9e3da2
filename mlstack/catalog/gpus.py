"""GPU names as users write them, mapped onto the canonical models of gpus.csv, and how alike two GPUs are."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

from mlstack.catalog.data import GpuModel
from mlstack.catalog.model import CatalogError, Fidelity
from mlstack.errors import did_you_mean


def normalize(name: str) -> str:
    """Case-, space- and underscore-insensitive key: 'NVIDIA_TESLA_T4' and 'nvidia tesla t4' meet."""
    return re.sub(r"[\s_]+", "-", name.strip().lower())


class GpuTable:
    """Resolves a requested GPU (model, alias, family such as 'A100', or class such as 'inference-24gb')."""

    def __init__(self, models: Iterable[GpuModel]) -> None:
        self.models = {model.name: model for model in models}
        self._groups: dict[str, frozenset[str]] = {}
        self._display: dict[str, str] = {}
        # Later assignments win: a canonical name beats a family or class that happens to share its spelling.
        for attribute in ("gpu_class", "family"):
            for model in self.models.values():
                key = getattr(model, attribute)
                members = {m.name for m in self.models.values() if getattr(m, attribute) == key}
                self._set(key, frozenset(members))
        for model in self.models.values():
            for name in (model.name, *model.aliases):
                self._set(name, frozenset({model.name}))

    def _set(self, name: str, members: frozenset[str]) -> None:
        self._groups[normalize(name)] = members
        self._display.setdefault(normalize(name), name)

    def expand(self, requested: str) -> frozenset[str]:
        """The canonical models a requested name covers; CatalogError with a suggestion when unknown."""
        members = self._groups.get(normalize(requested))
        if members is None:
            hint = did_you_mean(normalize(requested), self._groups)
            raise CatalogError(f"unknown GPU '{requested}'{hint}; known: {', '.join(self.accepted_names())}")
        return members

    def accepted_names(self) -> list[str]:
        """Models, families and classes accepted in `gpu:` (aliases are accepted too but not listed)."""
        by_key: dict[str, str] = {}
        for attribute in ("name", "family", "gpu_class"):
            for model in self.models.values():
                by_key.setdefault(normalize(getattr(model, attribute)), getattr(model, attribute))
        return sorted(by_key.values(), key=str.lower)

    def is_gpu(self, name: str | None) -> bool:
        return name is not None and self.models[name].kind == "gpu"

    def distance(self, a: str, b: str) -> float:
        """How far apart two models are: tiers of capability plus octaves of per-GPU memory."""
        first, second = self.models[a], self.models[b]
        memory = abs(math.log2(first.memory_per_gpu_gb / second.memory_per_gpu_gb))
        return abs(first.tier - second.tier) + memory

    def fidelity(self, a: str, b: str) -> Fidelity:
        if a == b:
            return "exact"
        first, second = self.models[a], self.models[b]
        if first.gpu_class == second.gpu_class or first.family == second.family:
            return "same_class"
        return "different_class"
