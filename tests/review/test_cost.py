"""Monthly cost from the catalog: price × instances × 730 h per variant, autoscaled endpoints at their
minimum and maximum, per endpoint and in total, with where each price comes from; nothing estimated on a
price the catalog does not know.

The arithmetic runs on a catalog given test figures (`priced`: a price per vCPU and GiB, as if read on the
vendor's page); what an unknown price does runs on one with every price unknown (`unpriced`). Neither
depends on which prices the shipped catalog has confirmed."""

from __future__ import annotations

import pytest

from mlstack.catalog import Request, get_catalog
from mlstack.review.cost import Limits, compare, money, span
from mlstack.review.risks import assess
from tests.review.conftest import resolved, small


def price(**request: object) -> float:
    found = get_catalog().resolve("aws", Request(**request)).price_usd_hour  # type: ignore[arg-type]
    assert found is not None
    return found


@pytest.mark.usefixtures("priced")
def test_fixed_count_against_autoscaling_range() -> None:
    head = small()
    head["endpoints"][0]["autoscaling"] = {"min": 1, "max": 5, "target": 100}
    report = compare(resolved(small()), resolved(head), {})
    hourly = price(vcpus=2, memory_gb=4)
    [change] = report.endpoints
    assert (change.base.low, change.base.high) == (round(hourly * 2 * 730, 2),) * 2
    assert (change.head.low, change.head.high) == (round(hourly * 1 * 730, 2), round(hourly * 5 * 730, 2))
    assert (change.delta_low, change.delta_high) == (
        round(round(hourly * 730, 2) - round(hourly * 2 * 730, 2), 2),
        round(round(hourly * 5 * 730, 2) - round(hourly * 2 * 730, 2), 2),
    )
    assert change.head.shape == "1–5 × ml.c5.large" and change.base.shape == "2 × ml.c5.large"
    assert report.delta == (change.delta_low, change.delta_high)
    [source] = report.prices
    assert source.as_dict()["source"].startswith("https://") and source.as_dict()["usd_per_hour"] == hourly
    assert source.as_dict()["status"] == "confirmed" and report.unpriced == ()


@pytest.mark.usefixtures("priced")
def test_every_variant_counts_and_serverless_is_not_estimated() -> None:
    head = small()
    head["endpoints"].append(
        {
            "name": "side",
            "model": {"group": "ranker", "alias": "champion"},
            "serverless": {"memory_gb": 2, "max_concurrency": 5, "provisioned_concurrency": 2},
        }
    )
    head["endpoints"][0]["strategy"] = {
        "type": "shadow",
        "challenger": {"group": "ranker", "alias": "challenger"},
        "percent": 50,
        "compute": "large",
    }
    report = compare(resolved(small()), resolved(head), {})
    small_price, large_price = price(vcpus=2, memory_gb=4), price(vcpus=8, memory_gb=32)
    by_name = {c.name: c for c in report.endpoints}
    assert by_name["rank"].head.low == round(round(small_price * 2 * 730, 2) + round(large_price * 2 * 730, 2), 2)
    assert (by_name["side"].base, by_name["side"].head.low, by_name["side"].head.shape) == (
        None,
        0,
        "serverless 2 GiB × up to 5 concurrent (per GB-second), 2 provisioned (billed around the clock)",
    )


@pytest.mark.usefixtures("priced")
def test_renamed_endpoint_costs_nothing_more_and_removed_one_saves() -> None:
    head = small()
    head["endpoints"][0]["name"] = "rank-v2"
    head["monitors"][0]["endpoint"] = "rank-v2"
    renamed = compare(resolved(small()), resolved(head), {"rank-v2": "rank"})
    assert renamed.endpoints == () and renamed.delta == (0, 0)
    head["endpoints"], head["monitors"] = [], []
    del head["environments"]
    removed = compare(resolved(small()), resolved(head), {})
    assert removed.delta == (-removed.base_total[0], -removed.base_total[1]) and removed.delta[0] < 0


def test_the_local_target_is_free_and_lists_no_prices() -> None:
    report = compare(None, resolved(small(), target="local"), {})
    assert report.head_total == (0, 0) and report.prices == ()


def test_money() -> None:
    assert (money(1234.5), money(-3, signed=True), money(3, signed=True), money(0, signed=True)) == (
        "$1,234.50",
        "−$3.00",
        "+$3.00",
        "±$0.00",
    )
    assert span(1, 1) == "$1.00" and span(1, 3) == "$1.00 – $3.00"
    # a change of a range says which end moved how, never "+$1,644.98 – ±$0.00"
    assert span(1644.98, 0, signed=True) == "+$1,644.98 at min, ±$0.00 at max"
    assert span(-2, 3, signed=True) == "−$2.00 at min, +$3.00 at max"


def cost_risks(base: dict, head: dict, limits: Limits = Limits(), env: str | None = "prod") -> list:
    b, h = resolved(base, env=env), resolved(head, env=env)
    return [r for r in assess(b, h, [], [], [], [], compare(b, h, {}), limits) if r.rule == "cost"]


@pytest.mark.usefixtures("priced")
def test_more_than_doubling_in_production_is_high_and_names_the_endpoint() -> None:
    head = small()
    head["endpoints"][0]["compute"] = "large"  # 2 × ml.c5.large → 2 × a bigger SKU: far more than 2×
    before = round(price(vcpus=2, memory_gb=4) * 2 * 730, 2)
    after = round(price(vcpus=8, memory_gb=32) * 2 * 730, 2)
    assert after / before > 2
    [risk] = cost_risks(small(), head)
    assert (risk.severity, risk.component) == ("high", ("endpoint", "rank"))
    # a fixed instance count: one figure, not the same one at min and at max
    assert risk.message == (
        f"monthly cost in production (prod) {money(before)} → {money(after)} ({after / before:.1f}×; limit 2×); "
        "grown by endpoint rank"
    )
    [outside] = cost_risks(small(), head, env=None)
    assert outside.severity == "medium" and "in production" not in outside.message
    assert cost_risks(small(), head, Limits(ratio=after / before + 0.1, increase=after)) == []


@pytest.mark.usefixtures("priced")
def test_an_absolute_increase_past_the_limit_is_a_risk_below_the_ratio() -> None:
    head = small()
    head["endpoints"][0]["instance_count"] = 3  # 1.5×: under the ratio
    grew = round(price(vcpus=2, memory_gb=4) * 730, 2)
    assert cost_risks(small(), head) == [], "1.5× and a small increase: no risk"
    [risk] = cost_risks(small(), head, Limits(ratio=2, increase=grew - 1))
    assert risk.severity == "high" and f"({money(grew, signed=True)}; limit {money(grew - 1)})" in risk.message


@pytest.mark.usefixtures("priced")
def test_a_cheaper_change_is_no_cost_risk() -> None:
    head = small()
    head["endpoints"][0]["instance_count"] = 1
    assert cost_risks(small(), head, Limits(ratio=1, increase=0)) == []


# --- unknown prices: not estimated, never $0 and never a partial total ---------------------------------------


@pytest.mark.usefixtures("unpriced")
def test_an_endpoint_on_an_unknown_price_is_not_estimated() -> None:
    head = small()
    head["endpoints"][0]["autoscaling"] = {"min": 1, "max": 5, "target": 100}
    report = compare(resolved(small()), resolved(head), {})
    [change] = report.endpoints  # listed: it serves on another shape, although no figure can be given
    assert (change.base.low, change.head.high, change.delta_low, change.delta_high) == (None, None, None, None)
    assert change.head.shape == "1–5 × ml.c5.large" and change.head.unpriced == ("ml.c5.large",)
    assert report.base_total == report.head_total == report.delta == (None, None)
    assert report.unpriced == ("ml.c5.large",) and report.prices[0].as_dict()["status"] == "unknown"
    assert report.prices[0].as_dict()["usd_per_hour"] is None
    assert span(*report.head_total) == span(change.delta_low, change.delta_high, signed=True) == "not estimated"
    # nothing changed: the change is known to be nothing, whatever the price
    same = compare(resolved(small()), resolved(small()), {})
    assert same.endpoints == () and same.delta == (0, 0) and same.head_total == (None, None)


@pytest.mark.usefixtures("unpriced")
def test_the_same_skus_on_more_instances_is_a_risk_whatever_the_price() -> None:
    head = small()
    head["endpoints"][0]["instance_count"] = 6  # 2 → 6 × ml.c5.large: 3× the cost at any price
    [risk] = cost_risks(small(), head)
    assert (risk.severity, risk.component) == ("high", ("endpoint", "rank"))
    assert risk.message.startswith(
        "monthly cost in production (prod) of endpoint rank grows 3.0× (limit 2×): 2 × ml.c5.large → 6 × ml.c5.large"
    )
    assert "price not estimated" in risk.message and "$" not in risk.message
    [outside] = cost_risks(small(), head, env=None)
    assert outside.severity == "medium"
    assert cost_risks(small(), head, Limits(ratio=3)) == []
    head["endpoints"][0]["instance_count"] = 3  # 1.5×
    assert cost_risks(small(), head) == []
    # another SKU at an unknown price: how much it grows cannot be known, so no figure and no risk is made up
    head["endpoints"][0].update(instance_count=2, compute="large")
    assert cost_risks(small(), head) == []
