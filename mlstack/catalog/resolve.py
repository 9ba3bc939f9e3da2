"""Neutral request → the cheapest SKU meeting every stated constraint, or an error naming the closest misses.

Semantics (also in README.md):
- `gpus` is an exact count; `gpu_memory_gb` (instance total), `vcpus` and `memory_gb` are minimums.
- `gpu` names a model, family or class (see GpuTable); accelerators such as Inferentia2 only match by name.
- A request that states no GPU constraint (`gpu`, `gpus`, `gpu_memory_gb` all unset, or `gpus: 0`) asks for a
  CPU-only SKU.
- The cheapest fitting SKU wins when every fitting SKU has a price; ties go to fewer GPUs, then fewer vCPUs,
  then less RAM, then the SKU id in alphabetical order. When any fitting SKU's price is unknown, prices
  cannot be compared, so the smallest fitting machine wins instead: fewest GPUs, least GPU memory, fewest
  vCPUs, least RAM, then the id. Either way the choice never rests on a made-up number.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

from mlstack.catalog.gpus import GpuTable
from mlstack.catalog.model import Candidate, CatalogError, Sku

NEUTRAL_FIELDS = ("gpu", "gpus", "gpu_memory_gb", "vcpus", "memory_gb")
CLOSEST = 3


def _get(request: object, name: str) -> object:
    return getattr(request, name, None)


def wants_gpu(request: object) -> bool:
    gpus = _get(request, "gpus")
    if gpus == 0:
        return False
    return any(_get(request, name) is not None for name in ("gpu", "gpus", "gpu_memory_gb"))


def describe_request(request: object) -> str:
    parts = []
    for name in NEUTRAL_FIELDS:
        value = _get(request, name)
        if value is not None:
            operator = "=" if name in ("gpu", "gpus") else ">="
            parts.append(f"{name}{operator}{value:g}" if isinstance(value, float) else f"{name}{operator}{value}")
    return ", ".join(parts) or "no constraints"


def _octaves(want: float, have: float) -> float:
    return math.log2(want / have) if have > 0 else 2.0


def assess(sku: Sku, request: object, wanted: frozenset[str] | None, table: GpuTable) -> tuple[tuple[str, ...], float]:
    """What `sku` misses of `request`, and how far it is off (0 when it fits)."""
    misses: list[str] = []
    distance = 0.0
    if wants_gpu(request):
        requested = _get(request, "gpu")
        if wanted is not None and sku.gpu not in wanted:
            if sku.gpu:
                misses.append(f"has {sku.gpu}, not {requested}")
                distance += 1 + 0.1 * min(table.distance(sku.gpu, w) for w in wanted)
            else:
                misses.append(f"no GPU ({requested} asked)")
                distance += 2.0
        elif wanted is None and not table.is_gpu(sku.gpu):
            misses.append(f"{sku.gpu} is an accelerator, not a GPU" if sku.gpu else "no GPU")
            distance += 2.0
        gpus = _get(request, "gpus")
        if gpus is not None and sku.gpus != gpus:
            misses.append(f"has {sku.gpus} GPU{'' if sku.gpus == 1 else 's'}, not {gpus}")
            distance += abs(math.log2(max(sku.gpus, 0.5) / gpus))
        gpu_memory = _get(request, "gpu_memory_gb")
        if gpu_memory is not None and sku.gpu_memory_gb < gpu_memory:
            misses.append(f"GPU memory {sku.gpu_memory_gb:g} GiB < {gpu_memory:g}")
            distance += _octaves(gpu_memory, sku.gpu_memory_gb)
    elif sku.gpus:
        misses.append(f"has {sku.gpus}×{sku.gpu}; no GPU was asked for")
        distance += 1.0
    vcpus = _get(request, "vcpus")
    if vcpus is not None and sku.vcpus < vcpus:
        misses.append(f"{sku.vcpus} vCPUs < {vcpus}")
        distance += _octaves(vcpus, sku.vcpus)
    memory = _get(request, "memory_gb")
    if memory is not None and sku.memory_gb < memory:
        misses.append(f"{sku.memory_gb:g} GiB RAM < {memory:g}")
        distance += _octaves(memory, sku.memory_gb)
    return tuple(misses), distance


def price_key(sku: Sku) -> tuple[bool, float]:
    """Orders known prices ascending and unknown ones after them."""
    return (sku.price_usd_hour is None, sku.price_usd_hour or 0.0)


def cheapest_key(sku: Sku) -> tuple[bool, float, int, int, float, str]:
    return (*price_key(sku), sku.gpus, sku.vcpus, sku.memory_gb, sku.sku)


def size_key(sku: Sku) -> tuple[int, float, int, float, str]:
    return (sku.gpus, sku.gpu_memory_gb, sku.vcpus, sku.memory_gb, sku.sku)


def smallest_key(sku: Sku) -> tuple[int, float, int, float, bool, float, str]:
    return (sku.gpus, sku.gpu_memory_gb, sku.vcpus, sku.memory_gb, *price_key(sku), sku.sku)


def choice_key(skus: Iterable[Sku]) -> Callable[[Sku], tuple[object, ...]]:
    """Cheapest when every price is known, else smallest (see the module docstring)."""
    return cheapest_key if all(s.price_usd_hour is not None for s in skus) else smallest_key


def price_label(sku: Sku) -> str:
    return "price unknown" if sku.price_usd_hour is None else f"${sku.price_usd_hour:g}/h"


def resolve(cloud: str, skus: Iterable[Sku], request: object, table: GpuTable) -> Sku:
    requested = _get(request, "gpu")
    wanted = table.expand(str(requested)) if requested is not None else None
    assessed = [(sku, *assess(sku, request, wanted, table)) for sku in skus]
    fitting = [sku for sku, misses, _ in assessed if not misses]
    if fitting:
        return min(fitting, key=choice_key(fitting))
    key = choice_key(sku for sku, _, _ in assessed)
    assessed.sort(key=lambda item: (len(item[1]), round(item[2], 6), key(item[0])))
    closest = tuple(Candidate(sku, misses) for sku, misses, _ in assessed[:CLOSEST])
    listing = "; ".join(f"{c.sku.sku} ({price_label(c.sku)}: {', '.join(c.misses)})" for c in closest)
    raise CatalogError(f"no {cloud} SKU satisfies {describe_request(request)}; closest: {listing}", candidates=closest)
