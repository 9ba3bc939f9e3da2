"""Shared fixtures: the catalog under test, and the raw CSV rows read independently of its loader."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

import mlstack.catalog
from mlstack.catalog import Catalog, get_catalog

DATA = Path(mlstack.catalog.__file__).parent


def read_rows(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return get_catalog()


@pytest.fixture(scope="session")
def rows() -> list[dict[str, str]]:
    return read_rows("skus.csv")


@pytest.fixture(scope="session")
def gpu_sets() -> dict[str, set[str]]:
    """What each request name should cover, written out by hand from the issue and vendor docs."""
    return {
        "T4": {"T4"},
        "t4": {"T4"},
        "NVIDIA_TESLA_T4": {"T4"},
        "L4": {"L4"},
        "A10G": {"A10G"},
        "A10": {"A10"},
        "L40S": {"L40S"},
        "V100": {"V100"},
        "A100": {"A100-40GB", "A100-80GB"},
        "a100-80gb": {"A100-80GB"},
        "A100-40GB": {"A100-40GB"},
        "H100": {"H100-80GB", "H100-NVL"},
        "h100-80gb": {"H100-80GB"},
        "inference-24gb": {"A10G", "A10", "L4"},
        "inference-16gb": {"T4"},
        "Inferentia2": {"Inferentia2"},
    }
