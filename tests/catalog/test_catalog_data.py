"""The data files: complete rows, consistent arithmetic, ids in the documented scheme, every family present."""

from __future__ import annotations

import datetime
import re

from conftest import read_rows

from mlstack.catalog import get_catalog

REQUIRED = (
    "cloud",
    "sku",
    "machine_type",
    "gpus",
    "gpu_memory_gb",
    "gpu_memory_per_gpu_gb",
    "vcpus",
    "memory_gb",
    "price_usd_hour",
    "price_region",
    "price_source",
    "price_as_of",
    "price_confirmed",
)
VENDOR_PAGES = {
    "aws": "https://aws.amazon.com/",
    "gcp": "https://cloud.google.com/",
    "azure": "https://azure.microsoft.com/",
}


def test_there_are_enough_skus_on_every_cloud(rows):
    counts = {cloud: sum(r["cloud"] == cloud for r in rows) for cloud in VENDOR_PAGES}
    assert len(rows) >= 40
    assert all(count >= 10 for count in counts.values()), counts


def test_every_sku_has_every_field_and_a_vendor_source(rows):
    for row in rows:
        missing = [name for name in REQUIRED if not row[name].strip()]
        assert not missing, (row["sku"], missing)
        assert row["price_source"].startswith(VENDOR_PAGES[row["cloud"]]), row["sku"]
        assert row["price_confirmed"] in ("yes", "no"), row["sku"]
        datetime.date.fromisoformat(row["price_as_of"])
        assert float(row["price_usd_hour"]) > 0
        assert int(row["vcpus"]) > 0 and float(row["memory_gb"]) > 0
        if int(row["gpus"]):
            assert row["gpu"], row["sku"]
        else:
            assert not row["gpu"] and float(row["gpu_memory_gb"]) == 0, row["sku"]


def test_total_gpu_memory_is_count_times_per_gpu(rows):
    for row in rows:
        total = int(row["gpus"]) * float(row["gpu_memory_per_gpu_gb"])
        assert float(row["gpu_memory_gb"]) == total, row["sku"]


def test_gpu_names_and_per_gpu_memory_agree_with_gpus_csv(rows):
    models = {g["name"]: float(g["memory_per_gpu_gb"]) for g in read_rows("gpus.csv")}
    for row in rows:
        if row["gpu"]:
            assert models[row["gpu"]] == float(row["gpu_memory_per_gpu_gb"]), row["sku"]


def test_ids_are_unique_and_follow_the_scheme(rows):
    ids = [(r["cloud"], r["sku"]) for r in rows]
    assert len(ids) == len(set(ids))
    for row in rows:
        if row["cloud"] == "aws":
            assert row["sku"].startswith("ml.") and row["sku"] == row["machine_type"]
        elif row["cloud"] == "azure":
            assert row["sku"].startswith("Standard_") and row["sku"] == row["machine_type"]
        elif row["accelerator_type"]:
            assert row["sku"] == f"{row['machine_type']}/{row['accelerator_type']}x{row['accelerator_count']}"
            assert int(row["accelerator_count"]) == int(row["gpus"])
        else:
            assert row["sku"] == row["machine_type"] and row["gpus"] == "0"
        if row["cloud"] != "gcp":
            assert not row["accelerator_type"] and not row["accelerator_count"], row["sku"]


def test_the_issue_families_are_all_present(rows):
    patterns = {
        "aws": [
            r"ml\.g4dn\.",
            r"ml\.g5\.",
            r"ml\.g6\.",
            r"ml\.g6e\.",
            r"ml\.p3\.",
            r"ml\.p4d\.",
            r"ml\.p5\.",
            r"ml\.inf2\.",
            r"ml\.m5\.",
            r"ml\.c5\.",
        ],
        "gcp": [
            r"n1-standard-\d+/NVIDIA_TESLA_T4x",
            r"n1-standard-\d+/NVIDIA_TESLA_V100x",
            r"g2-standard-\d+/NVIDIA_L4x",
            r"a2-highgpu-\dg/NVIDIA_TESLA_A100x",
            r"a2-ultragpu-\dg/NVIDIA_A100_80GBx",
            r"a3-highgpu-\dg/NVIDIA_H100_80GBx",
            r"n1-standard-\d+$",
            r"e2-standard-\d+$",
        ],
        "azure": [
            r"Standard_NC\d+as_T4_v3",
            r"Standard_NV\d+ads_A10_v5",
            r"Standard_NC\d+ads_A100_v4",
            r"Standard_ND96a(m)?sr(_A100)?_v4",
            r"Standard_ND96isr_H100_v5",
            r"Standard_NC\d+adi?s_H100_v5",
            r"Standard_DS\d_v2",
            r"Standard_F\d+s_v2",
        ],
    }
    for cloud, family_patterns in patterns.items():
        ids = [r["sku"] for r in rows if r["cloud"] == cloud]
        for pattern in family_patterns:
            assert any(re.match(pattern, sku) for sku in ids), (cloud, pattern)


def test_issue_anchor_facts(rows):
    by_id = {(r["cloud"], r["sku"]): r for r in rows}

    def shape(cloud, sku):
        r = by_id[(cloud, sku)]
        return r["gpu"], int(r["gpus"]), float(r["gpu_memory_per_gpu_gb"]), int(r["vcpus"]), float(r["memory_gb"])

    assert shape("aws", "ml.g5.xlarge") == ("A10G", 1, 24, 4, 16)
    assert float(by_id[("aws", "ml.g5.xlarge")]["price_usd_hour"]) == 1.408
    assert shape("aws", "ml.g4dn.xlarge") == ("T4", 1, 16, 4, 16)
    assert float(by_id[("aws", "ml.g4dn.xlarge")]["price_usd_hour"]) == 0.736
    assert shape("azure", "Standard_NC4as_T4_v3") == ("T4", 1, 16, 4, 28)
    assert float(by_id[("azure", "Standard_NC4as_T4_v3")]["price_usd_hour"]) == 0.526
    assert shape("azure", "Standard_NC24ads_A100_v4") == ("A100-80GB", 1, 80, 24, 220)
    assert float(by_id[("azure", "Standard_NC24ads_A100_v4")]["price_usd_hour"]) == 3.673
    assert shape("azure", "Standard_ND96isr_H100_v5")[:3] == ("H100-80GB", 8, 80)


def test_listed_n1_gpu_prices_are_machine_plus_accelerators(rows):
    by_id = {(r["cloud"], r["sku"]): r for r in rows}
    unit = {a["accelerator_type"]: float(a["price_usd_hour"]) for a in read_rows("vertex_accelerators.csv")}
    n1_gpu = [r for r in rows if r["cloud"] == "gcp" and r["machine_type"].startswith("n1-") and r["accelerator_type"]]
    assert n1_gpu
    for row in n1_gpu:
        machine = float(by_id[("gcp", row["machine_type"])]["price_usd_hour"])
        expected = machine + int(row["accelerator_count"]) * unit[row["accelerator_type"]]
        assert abs(float(row["price_usd_hour"]) - expected) < 1e-4, row["sku"]


def test_loader_reads_what_the_file_says(rows):
    loaded = {(s.cloud, s.sku): s for s in get_catalog().skus()}
    assert len(loaded) == len(rows)
    for row in rows:
        sku = loaded[(row["cloud"], row["sku"])]
        assert sku.price_usd_hour == float(row["price_usd_hour"])
        assert sku.gpu == (row["gpu"] or None) and sku.gpus == int(row["gpus"])
        assert sku.price_confirmed == (row["price_confirmed"] == "yes")


def test_spec_fields_pin_exactly_the_sku(catalog):
    for sku in catalog.skus():
        fields = sku.spec_fields()
        again = catalog.lookup(
            sku.cloud, fields["instance_type"], fields.get("accelerator_type"), fields.get("accelerator_count")
        )
        assert again == sku
        if sku.cloud != "gcp":
            assert fields == {"instance_type": sku.sku}
