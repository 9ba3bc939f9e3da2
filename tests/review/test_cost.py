"""Monthly cost from the catalog: price × instances × 730 h per variant, autoscaled endpoints at their
minimum and maximum, per endpoint and in total, with where each price comes from."""

from __future__ import annotations

from mlstack.catalog import Request, get_catalog
from mlstack.review.cost import compare, money, span
from tests.review.conftest import resolved, small


def price(**request: object) -> float:
    return get_catalog().resolve("aws", Request(**request)).price_usd_hour  # type: ignore[arg-type]


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


def test_every_variant_counts_and_serverless_is_not_estimated() -> None:
    head = small()
    head["endpoints"].append(
        {
            "name": "side",
            "model": {"group": "ranker", "alias": "champion"},
            "serverless": {"memory_gb": 2, "max_concurrency": 5},
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
    assert (by_name["side"].base, by_name["side"].head.low, by_name["side"].head.shape) == (None, 0, "serverless")


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
    assert span(1, 1) == "$1.00" and span(1, 3, signed=True) == "+$1.00 – +$3.00"
