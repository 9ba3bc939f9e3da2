"""A SKU's closest counterpart on another cloud, for migration.

Order of preference: the same GPU model, else the same class (A10G/A10/L4 are 24 GB inference GPUs), else the
nearest class; the same GPU count; then the closest vCPU/RAM; then the cheaper. GPU model and count are weighed
together rather than strictly in turn, so a 1-GPU source never maps to an 8-GPU box just because only the
8-GPU box carries the exact model (a3-highgpu-1g → Standard_NC40ads_H100_v5, not the ND96isr_H100_v5).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from mlstack.catalog.gpus import GpuTable
from mlstack.catalog.model import CatalogError, Equivalence, Fidelity, Sku
from mlstack.catalog.resolve import price_key

SAME_CLASS_PENALTY = 0.25
# How far a counterpart may be from its source and still be the same machine for a migration: vCPUs and
# RAM within 1.5×, total GPU memory within 1.25×, the hourly price within 1.5× either way (when both are known).
HARDWARE_TOLERANCE = 1.5
GPU_MEMORY_TOLERANCE = 1.25
PRICE_TOLERANCE = 1.5


def resource_distance(a: Sku, b: Sku) -> float:
    """Octaves apart in vCPUs plus octaves apart in RAM."""
    return abs(math.log2(b.vcpus / a.vcpus)) + abs(math.log2(b.memory_gb / a.memory_gb))


def _fidelity(source: Sku, target: Sku, table: GpuTable) -> Fidelity:
    if source.gpu is None or target.gpu is None:
        same = source.vcpus == target.vcpus and source.memory_gb == target.memory_gb
        return "exact" if same else "same_class"
    return table.fidelity(source.gpu, target.gpu)


def _gpu_score(source: Sku, target: Sku, table: GpuTable) -> float:
    assert source.gpu is not None and target.gpu is not None
    fidelity = table.fidelity(source.gpu, target.gpu)
    model = {"exact": 0.0, "same_class": SAME_CLASS_PENALTY}.get(fidelity, 1 + table.distance(source.gpu, target.gpu))
    return model + abs(math.log2(target.gpus / source.gpus))


def _differences(source: Sku, target: Sku) -> tuple[str, ...]:
    pairs = [
        (
            "GPU",
            f"{source.gpus}×{source.gpu}" if source.gpus else "none",
            f"{target.gpus}×{target.gpu}" if target.gpus else "none",
        ),
        ("GPU memory", f"{source.gpu_memory_gb:g} GiB", f"{target.gpu_memory_gb:g} GiB"),
        ("vCPUs", f"{source.vcpus}", f"{target.vcpus}"),
        ("RAM", f"{source.memory_gb:g} GiB", f"{target.memory_gb:g} GiB"),
    ]
    return tuple(f"{label} {before} → {after}" for label, before, after in pairs if before != after)


def _apart(a: float, b: float) -> float:
    """How many times larger the larger is (1 when equal; infinite when only one is zero)."""
    if a == b:
        return 1.0
    return math.inf if min(a, b) <= 0 else max(a, b) / min(a, b)


def mismatches(source: Sku, target: Sku) -> tuple[str, ...]:
    """Where `target` is not the same machine as `source`: vCPUs, RAM, GPU memory or price past the
    tolerances, each with both values. Empty when a migration may call it exact (the GPU model aside)."""
    out = []
    for label, before, after, tolerance, unit in (
        ("vCPUs", source.vcpus, target.vcpus, HARDWARE_TOLERANCE, ""),
        ("RAM", source.memory_gb, target.memory_gb, HARDWARE_TOLERANCE, " GiB"),
        ("GPU memory", source.gpu_memory_gb, target.gpu_memory_gb, GPU_MEMORY_TOLERANCE, " GiB"),
    ):
        if _apart(before, after) > tolerance:
            out.append(f"{label} {before:g}{unit} → {after:g}{unit} ({after / before if before else math.inf:.1f}×)")
    before, after = source.price_usd_hour, target.price_usd_hour
    # An unknown price is not compared: the machine is graded on its hardware alone and the report says the
    # price was not estimated (price_delta is None).
    if before is not None and after is not None and _apart(before, after) > PRICE_TOLERANCE:
        delta = after - before
        out.append(f"price ${before:g}/h → ${after:g}/h ({'+' if delta > 0 else '−'}${abs(delta):.2f}/h per instance)")
    return tuple(out)


def price_delta(source: Sku, target: Sku) -> float | None:
    """What the target costs more per hour; None when either price is unknown."""
    if source.price_usd_hour is None or target.price_usd_hour is None:
        return None
    return round(target.price_usd_hour - source.price_usd_hour, 5)


def equivalent(source: Sku, to_cloud: str, candidates: Iterable[Sku], table: GpuTable) -> Equivalence:
    if source.gpus:
        pool = [c for c in candidates if c.gpus and (table.is_gpu(c.gpu) or c.gpu == source.gpu)]

        def key(c: Sku) -> tuple[float, float, bool, float, str]:
            score = _gpu_score(source, c, table)
            return (round(score, 6), round(resource_distance(source, c), 6), *price_key(c), c.sku)
    else:
        pool = [c for c in candidates if not c.gpus]

        def key(c: Sku) -> tuple[float, float, bool, float, str]:
            return (0.0, round(resource_distance(source, c), 6), *price_key(c), c.sku)

    if not pool:
        raise CatalogError(f"the catalog has no {to_cloud} counterpart for {source.cloud} {source.sku}")
    target = min(pool, key=key)
    return Equivalence(
        source=source,
        target=target,
        fidelity=_fidelity(source, target, table),
        price_delta_usd_hour=price_delta(source, target),
        differences=_differences(source, target),
    )
