"""Migration counterparts: same model where the target has it, else the nearest class; fidelity and price delta."""

from __future__ import annotations

import pytest

from mlstack.catalog import CatalogError

CLOUDS = ("aws", "gcp", "azure")


def test_g5_2xlarge_maps_to_an_l4_on_gcp_and_an_a10_on_azure(catalog):
    source = catalog.lookup("aws", "ml.g5.2xlarge")
    to_gcp = catalog.equivalent("aws", "ml.g5.2xlarge", "gcp")
    assert to_gcp.target.spec_fields() == {
        "instance_type": "g2-standard-8",
        "accelerator_type": "NVIDIA_L4",
        "accelerator_count": 1,
    }
    assert to_gcp.fidelity == "same_class"
    if source.price_confirmed and to_gcp.target.price_confirmed:
        assert to_gcp.price_delta_usd_hour == pytest.approx(to_gcp.target.price_usd_hour - source.price_usd_hour)
    else:  # an unknown price leaves the difference unknown, never a difference against zero
        assert to_gcp.price_delta_usd_hour is None
    to_azure = catalog.equivalent("aws", "ml.g5.2xlarge", "azure")
    assert (to_azure.target.gpu, to_azure.target.gpus) == ("A10", 1)
    assert to_azure.fidelity == "same_class"
    assert "vCPUs 8 → 36" in to_azure.differences


def test_the_same_model_and_count_is_exact(catalog):
    pairs = [
        ("aws", "ml.g4dn.xlarge", "azure", "Standard_NC4as_T4_v3"),
        ("aws", "ml.p4d.24xlarge", "gcp", "a2-highgpu-8g/NVIDIA_TESLA_A100x8"),
        ("aws", "ml.p5.48xlarge", "azure", "Standard_ND96isr_H100_v5"),
        ("azure", "Standard_NC24ads_A100_v4", "gcp", "a2-ultragpu-1g/NVIDIA_A100_80GBx1"),
        ("aws", "ml.g4dn.12xlarge", "azure", "Standard_NC64as_T4_v3"),
    ]
    for cloud, sku, to_cloud, expected in pairs:
        mapped = catalog.equivalent(cloud, sku, to_cloud)
        assert (mapped.target.sku, mapped.fidelity) == (expected, "exact"), sku


def test_exact_model_candidates_win_at_equal_count(catalog):
    for cloud in CLOUDS:
        for sku in catalog.skus(cloud=cloud):
            if not sku.gpus:
                continue
            for to_cloud in CLOUDS:
                same = [s for s in catalog.skus(cloud=to_cloud) if s.gpu == sku.gpu and s.gpus == sku.gpus]
                if same:
                    mapped = catalog.equivalent(cloud, sku.sku, to_cloud)
                    assert mapped.fidelity == "exact" and mapped.target.gpus == sku.gpus, (sku.sku, to_cloud)


def test_a_single_gpu_does_not_map_to_an_eight_gpu_box(catalog):
    mapped = catalog.equivalent("gcp", "a3-highgpu-1g", "azure")
    assert mapped.target.sku == "Standard_NC40ads_H100_v5" and mapped.fidelity == "same_class"


def test_a_gpu_the_target_lacks_maps_to_another_class(catalog):
    mapped = catalog.equivalent("aws", "ml.p3.2xlarge", "azure")
    assert mapped.fidelity == "different_class" and mapped.target.gpus == 1
    inferentia = catalog.equivalent("aws", "ml.inf2.xlarge", "gcp")
    assert inferentia.fidelity == "different_class" and inferentia.target.gpu == "L4"


def test_gpu_skus_never_map_to_inferentia(catalog):
    for sku in catalog.skus(cloud="gcp") + catalog.skus(cloud="azure"):
        if sku.gpus:
            assert catalog.equivalent(sku.cloud, sku.sku, "aws").target.gpu != "Inferentia2"


def test_cpu_skus_map_to_the_closest_cpu_shape(catalog):
    mapped = catalog.equivalent("gcp", "e2-standard-4", "aws")
    assert (mapped.target.sku, mapped.fidelity) == ("ml.m5.xlarge", "exact")
    for cloud in CLOUDS:
        for sku in catalog.skus(cloud=cloud):
            if sku.gpus:
                continue
            for to_cloud in CLOUDS:
                target = catalog.equivalent(cloud, sku.sku, to_cloud).target
                assert target.gpus == 0
                same_shape = [
                    s
                    for s in catalog.skus(cloud=to_cloud)
                    if not s.gpus and (s.vcpus, s.memory_gb) == (sku.vcpus, sku.memory_gb)
                ]
                if same_shape:
                    assert (target.vcpus, target.memory_gb) == (sku.vcpus, sku.memory_gb)


def test_unknown_source_sku_suggests_one(catalog):
    with pytest.raises(CatalogError, match=r"did you mean 'ml\.g5\.2xlarge'"):
        catalog.equivalent("aws", "ml.g5.2xlarg", "gcp")


def test_as_dict_carries_what_a_migration_needs(catalog):
    as_dict = catalog.equivalent("aws", "ml.g5.xlarge", "gcp").as_dict()
    assert as_dict["to"]["instance_type"] == "g2-standard-4"
    assert as_dict["to"]["accelerator_type"] == "NVIDIA_L4"
    assert as_dict["fidelity"] == "same_class"
    source, target = catalog.lookup("aws", "ml.g5.xlarge"), catalog.lookup("gcp", "g2-standard-4")
    known = source.price_confirmed and target.price_confirmed
    expected = round(target.price_usd_hour - source.price_usd_hour, 5) if known else None
    assert as_dict["price_delta_usd_hour"] == expected and as_dict["price_usd_hour"] == target.price_usd_hour


def test_price_differences_need_both_prices_and_never_weigh_an_unknown_one(catalog):
    from dataclasses import replace

    from mlstack.catalog.equivalence import mismatches, price_delta

    source, target = catalog.lookup("aws", "ml.g5.xlarge"), catalog.lookup("gcp", "g2-standard-4")
    cheap, dear = replace(source, price_usd_hour=1.0), replace(target, price_usd_hour=2.0)
    assert price_delta(cheap, dear) == 1.0
    assert [m for m in mismatches(cheap, dear) if m.startswith("price")] == [
        "price $1/h → $2/h (+$1.00/h per instance)"
    ]
    for a, b in ((cheap, replace(dear, price_usd_hour=None)), (replace(cheap, price_usd_hour=None), dear)):
        assert price_delta(a, b) is None
        assert not [m for m in mismatches(a, b) if m.startswith("price")]
