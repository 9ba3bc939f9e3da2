"""Batch jobs in `mlstack diff`: priced per run hour (runs in a month of the cron × expected duration ×
instances × the SKU's on-demand price), shown as their own rows, and on-demand jobs said not estimated."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from mlstack.catalog import Request, get_catalog
from mlstack.review.cost import NOT_ESTIMATED, compare
from tests.cli.conftest import mlstack
from tests.review.conftest import resolved, small

JOB = {
    "name": "nightly",
    "model": {"group": "ranker", "alias": "champion"},
    "input": {"uri": "s3://shop-data/users/"},
    "output": "s3://shop-data/scores/",
    "compute": {"vcpus": 8, "memory_gb": 32},
    "instance_count": 3,
    "schedule": "0 2 * * *",
    "expected_duration": "2h",
}


def with_job(**changes: object) -> dict:
    spec = small()
    spec["batch_jobs"] = [{**JOB, **changes}]
    return spec


@pytest.mark.usefixtures("priced")
def test_a_scheduled_job_is_priced_per_run_hour() -> None:
    hourly = get_catalog().resolve("aws", Request(vcpus=8, memory_gb=32)).price_usd_hour
    report = compare(resolved(small()), resolved(with_job()), {})
    (change,) = report.endpoints
    assert (change.kind, change.name, change.base) == ("batch_job", "nightly", None)
    expected = round(30 * 2 * 3 * hourly, 2)  # 30 nightly runs × 2 h × 3 instances
    assert (change.head.low, change.head.high) == (expected, expected)
    assert change.head.shape.startswith("30 runs × 2 h × 3 × ml.")
    assert report.delta == (expected, expected)
    # hourly instead of nightly: 24 times the runs, 24 times the cost
    hourly_report = compare(resolved(with_job()), resolved(with_job(schedule="0 * * * *")), {})
    (more,) = hourly_report.endpoints
    assert more.delta_low == round(720 * 2 * 3 * hourly, 2) - expected


@pytest.mark.usefixtures("unpriced")
def test_a_job_on_an_unknown_price_is_not_estimated_but_its_growth_is_known() -> None:
    report = compare(resolved(small()), resolved(with_job()), {})
    (change,) = report.endpoints
    assert (change.head.low, change.head.high) == (None, None) and report.delta == (None, None)
    # hourly instead of nightly on the same SKU: 24 times the run hours, whatever the price
    hourly = compare(resolved(with_job()), resolved(with_job(schedule="0 * * * *")), {})
    (more,) = hourly.endpoints
    assert more.delta_low is None and more.ratios() == (24.0, 24.0)


@pytest.mark.usefixtures("priced")
def test_an_on_demand_job_costs_nothing_estimated_and_says_so() -> None:
    spec = with_job()
    del spec["batch_jobs"][0]["schedule"]
    report = compare(resolved(small()), resolved(spec), {})
    (change,) = report.endpoints
    assert change.head.low == 0 and "on demand" in change.head.shape
    assert "batch jobs without a schedule" in NOT_ESTIMATED


def test_mlstack_diff_shows_the_batch_job_with_its_cost(tmp_path: Path) -> None:
    (tmp_path / "base.yaml").write_text(yaml.safe_dump(small(), sort_keys=False))
    (tmp_path / "head.yaml").write_text(yaml.safe_dump(with_job(), sort_keys=False))
    result = mlstack("diff", "base.yaml", "head.yaml", "--format", "json", cwd=tmp_path)
    assert result.returncode == 2, result.stderr  # 2: there are changes
    report = json.loads(result.stdout)
    (job,) = [c for c in report["cost"]["endpoints"] if c.get("batch_job") == "nightly"]
    assert job["base"] is None and job["head"]["at_min"] == job["delta"]["at_min"]
    known = get_catalog().resolve("aws", Request(vcpus=8, memory_gb=32)).price_usd_hour is not None
    assert job["head"]["at_min"] > 0 if known else job["head"]["at_min"] is None  # the CLI reads the real catalog
    assert any("nightly" in str(c) and "batch" in str(c) for c in report["summary"]), report["summary"]
    markdown = mlstack("diff", "base.yaml", "head.yaml", "--format", "markdown", cwd=tmp_path).stdout
    assert "batch job nightly" in markdown
