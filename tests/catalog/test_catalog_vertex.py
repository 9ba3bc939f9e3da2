"""Vertex validity: the combinations FACTS.md lists are accepted, everything else is refused with the choices."""

from __future__ import annotations

import itertools

import pytest

from mlstack.catalog import CatalogError

# FACTS.md, written out independently of vertex_rules.csv.
L4 = {
    "g2-standard-4": 1,
    "g2-standard-8": 1,
    "g2-standard-12": 1,
    "g2-standard-16": 1,
    "g2-standard-32": 1,
    "g2-standard-24": 2,
    "g2-standard-48": 4,
    "g2-standard-96": 8,
}
FIXED = {
    f"{series}-{n}g": (accelerator, n)
    for series, accelerator in (
        ("a2-highgpu", "NVIDIA_TESLA_A100"),
        ("a2-ultragpu", "NVIDIA_A100_80GB"),
        ("a3-highgpu", "NVIDIA_H100_80GB"),
    )
    for n in (1, 2, 4, 8)
}
N1_COUNTS = {"NVIDIA_TESLA_T4": {1, 2, 4}, "NVIDIA_TESLA_V100": {1, 2, 4, 8}}
ACCELERATORS = [
    "NVIDIA_L4",
    "NVIDIA_TESLA_T4",
    "NVIDIA_TESLA_V100",
    "NVIDIA_TESLA_A100",
    "NVIDIA_A100_80GB",
    "NVIDIA_H100_80GB",
]


def expected_valid(machine: str, accelerator: str, count: int) -> bool:
    if machine in L4:
        return accelerator == "NVIDIA_L4" and count == L4[machine]
    if machine in FIXED:
        return FIXED[machine] == (accelerator, count)
    if machine.startswith("n1-"):
        return count in N1_COUNTS.get(accelerator, set())
    return False


@pytest.mark.parametrize("machine", [*L4, *FIXED, "n1-standard-32", "e2-standard-8"])
def test_rules_match_the_facts_for_every_type_and_count(catalog, machine):
    for accelerator, count in itertools.product(ACCELERATORS, (1, 2, 4, 8)):
        valid = expected_valid(machine, accelerator, count)
        try:
            catalog.vertex.check(machine, accelerator, count)
        except CatalogError:
            assert not valid, (machine, accelerator, count)
        else:
            assert valid, (machine, accelerator, count)


def test_accelerator_machines_refuse_to_run_without_one(catalog):
    for machine in [*L4, *FIXED]:
        with pytest.raises(CatalogError, match="needs an accelerator"):
            catalog.vertex.check(machine, None, None)
    catalog.vertex.check("n1-standard-8", None, None)
    catalog.vertex.check("e2-standard-4", None, None)


def test_errors_name_the_valid_choices(catalog):
    with pytest.raises(CatalogError) as wrong_type:
        catalog.check_vertex("g2-standard-8", "NVIDIA_TESLA_T4", 1)
    assert "NVIDIA_L4 x1" in str(wrong_type.value) and "n1-*" in str(wrong_type.value)
    with pytest.raises(CatalogError) as wrong_count:
        catalog.check_vertex("g2-standard-24", "NVIDIA_L4", 1)
    assert "x2" in str(wrong_count.value)
    with pytest.raises(CatalogError) as wrong_count_n1:
        catalog.check_vertex("n1-standard-8", "NVIDIA_TESLA_T4", 3)
    assert "x1, x2 or x4" in str(wrong_count_n1.value)
    with pytest.raises(CatalogError) as typo:
        catalog.check_vertex("g2-standard-8", "NVIDIA_L5", 1)
    assert "did you mean 'NVIDIA_L4'" in str(typo.value)


def test_v100_vcpu_limits_apply_to_n1_machines(catalog):
    # Compute Engine: one V100 allows at most 12 vCPUs, so n1-standard-16 needs two or more.
    catalog.check_vertex("n1-standard-8", "NVIDIA_TESLA_V100", 1)
    with pytest.raises(CatalogError, match="NVIDIA_TESLA_V100 x2, x4 or x8"):
        catalog.check_vertex("n1-standard-16", "NVIDIA_TESLA_V100", 1)


def test_every_listed_gcp_sku_is_a_valid_vertex_combination(catalog):
    for sku in catalog.skus(cloud="gcp"):
        assert expected_valid(sku.machine_type, sku.accelerator_type, sku.accelerator_count) or sku.gpus == 0
        catalog.check_vertex(sku.machine_type, sku.accelerator_type, sku.accelerator_count)
