"""The catalog's value types: a SKU, a hardware request, a migration counterpart, and the catalog's error."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from mlstack.errors import MlstackError

Fidelity = Literal["exact", "same_class", "different_class"]


@dataclass(frozen=True)
class Sku:
    """One rentable shape on one cloud, with its on-demand serving price per hour in a reference region.

    `price_usd_hour` is None when no figure could be read on the vendor's price page (`price_source`,
    looked at on `price_as_of`): cost is then not estimated rather than made up. A price that is set was
    read there on `price_as_of`; there is no third state.

    `sku` is the catalog id: the vendor name on aws/azure; on gcp the machine type, plus
    `/<ACCELERATOR_TYPE>x<count>` when accelerators are attached (e.g. `g2-standard-8/NVIDIA_L4x1`).
    `gpu_memory_gb` is the instance total; `gpu` is a canonical name from gpus.csv.
    """

    cloud: str
    sku: str
    machine_type: str
    accelerator_type: str | None
    accelerator_count: int | None
    gpu: str | None
    gpus: int
    gpu_memory_gb: float
    gpu_memory_per_gpu_gb: float
    vcpus: int
    memory_gb: float
    price_usd_hour: float | None
    price_region: str
    price_source: str
    price_as_of: str
    notes: str = ""

    @property
    def price_confirmed(self) -> bool:
        """A price is either read on the vendor's page or unknown (None)."""
        return self.price_usd_hour is not None

    def spec_fields(self) -> dict[str, str | int]:
        """What a spec's compute profile pins to get exactly this SKU."""
        fields = {
            "instance_type": self.machine_type,
            "accelerator_type": self.accelerator_type,
            "accelerator_count": self.accelerator_count,
        }
        return {key: value for key, value in fields.items() if value is not None}

    def describe(self) -> str:
        """A short human summary: '1×L4 24 GiB, 4 vCPU, 16 GiB RAM'."""
        hardware = f"{self.vcpus} vCPU, {self.memory_gb:g} GiB RAM"
        if not self.gpus:
            return hardware
        return f"{self.gpus}×{self.gpu} {self.gpu_memory_gb:g} GiB, {hardware}"


@dataclass(frozen=True)
class Request:
    """A neutral compute request; the spec's ComputeProfile has the same attribute names and works too."""

    gpu: str | None = None
    gpus: int | None = None
    gpu_memory_gb: float | None = None
    vcpus: int | None = None
    memory_gb: float | None = None
    instance_type: str | None = None
    accelerator_type: str | None = None
    accelerator_count: int | None = None


@dataclass(frozen=True)
class Equivalence:
    """The closest counterpart of `source` on another cloud, how faithful it is, and what it costs more."""

    source: Sku
    target: Sku
    fidelity: Fidelity
    price_delta_usd_hour: float | None  # None when either price is unknown
    differences: tuple[str, ...]

    def as_dict(self) -> dict[str, object]:
        return {
            "from": {"cloud": self.source.cloud, "sku": self.source.sku},
            "to": {"cloud": self.target.cloud, "sku": self.target.sku, **self.target.spec_fields()},
            "fidelity": self.fidelity,
            "price_usd_hour": self.target.price_usd_hour,
            "price_delta_usd_hour": self.price_delta_usd_hour,
            "differences": list(self.differences),
        }


@dataclass(frozen=True)
class Candidate:
    """A SKU that came close to a request, with what it misses."""

    sku: Sku
    misses: tuple[str, ...]


class CatalogError(MlstackError):
    """Bad compute input: unknown SKU or GPU, an invalid Vertex combination, or nothing fits."""

    def __init__(self, message: str, candidates: tuple[Candidate, ...] = ()) -> None:
        super().__init__(message)
        self.candidates = candidates


# Said wherever a cost or a price difference is left out because a price is unknown.
UNPRICED = "price not estimated: no figure could be read on the vendor's price page"


def monthly_cost(sku: Sku, count: int, hours: float = 730) -> float | None:
    """On-demand cost of `count` instances for `hours` (730 ≈ one month), in USD, to the cent; None when
    the SKU's price is unknown (not estimated)."""
    if sku.price_usd_hour is None:
        return None
    return round(sku.price_usd_hour * count * hours, 2)
