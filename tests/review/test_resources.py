"""Resource-level comparison: matching by URN, create/update/replace/delete, replace rules from the
provider data and from the plan's own options; and the provider data itself against the vendors' SDKs
and against what the backends plan."""

from __future__ import annotations

import importlib
import keyword
from typing import Any

import pytest

from mlstack.plan import PlannedResource
from mlstack.review.resource_rules import ALL_TYPES, provider_rules, providers, rules_for
from mlstack.review.resources import compare, counts
from mlstack.review.values import MISSING
from tests.review.conftest import TARGETS

CONFIG = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
ENDPOINT = "aws:sagemaker/endpoint:Endpoint"
COMPONENT = PlannedResource("mlstack:endpoint:Endpoint", "scorer", None, {}, custom=False)


def child(typ: str, name: str, inputs: dict[str, Any], **options: Any) -> PlannedResource:
    return PlannedResource(typ, name, COMPONENT.key, inputs, True, options)


def variants(instance_type: str) -> dict[str, Any]:
    return {"productionVariants": [{"variantName": "primary", "instanceType": instance_type}], "tags": {"a": "1"}}


def test_nothing_changed_is_no_change() -> None:
    plan = [COMPONENT, child(CONFIG, "cfg", variants("ml.g5.xlarge"))]
    assert compare(plan, list(plan)) == []


def test_immutable_configuration_is_replaced_and_says_why() -> None:
    [change] = compare(
        [COMPONENT, child(CONFIG, "cfg", variants("ml.g5.xlarge"))],
        [COMPONENT, child(CONFIG, "cfg", variants("ml.g5.2xlarge"))],
    )
    assert (change.action, change.symbol, change.component) == ("replace", "-/+", ("endpoint", "scorer"))
    [prop] = change.changes
    assert (prop.path, prop.old, prop.new, prop.forces_replacement) == (
        "productionVariants[0].instanceType",
        "ml.g5.xlarge",
        "ml.g5.2xlarge",
        True,
    )
    assert change.replaced_by == ("productionVariants[0].instanceType",)


def test_kept_inputs_update_in_place_even_on_immutable_types() -> None:
    old = child(CONFIG, "cfg", variants("ml.g5.xlarge"))
    new = child(CONFIG, "cfg", {**variants("ml.g5.xlarge"), "tags": {"a": "2"}})
    [change] = compare([COMPONENT, old], [COMPONENT, new])
    assert (change.action, change.symbol) == ("update", "~")
    assert [(p.path, p.old, p.new, p.forces_replacement) for p in change.changes] == [("tags.a", "1", "2", False)]


def test_mutable_input_updates_in_place() -> None:
    [change] = compare(
        [COMPONENT, child(ENDPOINT, "scorer", {"name": "scorer", "endpointConfigName": "cfg-1"})],
        [COMPONENT, child(ENDPOINT, "scorer", {"name": "scorer", "endpointConfigName": "cfg-2"})],
    )
    assert change.action == "update" and not change.replaced_by


def test_plan_options_replace_on_changes_and_delete_before_replace() -> None:
    typ = "example:index:Thing"  # a type no provider file lists: in place unless the plan says otherwise
    assert rules_for(typ).replace == ()
    [plain] = compare([child(typ, "t", {"size": 1})], [child(typ, "t", {"size": 2})])
    assert plain.action == "update"
    options = {"replaceOnChanges": ["size"], "deleteBeforeReplace": True}
    [change] = compare([child(typ, "t", {"size": 1}, **options)], [child(typ, "t", {"size": 2}, **options)])
    assert change.action == "replace" and change.delete_before_replace


def test_ignore_changes_are_left_out() -> None:
    old = child(ENDPOINT, "scorer", {"name": "scorer", "sku": {"capacity": 1}}, ignoreChanges=["sku.capacity"])
    new = child(ENDPOINT, "scorer", {"name": "scorer", "sku": {"capacity": 5}}, ignoreChanges=["sku.capacity"])
    assert compare([COMPONENT, old], [COMPONENT, new]) == []


def test_protected_resource_deleted_is_marked() -> None:
    [change] = compare([COMPONENT, child(ENDPOINT, "scorer", {"name": "x"}, protect=True)], [COMPONENT])
    assert (change.action, change.symbol, change.protected) == ("delete", "-", True)


def test_created_resource_lists_its_inputs() -> None:
    [change] = compare([], [COMPONENT, child(ENDPOINT, "scorer", {"name": "x", "tags": {"a": "1"}})])
    assert change.action == "create" and change.symbol == "+"
    assert [(p.path, p.old, p.new) for p in change.changes] == [("name", MISSING, "x"), ("tags", MISSING, {"a": "1"})]


def test_a_new_parent_is_a_new_urn() -> None:
    """Pulumi identifies a resource by its parents' types too: moving it under another kind of
    component deletes and creates it (what `pulumi preview` would show without an alias)."""
    monitor = PlannedResource("mlstack:monitor:Monitor", "scorer", None, {}, custom=False)
    moved = PlannedResource(ENDPOINT, "scorer", monitor.key, {"name": "x"})
    changes = compare([COMPONENT, child(ENDPOINT, "scorer", {"name": "x"})], [monitor, moved])
    assert [(c.action, c.component) for c in changes] == [
        ("create", ("monitor", "scorer")),
        ("delete", ("endpoint", "scorer")),
    ]
    assert counts(changes) == {"create": 1, "update": 0, "replace": 0, "delete": 1}


def test_json_documents_are_compared_inside() -> None:
    policy = '{"Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "*"}]}'
    wider = '{"Statement": [{"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "*"}]}'
    typ = "aws:iam/rolePolicy:RolePolicy"
    [change] = compare(
        [COMPONENT, child(typ, "p", {"role": "r", "policy": policy})],
        [COMPONENT, child(typ, "p", {"role": "r", "policy": wider})],
    )
    assert [(p.path, p.old, p.new) for p in change.changes] == [
        ("policy.Statement[0].Action[1]", MISSING, "s3:PutObject")
    ]


def test_every_provider_file_entry_is_well_formed() -> None:
    assert {"aws", "aws-native", "gcp", "azure-native", "pulumi", "pulumi-python"} <= set(providers())
    for provider in providers():
        for token, rules in provider_rules(provider).items():
            assert token == ALL_TYPES or token.split(":", 1)[0] == provider, token
            assert isinstance(rules.replace, tuple) and isinstance(rules.keep, tuple)


def _sdk_inputs(token: str) -> set[str] | None:
    """The input names the vendor's Pulumi SDK declares for a type, None for dynamic types."""
    package, module, name = token.split(":")
    if package == "pulumi-python":
        return None
    if package == "pulumi":
        sdk, names = importlib.import_module(f"pulumi_{name.replace('-', '_')}"), ["ProviderArgs"]
    else:
        submodule = module.split("/")[0]
        submodule += "_" if keyword.iskeyword(submodule) else ""  # pulumi_aws.lambda_
        sdk = importlib.import_module(f"pulumi_{package.replace('-', '_')}.{submodule}")
        # a resource whose Args name an input type already has is generated as <Name>InitArgs
        names = [f"{name}InitArgs", f"{name}Args"]
    cls = next(getattr(sdk, n) for n in names if hasattr(sdk, n))
    return {getattr(v.fget, "_pulumi_name", n) for n, v in vars(cls).items() if isinstance(v, property)}


@pytest.mark.parametrize("provider", ["aws", "aws-native", "gcp", "azure-native", "pulumi"])
def test_provider_data_names_real_types_and_inputs(provider: str) -> None:
    common = provider_rules(provider)[ALL_TYPES].replace  # for every type that has them (aws: region)
    for token, rules in provider_rules(provider).items():
        if token == ALL_TYPES:
            continue
        inputs = _sdk_inputs(token)
        assert inputs is not None
        named = [*(p for p in rules.replace if p not in common), *rules.keep, *rules.widening]
        if rules.grant:
            named += [p for p in (rules.grant.principal, rules.grant.permission, rules.grant.scope) if p]
        for path in named:
            top = path.split(".")[0].split("[")[0]
            assert path == "*" or top in inputs, f"{token}: {path} is not an input ({sorted(inputs)})"


@pytest.mark.parametrize("target", TARGETS)
def test_every_type_a_backend_plans_is_in_the_provider_data(edited_review: Any, target: str) -> None:
    """A type nobody listed would silently update in place; the data must know each one."""
    review = edited_review(target, "canary")
    planned = {r.type for side in (review.base, review.head) for r in side.plan if r.custom}
    missing = sorted(t for t in planned if t not in provider_rules(t.split(":", 1)[0]))
    assert not missing, f"add these to mlstack/review/providers/: {missing}"
