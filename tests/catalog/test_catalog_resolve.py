"""Resolution: specific answers, a brute-force oracle over the raw CSV, errors, determinism, Vertex validity."""

from __future__ import annotations

import itertools
import random
import re
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from mlstack.catalog import Catalog, CatalogError, Request, get_catalog, local_sku
from mlstack.catalog.data import load_gpus, load_vertex_accelerators, load_vertex_rules
from mlstack.catalog.gpus import GpuTable
from mlstack.catalog.vertex import VertexRules

CLOUDS = ("aws", "gcp", "azure")


def oracle(rows, gpu_sets, cloud, request):
    """The answer by hand: filter the raw rows, then order by price and the documented tie-break when every
    fitting row has a price, else by size (GPUs, GPU memory, vCPUs, RAM) and id."""
    asks_gpu = request.gpus != 0 and any(v is not None for v in (request.gpu, request.gpus, request.gpu_memory_gb))
    allowed = gpu_sets[request.gpu] if request.gpu is not None else None
    fits = []
    for row in rows:
        if row["cloud"] != cloud:
            continue
        count = int(row["gpus"])
        if not asks_gpu and count:
            continue
        if asks_gpu:
            if not count:
                continue
            if allowed is not None and row["gpu"] not in allowed:
                continue
            if allowed is None and row["gpu"] == "Inferentia2":
                continue
            if request.gpus is not None and count != request.gpus:
                continue
            if request.gpu_memory_gb is not None and float(row["gpu_memory_gb"]) < request.gpu_memory_gb:
                continue
        if request.vcpus is not None and int(row["vcpus"]) < request.vcpus:
            continue
        if request.memory_gb is not None and float(row["memory_gb"]) < request.memory_gb:
            continue
        fits.append(row)
    if not fits:
        return None
    priced = all(r["price_usd_hour"] for r in fits)

    def key(r):
        size = (int(r["gpus"]), int(r["vcpus"]), float(r["memory_gb"]), r["sku"])
        return (float(r["price_usd_hour"]), *size) if priced else (size[0], float(r["gpu_memory_gb"]), *size[1:])

    return sorted(fits, key=key)[0]["sku"]


def test_one_l4_on_gcp_is_a_g2_standard_4(catalog):
    sku = catalog.resolve("gcp", Request(gpu="L4", gpus=1))
    assert sku.spec_fields() == {
        "instance_type": "g2-standard-4",
        "accelerator_type": "NVIDIA_L4",
        "accelerator_count": 1,
    }


def test_one_t4_on_azure_is_the_nc4as(catalog):
    assert catalog.resolve("azure", Request(gpu="t4", gpus=1)).sku == "Standard_NC4as_T4_v3"


def test_single_gpu_with_40_gib_on_aws(catalog, rows, gpu_sets):
    request = Request(gpus=1, gpu_memory_gb=40)
    sku = catalog.resolve("aws", request)
    assert sku.gpus == 1 and sku.gpu_memory_gb >= 40
    assert sku.sku == oracle(rows, gpu_sets, "aws", request) == "ml.g6e.xlarge"


def test_a_cpu_request_gets_a_cpu_sku(catalog):
    for cloud in CLOUDS:
        sku = catalog.resolve(cloud, Request(vcpus=4, memory_gb=16))
        assert sku.gpus == 0 and sku.vcpus >= 4 and sku.memory_gb >= 16
    assert catalog.resolve("aws", Request(vcpus=4, memory_gb=16)).sku == "ml.m5.xlarge"
    assert catalog.resolve("aws", Request(gpus=0, vcpus=2)).gpus == 0


def test_inferentia_only_when_named(catalog):
    assert catalog.resolve("aws", Request(gpu="inf2", gpus=1)).sku == "ml.inf2.xlarge"
    assert catalog.resolve("aws", Request(gpus=1, gpu_memory_gb=30)).gpu != "Inferentia2"


@pytest.mark.parametrize("cloud", CLOUDS)
def test_resolution_agrees_with_a_brute_force_oracle(catalog, rows, gpu_sets, cloud):
    names = [
        None,
        "T4",
        "L4",
        "A10G",
        "A10",
        "L40S",
        "V100",
        "A100",
        "a100-80gb",
        "H100",
        "inference-24gb",
        "Inferentia2",
    ]
    grid = itertools.product(names, (None, 1, 2, 4, 8), (None, 24, 80), (None, 8, 48), (None, 64))
    checked = 0
    for gpu, gpus, gpu_memory, vcpus, memory in grid:
        request = Request(gpu=gpu, gpus=gpus, gpu_memory_gb=gpu_memory, vcpus=vcpus, memory_gb=memory)
        expected = oracle(rows, gpu_sets, cloud, request)
        try:
            got = catalog.resolve(cloud, request).sku
        except CatalogError as error:
            assert expected is None, (request, expected, str(error))
            assert str(error).startswith(f"no {cloud} SKU satisfies")
        else:
            assert got == expected, request
            checked += 1
    assert checked > 50


def test_every_vertex_combination_the_resolver_emits_is_valid(catalog, gpu_sets):
    rules = VertexRules(load_vertex_rules(), load_vertex_accelerators())
    grid = itertools.product([None, *gpu_sets], (None, 1, 2, 4, 8), (None, 48, 160), (None, 12, 96), (None, 100))
    emitted = set()
    for gpu, gpus, gpu_memory, vcpus, memory in grid:
        try:
            sku = catalog.resolve(
                "gcp", Request(gpu=gpu, gpus=gpus, gpu_memory_gb=gpu_memory, vcpus=vcpus, memory_gb=memory)
            )
        except CatalogError:
            continue
        emitted.add(sku.sku)
        fields = sku.spec_fields()
        rules.check(fields["instance_type"], fields.get("accelerator_type"), fields.get("accelerator_count"), sku.vcpus)
    assert len(emitted) > 20


def test_an_impossible_request_names_three_candidates_and_their_misses(catalog, rows, gpu_sets):
    request = Request(gpu="H100", gpus=3)
    assert oracle(rows, gpu_sets, "azure", request) is None
    with pytest.raises(CatalogError) as caught:
        catalog.resolve("azure", request)
    message = str(caught.value)
    assert message.startswith("no azure SKU satisfies gpu=H100, gpus=3; closest: ")
    assert len(caught.value.candidates) == 3
    for candidate in caught.value.candidates:
        assert candidate.sku.cloud == "azure" and candidate.misses
        assert candidate.sku.sku in message and candidate.misses[0] in message
    assert any("not 3" in miss for c in caught.value.candidates for miss in c.misses)


def test_unknown_gpu_suggests_a_name(catalog):
    with pytest.raises(CatalogError, match=r"unknown GPU 'A10OG' \(did you mean 'a10g'\?\)"):
        catalog.resolve("aws", Request(gpu="A10OG"))


def test_pinned_sku_is_looked_up_and_checked(catalog):
    assert catalog.resolve("aws", Request(instance_type="ml.g5.xlarge")).gpu == "A10G"
    assert catalog.resolve("gcp", Request(instance_type="g2-standard-8")).sku == "g2-standard-8/NVIDIA_L4x1"
    with pytest.raises(CatalogError, match=r"unknown azure SKU 'Standard_NC4as_T4' \(did you mean"):
        catalog.resolve("azure", Request(instance_type="Standard_NC4as_T4"))
    with pytest.raises(CatalogError, match="does not satisfy gpu=L4"):
        catalog.resolve("aws", Request(instance_type="ml.g5.xlarge", gpu="L4"))
    with pytest.raises(CatalogError, match="NVIDIA_L4 x1"):
        catalog.resolve("gcp", Request(instance_type="g2-standard-8", accelerator_type="NVIDIA_TESLA_T4"))


def _priced(skus, accelerators, machine_price, unit_price):
    """The catalog with n1-standard-2 and the T4 given prices (as if read on the page), the rest as loaded."""
    skus = [replace(s, price_usd_hour=machine_price) if s.sku == "n1-standard-2" else s for s in skus]
    accelerators = [
        replace(a, price_usd_hour=unit_price) if a.accelerator_type == "NVIDIA_TESLA_T4" else a for a in accelerators
    ]
    return Catalog(skus, GpuTable(load_gpus()), VertexRules(load_vertex_rules(), accelerators))


def test_a_valid_unlisted_n1_combination_is_priced_from_its_parts(catalog):
    machine = catalog.lookup("gcp", "n1-standard-2")
    composed = catalog.lookup("gcp", "n1-standard-2", "NVIDIA_TESLA_T4", 2)
    assert composed.gpus == 2 and composed.gpu_memory_gb == 32 and composed.vcpus == machine.vcpus
    assert composed.price_source == machine.price_source
    skus, accelerators = catalog.skus(), load_vertex_accelerators()
    priced = _priced(skus, accelerators, 0.25, 0.5).lookup("gcp", "n1-standard-2", "NVIDIA_TESLA_T4", 2)
    assert priced.price_usd_hour == pytest.approx(0.25 + 2 * 0.5) and priced.price_confirmed
    # either part unknown: the whole is unknown, never the known part alone
    for machine_price, unit_price in ((None, 0.5), (0.25, None)):
        part = _priced(skus, accelerators, machine_price, unit_price)
        unknown = part.lookup("gcp", "n1-standard-2", "NVIDIA_TESLA_T4", 2)
        assert unknown.price_usd_hour is None and not unknown.price_confirmed


def test_resolution_is_deterministic_whatever_the_row_order(catalog):
    requests = [Request(gpu="T4", gpus=1), Request(vcpus=2), Request(gpu="A100", gpus=8), Request(gpus=4)]
    expected = [[catalog.resolve(c, r) for r in requests] for c in CLOUDS]
    skus = catalog.skus()
    for seed in range(5):
        shuffled = skus[:]
        random.Random(seed).shuffle(shuffled)
        other = Catalog(shuffled, GpuTable(load_gpus()), VertexRules(load_vertex_rules(), load_vertex_accelerators()))
        assert [[other.resolve(c, r) for r in requests] for c in CLOUDS] == expected


def test_ties_on_price_go_to_the_smaller_machine_and_unknown_prices_to_size():
    gpus = GpuTable(load_gpus())
    rules = VertexRules(load_vertex_rules(), load_vertex_accelerators())
    base = dict(
        cloud="aws",
        machine_type="",
        accelerator_type=None,
        accelerator_count=None,
        gpu=None,
        gpus=0,
        gpu_memory_gb=0.0,
        gpu_memory_per_gpu_gb=0.0,
        price_usd_hour=1.0,
        price_region="r",
        price_source="s",
        price_as_of="2026-01-01",
    )
    from mlstack.catalog import Sku

    big = Sku(sku="ml.a", vcpus=8, memory_gb=32, **base)
    small = Sku(sku="ml.b", vcpus=4, memory_gb=32, **base)
    same_b = Sku(sku="ml.d", vcpus=4, memory_gb=16, **base)
    same_a = Sku(sku="ml.c", vcpus=4, memory_gb=16, **base)
    assert Catalog([big, small, same_b, same_a], gpus, rules).resolve("aws", Request(vcpus=2)).sku == "ml.c"
    # all priced: the cheapest wins although it is bigger
    cheap_big = replace(big, price_usd_hour=0.5)
    assert Catalog([cheap_big, small, same_b], gpus, rules).resolve("aws", Request(vcpus=2)).sku == "ml.a"
    # one price unknown: prices cannot be compared, the smallest machine wins, not the one with a figure
    unknown_small = replace(same_b, price_usd_hour=None)
    chosen = Catalog([cheap_big, small, unknown_small], gpus, rules).resolve("aws", Request(vcpus=2))
    assert chosen.sku == "ml.d" and chosen.price_usd_hour is None


def test_local_is_this_machine_and_free(catalog):
    sku = catalog.resolve("local", Request(gpu="L4", gpus=1))
    assert sku == local_sku() and sku.price_usd_hour == 0 and sku.vcpus >= 1
    with pytest.raises(CatalogError, match="did you mean 'gcp'"):
        catalog.resolve("gpc", Request(vcpus=1))


def test_the_example_specs_gpu_comment_says_what_each_cloud_resolves_to():
    """specs/fraud-detection.yaml names the GPU each cloud serves gpu-inference on; that must stay true."""
    path = Path(__file__).resolve().parents[2] / "specs" / "fraud-detection.yaml"
    text = path.read_text()
    said = re.search(r"# any 24 GB inference GPU, the cheapest \(else smallest\) that fits: (.+)", text).group(1)
    claimed = dict(reversed(part.split(" on ")) for part in said.split(", "))
    assert set(claimed) == {"SageMaker", "Vertex", "Azure"}
    profile = yaml.safe_load(text)["compute"]["gpu-inference"]
    for vendor, cloud in (("SageMaker", "aws"), ("Vertex", "gcp"), ("Azure", "azure")):
        assert get_catalog().resolve(cloud, Request(**profile)).gpu == claimed[vendor], vendor
