"""Reads the catalog's CSV files (stdlib csv only: validation must start fast)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from mlstack.catalog.model import Sku

DATA_DIR = Path(__file__).parent


@dataclass(frozen=True)
class GpuModel:
    """A row of gpus.csv. `kind` is 'gpu' or 'accelerator' (not CUDA: only chosen when asked for by name)."""

    name: str
    family: str
    kind: str
    memory_per_gpu_gb: float
    gpu_class: str
    tier: int
    aliases: tuple[str, ...]


@dataclass(frozen=True)
class VertexRule:
    """A row of vertex_rules.csv: `count` of `accelerator_type` fits the machine types matching a pattern."""

    machine_patterns: tuple[str, ...]
    accelerator_type: str
    count: int
    max_vcpus: int | None
    accelerator_required: bool


@dataclass(frozen=True)
class VertexAccelerator:
    """A row of vertex_accelerators.csv: the GPU behind a Vertex accelerator type and its unit price."""

    accelerator_type: str
    gpu: str
    price_usd_hour: float | None  # None: not read on the vendor's page


def _rows(name: str) -> Iterator[dict[str, str]]:
    with (DATA_DIR / name).open(newline="", encoding="utf-8") as handle:
        yield from csv.DictReader(handle)


def _optional_int(text: str) -> int | None:
    return int(text) if text else None


PRICE_STATUSES = ("confirmed", "unknown")


def _price(row: dict[str, str], name: str) -> float | None:
    """A row's price: a figure read on the vendor's page (`confirmed`), or None (`unknown`). A row that says
    one and carries the other is a broken data file, not a price to guess from."""
    status, text = row["price_status"], row["price_usd_hour"].strip()
    if status not in PRICE_STATUSES or (status == "confirmed") != bool(text):
        raise ValueError(
            f"{name}: {row.get('sku') or row.get('accelerator_type')}: price_status '{status}' "
            f"with price '{text}' (confirmed needs a price, unknown none)"
        )
    return float(text) if text else None


def load_skus() -> list[Sku]:
    return [
        Sku(
            cloud=row["cloud"],
            sku=row["sku"],
            machine_type=row["machine_type"],
            accelerator_type=row["accelerator_type"] or None,
            accelerator_count=_optional_int(row["accelerator_count"]),
            gpu=row["gpu"] or None,
            gpus=int(row["gpus"]),
            gpu_memory_gb=float(row["gpu_memory_gb"]),
            gpu_memory_per_gpu_gb=float(row["gpu_memory_per_gpu_gb"]),
            vcpus=int(row["vcpus"]),
            memory_gb=float(row["memory_gb"]),
            price_usd_hour=_price(row, "skus.csv"),
            price_region=row["price_region"],
            price_source=row["price_source"],
            price_as_of=row["price_as_of"],
            notes=row["notes"],
        )
        for row in _rows("skus.csv")
    ]


def load_gpus() -> list[GpuModel]:
    return [
        GpuModel(
            name=row["name"],
            family=row["family"],
            kind=row["kind"],
            memory_per_gpu_gb=float(row["memory_per_gpu_gb"]),
            gpu_class=row["gpu_class"],
            tier=int(row["tier"]),
            aliases=tuple(alias for alias in row["aliases"].split(";") if alias),
        )
        for row in _rows("gpus.csv")
    ]


def load_vertex_rules() -> list[VertexRule]:
    return [
        VertexRule(
            machine_patterns=tuple(row["machine_types"].split()),
            accelerator_type=row["accelerator_type"],
            count=int(row["count"]),
            max_vcpus=_optional_int(row["max_vcpus"]),
            accelerator_required=row["accelerator_required"] == "yes",
        )
        for row in _rows("vertex_rules.csv")
    ]


def load_vertex_accelerators() -> list[VertexAccelerator]:
    return [
        VertexAccelerator(
            accelerator_type=row["accelerator_type"],
            gpu=row["gpu"],
            price_usd_hour=_price(row, "vertex_accelerators.csv"),
        )
        for row in _rows("vertex_accelerators.csv")
    ]
