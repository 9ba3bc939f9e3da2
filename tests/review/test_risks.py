"""Risk flags: from the two specs (strategies, monitors, capture, keys, networking) and from the plan
diff through the provider data (serving endpoints, deletes before creates, encryption, public
access, IAM widening)."""

from __future__ import annotations

import json
from typing import Any

from mlstack.plan import PlannedResource
from mlstack.review.resources import compare
from mlstack.review.risks import Risk, assess
from mlstack.review.summary import summarise
from tests.review.conftest import Spec, resolved, small

ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
COMPONENT = PlannedResource("mlstack:endpoint:Endpoint", "rank", None, {}, custom=False)


def spec_risks(base: Spec, head: Spec, env: str | None = None) -> list[Risk]:
    b, h = resolved(base, env), resolved(head, env)
    return assess(b, h, [], [], summarise(b, h, env), [])


def plan_risks(base: list[PlannedResource], head: list[PlannedResource], spec: Spec | None = None) -> list[Risk]:
    b = h = resolved(spec or small())
    return assess(b, h, base, head, [], compare(base, head))


def messages(risks: list[Risk]) -> list[tuple[str, str, str]]:
    return [(r.severity, r.rule, r.message) for r in risks]


def res(typ: str, name: str, inputs: dict[str, Any], **options: Any) -> PlannedResource:
    return PlannedResource(typ, name, COMPONENT.key, inputs, True, options)


# --- strategies ----------------------------------------------------------------------------------------


def test_strategy_removed_in_production_is_high() -> None:
    head = small()
    head["endpoints"][0]["strategy"] = {"type": "all_at_once"}
    assert messages(spec_risks(small(), head, env="prod")) == [
        (
            "high",
            "strategy",
            "endpoint rank: rollout strategy removed in production (prod): strategy canary → all_at_once",
        )
    ]
    assert spec_risks(small(), head) == [], "outside production a strategy is the team's call"


def test_environment_marked_production_counts() -> None:
    base, head = small(), small()
    for spec in (base, head):
        spec["environments"]["live"] = {"production": True}
    head["endpoints"][0]["strategy"]["rollback"] = {"max_error_rate": 0.1}
    head["endpoints"][0]["strategy"]["bake_time"] = "1m"
    assert messages(spec_risks(base, head, env="live")) == [
        (
            "medium",
            "strategy",
            "endpoint rank: rollout strategy weakened in production (live): canary bake_time 10m → 1m; "
            "rollback max_error_rate 0.02 → 0.1",
        )
    ]


def test_rollback_removed_and_gradual_to_fleet_switch() -> None:
    head = small()
    del head["endpoints"][0]["strategy"]["rollback"]
    [risk] = spec_risks(small(), head, env="prod")
    assert risk.message.endswith("automatic rollback removed")
    head["endpoints"][0]["strategy"] = {"type": "blue_green"}
    [risk] = spec_risks(small(), head, env="prod")
    assert (risk.severity, risk.message.split(": ")[-1]) == ("medium", "strategy canary → blue_green")


def test_safer_strategy_is_no_risk() -> None:
    head = small()
    head["endpoints"][0]["strategy"].update(percent=5, bake_time="30m")
    assert spec_risks(small(), head, env="prod") == []


# --- monitoring and capture --------------------------------------------------------------------------------


def test_monitor_removed_and_capture_turned_off() -> None:
    head = small()
    head["monitors"] = []
    del head["environments"]
    del head["endpoints"][0]["data_capture"]
    base = small()
    del base["environments"]
    assert messages(spec_risks(base, head)) == [
        ("medium", "monitoring", "endpoint rank: data capture turned off"),
        ("medium", "monitoring", "monitor drift removed: data drift of endpoint rank is no longer watched"),
    ]


def test_renamed_monitor_is_not_turned_off() -> None:
    head = small()
    head["monitors"][0]["name"] = "drift-v2"
    del head["environments"]
    base = small()
    del base["environments"]
    assert spec_risks(base, head) == []


# --- keys and networks from the spec ---------------------------------------------------------------------


def test_key_removed_network_opened_endpoint_public() -> None:
    base, head = small(), small()
    base["target"]["kms_key"] = "arn:aws:kms:us-east-1:123456789012:key/abc"
    base["target"]["network"] = {"vpc": "vpc-1", "subnets": ["subnet-1"], "private_endpoints": True}
    head["target"]["network"] = {"private_endpoints": False}
    head["endpoints"][0]["public"] = True
    assert messages(spec_risks(base, head)) == [
        (
            "high",
            "encryption",
            "encryption key removed: arn:aws:kms:us-east-1:123456789012:key/abc no longer encrypts the platform's data",
        ),
        (
            "high",
            "network",
            "private networking removed: network.private_endpoints true → false; network.vpc vpc-1 removed; "
            "network.subnets removed",
        ),
        ("high", "network", "endpoint rank made public"),
    ]


def test_removed_endpoint_is_a_serving_risk() -> None:
    head = small()
    head["endpoints"], head["monitors"] = [], []
    del head["environments"]
    assert messages(spec_risks(small(), head)) == [
        ("high", "serving", "endpoint rank removed: its serving endpoint is deleted"),
        ("medium", "monitoring", "monitor drift removed: data drift of endpoint rank is no longer watched"),
    ]


# --- from the plan ---------------------------------------------------------------------------------------------


def test_serving_endpoint_replaced() -> None:
    endpoint = "aws:sagemaker/endpoint:Endpoint"
    [risk] = plan_risks(
        [COMPONENT, res(endpoint, "rank", {"name": "rank-1"})], [COMPONENT, res(endpoint, "rank", {"name": "rank-2"})]
    )
    assert (risk.severity, risk.rule, risk.component) == ("high", "serving", ("endpoint", "rank"))
    assert risk.message == "serving endpoint rank is replaced (name cannot change in place): callers see a new endpoint"


def test_local_endpoint_deleted_and_other_kinds_not_serving() -> None:
    local = "pulumi-python:dynamic/local:EmulatorResource"
    base = [COMPONENT, res(local, "rank", {"kind": "endpoint"}), res(local, "ranker", {"kind": "model_group"})]
    [risk] = plan_risks(base, [COMPONENT])
    assert risk.message == "serving endpoint rank is deleted"


def test_delete_before_replace_is_a_gap_in_service() -> None:
    job = "pulumi-python:dynamic/vertex:ModelDeploymentMonitoringJob"
    [risk] = plan_risks(
        [COMPONENT, res(job, "watch", {"endpoint": "a"})], [COMPONENT, res(job, "watch", {"endpoint": "b"})]
    )
    assert (risk.severity, risk.message) == (
        "high",
        "watch is deleted before its replacement exists (endpoint changed): a gap in service",
    )


def test_encryption_and_public_access_removed_from_resources() -> None:
    config = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
    endpoint = "azure-native:machinelearningservices:OnlineEndpoint"
    base = [
        COMPONENT,
        res(config, "cfg", {"kmsKeyArn": "arn:key", "productionVariants": []}),
        res(endpoint, "ep", {"properties": {"publicNetworkAccess": "Disabled"}}),
    ]
    head = [
        COMPONENT,
        res(config, "cfg", {"productionVariants": []}),
        res(endpoint, "ep", {"properties": {"publicNetworkAccess": "Enabled"}}),
    ]
    risks = plan_risks(base, head)
    assert [(r.rule, r.message, r.resources) for r in risks if r.rule != "serving"] == [
        ("encryption", "encryption settings removed from resources", (f"{config} cfg (kmsKeyArn)",)),
        ("network", "public access enabled on resources", (f"{endpoint} ep (properties.publicNetworkAccess)",)),
    ]


def _policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _allow(actions: list[str], resource: str = "arn:aws:s3:::data/*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": actions, "Resource": resource, **extra}


def test_iam_policy_widened_for_an_existing_role() -> None:
    base = [COMPONENT, res(ROLE_POLICY, "read", {"role": "scorer", "policy": _policy(_allow(["s3:GetObject"]))})]
    head = [
        COMPONENT,
        res(ROLE_POLICY, "read", {"role": "scorer", "policy": _policy(_allow(["s3:GetObject", "s3:*"]))}),
    ]
    [risk] = plan_risks(base, head)
    assert (risk.severity, risk.rule) == ("high", "iam")
    assert risk.message == "IAM access widened for scorer: Allow s3:* on arn:aws:s3:::data/* for scorer"
    assert risk.resources == (f"{ROLE_POLICY} read",)


def test_new_grant_to_existing_role_and_wildcard_resource() -> None:
    base = [COMPONENT, res(ROLE_POLICY, "read", {"role": "scorer", "policy": _policy(_allow(["s3:GetObject"]))})]
    extra = res(ROLE_POLICY, "more", {"role": "scorer", "policy": _policy(_allow(["s3:GetObject"], "*"))})
    [risk] = plan_risks(base, [*base, extra])
    assert risk.message == "IAM access widened for scorer: Allow s3:GetObject on * for scorer"


def test_moving_a_permission_between_grants_or_narrowing_is_not_widening() -> None:
    both = _policy(_allow(["s3:GetObject", "s3:PutObject"]))
    base = [COMPONENT, res(ROLE_POLICY, "rw", {"role": "scorer", "policy": both})]
    split = [
        COMPONENT,
        res(ROLE_POLICY, "r", {"role": "scorer", "policy": _policy(_allow(["s3:GetObject"]))}),
        res(ROLE_POLICY, "w", {"role": "scorer", "policy": _policy(_allow(["s3:PutObject"]))}),
    ]
    assert plan_risks(base, split) == []
    narrow = [COMPONENT, res(ROLE_POLICY, "rw", {"role": "scorer", "policy": _policy(_allow(["s3:GetObject"]))})]
    assert plan_risks(base, narrow) == []


def test_dropped_deny_condition_and_not_action_widen() -> None:
    deny = {"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"}
    conditioned = _allow(["s3:GetObject"], Condition={"Bool": {"aws:SecureTransport": "true"}})
    base = [COMPONENT, res(ROLE_POLICY, "p", {"role": "r", "policy": _policy(conditioned, deny)})]
    head = [COMPONENT, res(ROLE_POLICY, "p", {"role": "r", "policy": _policy(_allow(["s3:GetObject"]))})]
    [risk] = plan_risks(base, head)
    assert risk.message == (
        "IAM access widened for r: Allow s3:GetObject on arn:aws:s3:::data/* for r; "
        "no longer Deny s3:DeleteObject on * for r"
    )
    not_action = {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}
    head = [COMPONENT, res(ROLE_POLICY, "p", {"role": "r", "policy": _policy(conditioned, deny, not_action)})]
    [risk] = plan_risks(base, head)
    assert risk.message == "IAM access widened for r: Allow * on * for r"


def test_role_grant_changed_and_list_widening() -> None:
    def plan(role: str, policies: list[str]) -> list[PlannedResource]:
        account = "serviceAccount:sa@p.iam.gserviceaccount.com"
        return [
            COMPONENT,
            res("gcp:projects/iAMMember:IAMMember", "sa", {"member": account, "role": role, "project": "p"}),
            res("aws:iam/role:Role", "r", {"managedPolicyArns": policies}),
        ]

    read_only = "arn:aws:iam::aws:policy/ReadOnly"
    base = plan("roles/viewer", [read_only])
    head = plan("roles/editor", [read_only, "arn:aws:iam::aws:policy/Admin"])
    assert [r.message for r in plan_risks(base, head) if r.rule == "iam"] == [
        "IAM access widened by r: managedPolicyArns adds arn:aws:iam::aws:policy/Admin",
        "IAM access widened for serviceAccount:sa@p.iam.gserviceaccount.com: roles/editor on p",
    ]


def test_grants_to_principals_the_plan_cannot_name_are_not_compared() -> None:
    """The mocks leave a new service account's e-mail unset; its grants are not someone else's."""
    member = "gcp:projects/iAMMember:IAMMember"
    base = [COMPONENT, res(member, "a", {"member": "serviceAccount:None", "role": "roles/viewer", "project": "p"})]
    head = [*base, res(member, "b", {"member": "serviceAccount:None", "role": "roles/editor", "project": "p"})]
    assert plan_risks(base, head) == []


def test_protected_resource_replaced() -> None:
    endpoint = "aws:sagemaker/endpoint:Endpoint"
    base = [COMPONENT, res(endpoint, "rank", {"name": "a"}, protect=True)]
    head = [COMPONENT, res(endpoint, "rank", {"name": "b"}, protect=True)]
    assert [(r.severity, r.rule) for r in plan_risks(base, head)] == [("high", "serving"), ("medium", "protected")]
