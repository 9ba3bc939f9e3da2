"""The edits a reviewer meets most, on the example spec, for every target: each shows its summary line in
the spec's words, its resource changes, its risk flag (or none) and its monthly cost delta.

A target whose backend is missing fails here (planning raises), it is not skipped."""

from __future__ import annotations

from typing import Any

import pytest

from mlstack.catalog import Request, get_catalog
from mlstack.review.render import to_markdown
from mlstack.review.report import Review
from mlstack.review.resource_rules import rules_for
from mlstack.review.resources import ResourceChange
from tests.review.conftest import EDITS, TARGETS, example

pytestmark = pytest.mark.parametrize("target", TARGETS)


def row(review: Review, kind: str, name: str) -> list[ResourceChange]:
    return [r for r in review.resources if review.row_key(r.component) == (kind, name)]


def actions(changes: list[ResourceChange]) -> set[str]:
    return {c.action for c in changes}


def risks(review: Review, rule: str) -> list[Any]:
    return [r for r in review.risks if r.rule == rule]


def line(review: Review, kind: str, name: str) -> str:
    return next(c.line for c in review.components if (c.kind, c.name) == (kind, name))


# --- canary percent ---------------------------------------------------------------------------------


def test_canary_percent(edited_review: Any, target: str) -> None:
    r = edited_review(target, "canary")
    assert line(r, "endpoint", "fraud-scorer") == "endpoint fraud-scorer: canary 10% → 25%"
    assert [c.line for c in r.components] == ["endpoint fraud-scorer: canary 10% → 25%"]
    changed = row(r, "endpoint", "fraud-scorer")
    if target == "aws":
        # SageMaker sizes a canary in whole instances: 10% and 25% of two instances are both one instance,
        # so nothing deployed changes (validate says the effective share, ≈50%)
        assert not changed
    else:
        assert changed and actions(changed) <= {"update"}, "a canary percent is a setting of the live rollout"
        assert any(p.old == 10 and p.new == 25 for c in changed for p in c.changes)
    # the pipeline's deployment step rolls out with the endpoint's strategy, on targets that embed it
    assert {c.component for c in r.resources} <= {("endpoint", "fraud-scorer"), ("pipeline", "train-fraud")}
    [risk] = r.risks
    assert (risk.severity, risk.rule, risk.component) == ("medium", "strategy", ("endpoint", "fraud-scorer"))
    assert "weakened in production (prod)" in risk.message and "canary percent 10 → 25" in risk.message
    assert r.cost.delta == (0, 0) and not r.cost.endpoints


def test_canary_percent_outside_production_is_no_risk(edited_review: Any, target: str) -> None:
    r = edited_review(target, "canary", env=None)
    assert [c.line for c in r.components] == ["endpoint fraud-scorer: canary 10% → 25%"]
    assert (not r.resources if target == "aws" else r.resources) and not r.risks  # aws: one instance either way


# --- GPU ----------------------------------------------------------------------------------------------


def test_gpu_change(edited_review: Any, target: str) -> None:
    r = edited_review(target, "gpu")
    catalog = get_catalog()
    before = catalog.resolve(target, Request(**example()["compute"]["gpu-inference"]))
    after = catalog.resolve(target, Request(gpu="T4", gpus=1))
    assert line(r, "compute", "gpu-inference") == "compute profile gpu-inference: gpu inference-24gb → T4"
    if target == "local":  # the emulator runs on this machine's CPUs: the SKU does not change
        assert before.sku == after.sku == "local"
    else:
        assert before.sku != after.sku
    # the GPU profile trains the model; the scorer serves its XGBoost model on CPUs, so no endpoint moves
    assert not any(c.kind == "endpoint" for c in r.components)
    assert r.cost.delta == (0, 0) and not r.cost.endpoints


# --- removed monitor ------------------------------------------------------------------------------------


def test_removed_monitor(edited_review: Any, target: str) -> None:
    r = edited_review(target, "monitor")
    assert line(r, "monitor", "feature-drift") == "monitor feature-drift removed"
    assert "pipeline train-fraud: triggers[0] removed ({on_alert: feature-drift})" in [c.line for c in r.components]
    gone = row(r, "monitor", "feature-drift")
    assert gone and actions(gone) == {"delete"}
    [risk] = risks(r, "monitoring")
    assert risk.severity == "medium" and risk.component == ("monitor", "feature-drift")
    assert risk.message == "monitor feature-drift removed: data drift of endpoint fraud-scorer is no longer watched"
    assert not risks(r, "serving")
    assert r.cost.delta == (0, 0)


# --- renamed endpoint -------------------------------------------------------------------------------------


def test_renamed_endpoint(edited_review: Any, target: str) -> None:
    r = edited_review(target, "rename")
    assert [c.line for c in r.components if c.kind == "endpoint"] == ["endpoint fraud-ab renamed to fraud-ab2"]
    moved = row(r, "endpoint", "fraud-ab2")
    assert actions(moved) == {"create", "delete"}
    created = [c for c in moved if c.action == "create"]
    deleted = [c for c in moved if c.action == "delete"]
    assert len(created) == len(deleted)
    assert {c.component for c in deleted} == {("endpoint", "fraud-ab")}
    assert any(rules_for(c.type).serves(c.old.inputs) for c in deleted), "the serving endpoint itself goes"
    [risk] = risks(r, "serving")
    assert risk.severity == "high" and risk.component == ("endpoint", "fraud-ab2")
    assert risk.message.startswith("endpoint fraud-ab renamed to fraud-ab2: the serving endpoint fraud-ab is deleted")
    assert not risks(r, "iam"), "the renamed endpoint's own grants follow it; access does not widen"
    assert r.cost.delta == (0, 0) and not r.cost.endpoints


# --- added feature view ------------------------------------------------------------------------------------


def test_added_feature_view(edited_review: Any, target: str) -> None:
    r = edited_review(target, "feature_view")
    assert line(r, "feature_view", "card-velocity") == "feature view card-velocity added"
    added = row(r, "feature_view", "card-velocity")
    assert added and actions(added) == {"create"}
    assert all(c.changes for c in added), "a created resource lists its inputs"
    assert not any(c.action in ("replace", "delete") for c in r.resources)
    assert not r.risks
    assert r.cost.delta == (0, 0)


# --- cost: every edit, high where production cost more than doubles -----------------------------------------


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_high_cost_risk_exactly_where_production_cost_more_than_doubles(
    edited_review: Any, target: str, edit: str
) -> None:
    r = edited_review(target, edit)
    before, after = r.cost.base_total, r.cost.head_total
    flagged = risks(r, "cost")
    if None in (*before, *after):
        # a price is unknown: no total, but an endpoint whose cost more than doubles at any price is flagged
        tripled = [c.name for c in r.cost.endpoints if (ratios := c.ratios()) and max(ratios) > 2]
        assert [(x.severity, x.component) for x in flagged] == [("high", ("endpoint", name)) for name in tripled]
        assert all("$" not in x.message for x in flagged), "no dollar figure from an unknown price"
    else:
        doubled = any(b > 0 and a / b > 2 for b, a in zip(before, after, strict=True))  # type: ignore[operator]
        grew = max(a - b for b, a in zip(before, after, strict=True))  # type: ignore[operator]
        assert [x.severity for x in flagged] == (["high"] if doubled or grew > 1000 else [])
    if edit == "scale_up" and target != "local":  # the emulator costs nothing
        [risk] = flagged  # a twentyfold floor on the scorer more than doubles its cost, whatever the price
        assert risk.component == ("endpoint", "fraud-scorer") and "in production (prod)" in risk.message
        if None in (*before, *after):
            assert "grows 20.0× at min, 10.0× at max (limit 2×): 2–6 × " in risk.message
        else:
            assert f"{after[0] / before[0]:.1f}×; limit 2×" in risk.message  # type: ignore[operator]
        assert "1 high risk" in to_markdown(r)
