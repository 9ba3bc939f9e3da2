"""The loaded catalog: look up pinned SKUs, resolve neutral requests, find migration counterparts."""

from __future__ import annotations

import datetime
import os
from functools import cache

from mlstack.catalog import data
from mlstack.catalog.equivalence import equivalent
from mlstack.catalog.gpus import GpuTable
from mlstack.catalog.model import CatalogError, Equivalence, Sku
from mlstack.catalog.resolve import NEUTRAL_FIELDS, assess, describe_request, price_key, resolve, size_key
from mlstack.catalog.vertex import VertexRules
from mlstack.errors import did_you_mean
from mlstack.targets import PROFILES, profile

TARGETS = tuple(PROFILES)
CLOUDS = tuple(cloud for cloud in TARGETS if not profile(cloud).emulated)  # the ones with a SKU catalog


@cache
def local_sku() -> Sku:
    """This machine, for the local emulator: free, CPU only (GPU requests are not emulated)."""
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError, AttributeError):
        memory = 0.0
    return Sku(
        cloud="local",
        sku="local",
        machine_type="local",
        accelerator_type=None,
        accelerator_count=None,
        gpu=None,
        gpus=0,
        gpu_memory_gb=0.0,
        gpu_memory_per_gpu_gb=0.0,
        vcpus=os.cpu_count() or 1,
        memory_gb=round(memory, 1),
        price_usd_hour=0.0,
        price_region="local",
        price_source="this machine",
        price_as_of=datetime.date.today().isoformat(),
        notes="the local emulator serves on this machine's CPUs; GPU requests are not emulated",
    )


def _parse_vertex_id(instance_type: str) -> tuple[str, str | None, int | None]:
    """'g2-standard-8/NVIDIA_L4x1' → ('g2-standard-8', 'NVIDIA_L4', 1); a bare machine type passes through."""
    machine, _, accelerator = instance_type.partition("/")
    if not accelerator:
        return machine, None, None
    kind, _, count = accelerator.rpartition("x")
    if not kind or not count.isdigit():
        raise CatalogError(
            f"'{instance_type}' is not a Vertex SKU id: write <machine_type>/<ACCELERATOR_TYPE>x<count>, "
            "e.g. g2-standard-8/NVIDIA_L4x1"
        )
    return machine, kind, int(count)


class Catalog:
    def __init__(self, skus: list[Sku], gpus: GpuTable, vertex: VertexRules) -> None:
        order = {cloud: i for i, cloud in enumerate(CLOUDS)}
        self._skus = sorted(skus, key=lambda s: (order[s.cloud], *price_key(s), *size_key(s)))
        self._index = {(s.cloud, s.sku): s for s in self._skus}
        self.gpus = gpus
        self.vertex = vertex

    @classmethod
    def load(cls) -> Catalog:
        return cls(
            data.load_skus(),
            GpuTable(data.load_gpus()),
            VertexRules(data.load_vertex_rules(), data.load_vertex_accelerators()),
        )

    @staticmethod
    def _cloud(cloud: str) -> str:
        if cloud not in TARGETS:
            raise CatalogError(f"unknown cloud '{cloud}'{did_you_mean(cloud, TARGETS)}; known: {', '.join(TARGETS)}")
        return cloud

    def skus(self, cloud: str | None = None, gpu: str | None = None) -> list[Sku]:
        """SKUs sorted by cloud, price (unknown last), size (GPUs, GPU memory, vCPUs, RAM), id; `gpu` takes any name `resolve` accepts (model, family,
        class)."""
        wanted = self.gpus.expand(gpu) if gpu is not None else None
        if cloud is not None:
            self._cloud(cloud)
        return [s for s in self._skus if (cloud is None or s.cloud == cloud) and (wanted is None or s.gpu in wanted)]

    def gpu_names(self) -> list[str]:
        return self.gpus.accepted_names()

    def check_vertex(self, machine_type: str, accelerator_type: str | None, accelerator_count: int | None) -> None:
        self.vertex.check(machine_type, accelerator_type, accelerator_count, self._machine_vcpus(machine_type))

    def _machine_vcpus(self, machine_type: str) -> int | None:
        return next(
            (s.vcpus for s in self._skus if s.machine_type == machine_type and profile(s.cloud).accelerator_pins), None
        )

    def _unknown(self, cloud: str, name: str) -> CatalogError:
        ids = {s.sku for s in self._skus if s.cloud == cloud} | {s.machine_type for s in self._skus if s.cloud == cloud}
        return CatalogError(
            f"unknown {cloud} SKU '{name}'{did_you_mean(name, ids)}; `mlstack catalog list --cloud {cloud}` lists them"
        )

    def lookup(
        self,
        cloud: str,
        instance_type: str,
        accelerator_type: str | None = None,
        accelerator_count: int | None = None,
    ) -> Sku:
        """A pinned SKU. On gcp, a machine type with an implied accelerator (g2, a2, a3) gets it filled in."""
        cloud = self._cloud(cloud)
        if profile(cloud).emulated:
            return local_sku()
        if not profile(cloud).accelerator_pins:
            if accelerator_type or accelerator_count:
                raise CatalogError(
                    f"accelerator_type/accelerator_count are Vertex-only; {cloud} SKUs come with their GPUs"
                )
            found = self._index.get((cloud, instance_type)) or next(
                (s for s in self._skus if s.cloud == cloud and s.sku.lower() == instance_type.lower()), None
            )
            if found is None:
                raise self._unknown(cloud, instance_type)
            return found
        return self._lookup_vertex(instance_type, accelerator_type, accelerator_count)

    def _lookup_vertex(self, instance_type: str, accelerator_type: str | None, accelerator_count: int | None) -> Sku:
        machine, id_type, id_count = _parse_vertex_id(instance_type)
        if id_type is not None:
            if (accelerator_type, accelerator_count) not in ((None, None), (id_type, id_count)):
                raise CatalogError(
                    f"'{instance_type}' already names its accelerator; it disagrees with "
                    f"accelerator_type={accelerator_type}, accelerator_count={accelerator_count}"
                )
            accelerator_type, accelerator_count = id_type, id_count
        vcpus = self._machine_vcpus(machine)
        if vcpus is None:
            raise self._unknown("gcp", machine)
        if accelerator_type is None and accelerator_count is None:
            accelerator_type, accelerator_count = self.vertex.implied_accelerator(machine) or (None, None)
        elif accelerator_type is not None and accelerator_count is None:
            accelerator_count = self.vertex.default_count(machine, accelerator_type)
        self.vertex.check(machine, accelerator_type, accelerator_count, vcpus)
        sku_id = machine if accelerator_type is None else f"{machine}/{accelerator_type}x{accelerator_count}"
        found = self._index.get(("gcp", sku_id))
        if found is not None:
            return found
        assert accelerator_type is not None and accelerator_count is not None  # CPU machines are all indexed
        return self._compose_vertex(machine, accelerator_type, accelerator_count)

    def _compose_vertex(self, machine: str, accelerator_type: str, count: int) -> Sku:
        """A valid n1 + GPU combination the table does not list: machine price plus accelerator prices (unknown
        when either is)."""
        base = self._index.get(("gcp", machine))
        accelerator = self.vertex.accelerators[accelerator_type]
        if base is None:
            raise CatalogError(f"{machine} with {accelerator_type} x{count} is valid but has no price in the catalog")
        per_gpu = self.gpus.models[accelerator.gpu].memory_per_gpu_gb
        machine_price, unit_price = base.price_usd_hour, accelerator.price_usd_hour
        price = None if machine_price is None or unit_price is None else round(machine_price + count * unit_price, 5)
        return Sku(
            cloud="gcp",
            sku=f"{machine}/{accelerator_type}x{count}",
            machine_type=machine,
            accelerator_type=accelerator_type,
            accelerator_count=count,
            gpu=accelerator.gpu,
            gpus=count,
            gpu_memory_gb=per_gpu * count,
            gpu_memory_per_gpu_gb=per_gpu,
            vcpus=base.vcpus,
            memory_gb=base.memory_gb,
            price_usd_hour=price,
            price_region=base.price_region,
            price_source=base.price_source,
            price_as_of=base.price_as_of,
            notes=f"composed: {machine} plus {count} × {accelerator_type} from vertex_accelerators.csv",
        )

    def resolve(self, cloud: str, request: object) -> Sku:
        """The cheapest SKU meeting every stated constraint (see resolve.py), or the pinned one."""
        cloud = self._cloud(cloud)
        if profile(cloud).emulated:
            return local_sku()
        instance_type = getattr(request, "instance_type", None)
        if not instance_type:
            return resolve(cloud, (s for s in self._skus if s.cloud == cloud), request, self.gpus)
        sku = self.lookup(
            cloud,
            instance_type,
            getattr(request, "accelerator_type", None),
            getattr(request, "accelerator_count", None),
        )
        if any(getattr(request, name, None) is not None for name in NEUTRAL_FIELDS):
            requested = getattr(request, "gpu", None)
            wanted = self.gpus.expand(requested) if requested is not None else None
            misses, _ = assess(sku, request, wanted, self.gpus)
            if misses:
                raise CatalogError(
                    f"pinned {cloud} SKU {sku.sku} does not satisfy {describe_request(request)}: {', '.join(misses)}"
                )
        return sku

    def equivalent(self, cloud: str, sku_id: str, to_cloud: str) -> Equivalence:
        source = self.lookup(cloud, sku_id)
        to_cloud = self._cloud(to_cloud)
        candidates = [local_sku()] if profile(to_cloud).emulated else [s for s in self._skus if s.cloud == to_cloud]
        return equivalent(source, to_cloud, candidates, self.gpus)


@cache
def get_catalog() -> Catalog:
    return Catalog.load()
