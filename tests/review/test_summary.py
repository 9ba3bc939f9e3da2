"""The component summary in the spec's own words."""

from __future__ import annotations

from mlstack.catalog import Request, get_catalog
from mlstack.review.summary import summarise
from tests.review.conftest import Spec, resolved, small


def lines(base: Spec | None, head: Spec | None, env: str | None = None) -> list[str]:
    return [
        c.line for c in summarise(resolved(base, env) if base else None, resolved(head, env) if head else None, env)
    ]


def test_same_spec_has_no_lines() -> None:
    assert lines(small(), small()) == []


def test_canary_percent_and_bake_time() -> None:
    head = small()
    head["endpoints"][0]["strategy"].update(percent=25, bake_time="20m")
    assert lines(small(), head) == ["endpoint rank: canary 10% → 25%; canary.bake_time 10m → 20m"]


def test_strategy_type_change_and_rollback_removed() -> None:
    head = small()
    head["endpoints"][0]["strategy"] = {"type": "blue_green"}
    assert lines(small(), head) == ["endpoint rank: strategy canary 10% → blue_green"]


def test_ab_weights_and_variant_model() -> None:
    base = small()
    ab = {
        "type": "ab",
        "variants": [
            {"name": "left", "model": {"group": "ranker", "version": 1}, "weight": 70},
            {"name": "right", "model": {"group": "ranker", "version": 2}, "weight": 30},
        ],
    }
    del base["endpoints"][0]["model"]
    base["endpoints"][0]["strategy"] = ab
    head = small()
    del head["endpoints"][0]["model"]
    head["endpoints"][0]["strategy"] = {
        "type": "ab",
        "variants": [
            {"name": "left", "model": {"group": "ranker", "version": 2}, "weight": 50},
            {"name": "right", "model": {"group": "ranker", "version": 2}, "weight": 50},
        ],
    }
    assert lines(base, head) == [
        "endpoint rank: ab left 70% / right 30% → left 50% / right 50%; left model ranker:v1 → ranker:v2"
    ]


def test_data_capture_turned_off() -> None:
    base, head = small(), small()
    base["monitors"] = head["monitors"] = []  # a drift monitor needs captures
    del base["environments"], head["environments"]
    del head["endpoints"][0]["data_capture"]
    assert lines(base, head) == ["endpoint rank: data capture 20% → off"]


def test_compute_is_compared_as_the_sku_it_resolves_to() -> None:
    catalog = get_catalog()
    before = catalog.resolve("aws", Request(vcpus=2, memory_gb=4)).sku
    after = catalog.resolve("aws", Request(vcpus=8, memory_gb=32)).sku
    head = small()
    head["endpoints"][0]["compute"] = "large"
    assert before != after
    assert lines(small(), head) == [f"endpoint rank: compute {before} → {after}"]


def test_a_new_profile_name_for_the_same_sku_says_so() -> None:
    head = small()
    head["compute"]["tiny"] = head["compute"]["small"]
    head["endpoints"][0]["compute"] = "tiny"
    sku = get_catalog().resolve("aws", Request(vcpus=2, memory_gb=4)).sku
    assert lines(small(), head) == [
        "compute profile tiny added",
        f"endpoint rank: compute small → tiny (same SKU {sku})",
    ]


def test_alias_moved_changes_the_version_served() -> None:
    head = small()
    versions = head["registry"]["model_groups"][0]["versions"]
    versions[0]["aliases"], versions[1]["aliases"] = [], ["champion", "challenger"]
    assert lines(small(), head) == [
        "model group ranker: versions[v1].aliases [champion] → []; versions[v2].aliases [challenger] → [champion, challenger]",
        "endpoint rank: model ranker@champion serves version 2 (was 1)",
    ]


def test_rename_is_same_content_under_another_name() -> None:
    head = small()
    head["endpoints"][0]["name"] = "rank-v2"
    head["monitors"][0]["endpoint"] = "rank-v2"
    assert lines(small(), head) == [
        "endpoint rank renamed to rank-v2",
        "monitor drift: endpoint rank → rank-v2",
    ]


def test_a_rename_with_other_changes_is_a_removal_and_an_addition() -> None:
    head = small()
    head["endpoints"][0].update(name="rank-v2", instance_count=3)
    head["monitors"][0]["endpoint"] = "rank-v2"
    assert lines(small(), head)[:2] == ["endpoint rank removed", "endpoint rank-v2 added"]


def test_environment_changes_show_when_not_applied() -> None:
    head = small()
    head["environments"]["prod"]["monitors"]["drift"]["threshold"] = 0.3
    assert lines(small(), head) == ["environment prod: monitors.drift.threshold 0.2 → 0.3"]
    assert lines(small(), head, env="prod") == ["monitor drift: threshold 0.2 → 0.3"]


def test_target_key_removed() -> None:
    base = small()
    base["target"]["kms_key"] = "arn:aws:kms:us-east-1:123456789012:key/abc"
    assert lines(base, small()) == ["target: kms_key arn:aws:kms:us-east-1:123456789012:key/abc → none"]


def test_new_spec_is_all_added_in_kind_order() -> None:
    assert lines(None, small()) == [
        "spec added",
        "target added",
        "compute profile large added",
        "compute profile small added",
        "model group ranker added",
        "endpoint rank added",
        "monitor drift added",
        "environment prod added",
    ]
