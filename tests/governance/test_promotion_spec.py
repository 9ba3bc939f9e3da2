"""The promotion policy in the spec: stages are declared environments, each listed once, and
approvers only where a promotion happens; every problem located in the file."""

from __future__ import annotations

import pytest

from mlstack.errors import SpecInvalid
from mlstack.spec import loads

SPEC = """\
apiVersion: mlstack/v1
name: shop
owner: team@example.com
environments:
  dev: {{}}
  staging: {{}}
  prod: {{}}
registry:
{registry}
"""


def errors(registry: str) -> list[str]:
    with pytest.raises(SpecInvalid) as info:
        loads(SPEC.format(registry=registry), file="shop.yaml", target="local")
    return [e.render() for e in info.value.errors]


def test_a_valid_policy_loads_and_a_group_inherits_the_registry_default():
    loaded = loads(
        SPEC.format(registry="  promotion: {stages: [dev, staging, prod], approvers: {prod: 2}}\n"
                    "  model_groups: [{name: m}]"),
        target="local",
    )  # fmt: skip
    registry = loaded.spec.registry
    policy = registry.promotion_of(registry.model_groups[0])
    assert policy is not None and policy.stages == ["dev", "staging", "prod"] and policy.approvers == {"prod": 2}


def test_stage_and_approver_mistakes_are_located():
    found = errors(
        "  model_groups:\n"
        "    - name: m\n"
        "      promotion:\n"
        "        stages: [dev, stagin, prod, prod]\n"
        "        approvers: {prod: 2, dev: 1, qa: 1}\n"
    )
    assert found == [
        "shop.yaml:12:23: registry.model_groups[0].promotion.stages[1]: stage 'stagin' is not an environment "
        "(did you mean 'staging'?); defined: dev, prod, staging; declare it under `environments:` "
        "(an empty `stagin: {}` will do)",
        "shop.yaml:12:37: registry.model_groups[0].promotion.stages[3]: stage 'prod' is listed twice; "
        "a version passes each stage once",
        "shop.yaml:13:35: registry.model_groups[0].promotion.approvers.dev: a new version enters the first stage "
        "'dev' when it is registered; approvers apply to the stages after it",
        "shop.yaml:13:42: registry.model_groups[0].promotion.approvers.qa: 'qa' is not one of the stages; "
        "stages: dev, stagin, prod, prod",
    ]


def test_approver_counts_are_bounded():
    found = errors("  promotion: {stages: [dev, prod], approvers: {prod: 0}}")
    assert (
        len(found) == 1 and "registry.promotion.approvers.prod" in found[0] and "greater than or equal to 1" in found[0]
    )
