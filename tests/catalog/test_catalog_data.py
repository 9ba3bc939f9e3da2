"""The data files: complete rows, consistent arithmetic, ids in the documented scheme, every family present."""

from __future__ import annotations

import datetime
import re

import pytest
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
    "price_region",
    "price_source",
    "price_as_of",
    "price_status",
)
# The published price page of what each cloud bills an ML serving node: SageMaker real-time inference,
# Vertex AI prediction (not Compute Engine), the Linux VM pay-as-you-go rate that Azure ML bills.
VENDOR_PAGES = {
    "aws": "https://aws.amazon.com/sagemaker/pricing/",
    "gcp": "https://cloud.google.com/vertex-ai/pricing",
    "azure": "https://azure.microsoft.com/en-us/pricing/details/virtual-machines/linux/",
}


def test_there_are_enough_skus_on_every_cloud(rows):
    counts = {cloud: sum(r["cloud"] == cloud for r in rows) for cloud in VENDOR_PAGES}
    assert len(rows) >= 40
    assert all(count >= 10 for count in counts.values()), counts


def test_every_sku_has_every_field_and_a_vendor_source(rows):
    for row in rows:
        missing = [name for name in REQUIRED if not row[name].strip()]
        assert not missing, (row["sku"], missing)
        assert row["price_source"] == VENDOR_PAGES[row["cloud"]], row["sku"]
        datetime.date.fromisoformat(row["price_as_of"])
        assert int(row["vcpus"]) > 0 and float(row["memory_gb"]) > 0
        if int(row["gpus"]):
            assert row["gpu"], row["sku"]
        else:
            assert not row["gpu"] and float(row["gpu_memory_gb"]) == 0, row["sku"]


def test_every_price_is_read_on_the_vendor_page_or_unknown(rows):
    """No third state: a figure is confirmed (read on the page, dated) or absent; never 'unconfirmed'."""
    accelerators = read_rows("vertex_accelerators.csv")
    for row in [*rows, *accelerators]:
        name = row.get("sku") or row["accelerator_type"]
        assert row["price_status"] in ("confirmed", "unknown"), name
        assert (row["price_status"] == "confirmed") == bool(row["price_usd_hour"]), name
        if row["price_usd_hour"]:
            assert float(row["price_usd_hour"]) > 0, name
        assert datetime.date.fromisoformat(row["price_as_of"]) <= datetime.date(2026, 12, 3), name
    for row in accelerators:
        assert row["price_source"] == VENDOR_PAGES["gcp"], row["accelerator_type"]


def test_a_row_whose_status_and_price_disagree_is_refused(tmp_path, monkeypatch):
    from mlstack.catalog import data

    columns = ",".join(read_rows("skus.csv")[0])
    row = next(r for r in read_rows("skus.csv") if r["sku"] == "ml.g5.xlarge")
    broken = {**row, "price_status": "confirmed", "price_usd_hour": ""}
    (tmp_path / "skus.csv").write_text(columns + "\n" + ",".join(f'"{v}"' for v in broken.values()) + "\n")
    monkeypatch.setattr(data, "DATA_DIR", tmp_path)
    with pytest.raises(ValueError, match=re.escape("ml.g5.xlarge: price_status 'confirmed' with price ''")):
        data.load_skus()


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
    assert shape("aws", "ml.g4dn.xlarge") == ("T4", 1, 16, 4, 16)
    assert shape("azure", "Standard_NC4as_T4_v3") == ("T4", 1, 16, 4, 28)
    assert shape("azure", "Standard_NC24ads_A100_v4") == ("A100-80GB", 1, 80, 24, 220)
    assert shape("azure", "Standard_ND96isr_H100_v5")[:3] == ("H100-80GB", 8, 80)


def test_listed_n1_gpu_prices_are_machine_plus_accelerators(rows):
    """Vertex bills an n1 node as machine + accelerators: a listed n1+GPU price is that sum, and is known
    only when both parts are."""
    by_id = {(r["cloud"], r["sku"]): r for r in rows}
    unit = {a["accelerator_type"]: a["price_usd_hour"] for a in read_rows("vertex_accelerators.csv")}
    n1_gpu = [r for r in rows if r["cloud"] == "gcp" and r["machine_type"].startswith("n1-") and r["accelerator_type"]]
    assert n1_gpu
    for row in n1_gpu:
        machine, accelerator = by_id[("gcp", row["machine_type"])]["price_usd_hour"], unit[row["accelerator_type"]]
        if not (machine and accelerator):
            assert not row["price_usd_hour"], row["sku"]
            continue
        expected = float(machine) + int(row["accelerator_count"]) * float(accelerator)
        assert abs(float(row["price_usd_hour"]) - expected) < 1e-4, row["sku"]


def test_loader_reads_what_the_file_says(rows):
    loaded = {(s.cloud, s.sku): s for s in get_catalog().skus()}
    assert len(loaded) == len(rows)
    for row in rows:
        sku = loaded[(row["cloud"], row["sku"])]
        assert sku.price_usd_hour == (float(row["price_usd_hour"]) if row["price_usd_hour"] else None)
        assert sku.gpu == (row["gpu"] or None) and sku.gpus == int(row["gpus"])
        assert sku.price_confirmed == (row["price_status"] == "confirmed")
        assert (sku.price_source, sku.price_as_of) == (row["price_source"], row["price_as_of"])


def test_spec_fields_pin_exactly_the_sku(catalog):
    for sku in catalog.skus():
        fields = sku.spec_fields()
        again = catalog.lookup(
            sku.cloud, fields["instance_type"], fields.get("accelerator_type"), fields.get("accelerator_count")
        )
        assert again == sku
        if sku.cloud != "gcp":
            assert fields == {"instance_type": sku.sku}
