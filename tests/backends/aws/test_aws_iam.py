"""Least privilege, walked over every policy document the plans hold: no wildcard actions, no managed
policies, resources scoped to what the stack creates or the spec names."""

from __future__ import annotations

import json
import re

import pytest
from aws_plans import (
    MONITORED,
    PACKAGE_GROUP_POLICY,
    ROLE,
    ROLE_POLICY,
    Plan,
    fraud,
    plan_text,
    spec_text,
)

ACTION = re.compile(r"[a-z0-9-]+:[A-Za-z0-9]+")
# APIs without resource-level permissions, and the condition that narrows each.
RESOURCE_STAR = {"ecr:GetAuthorizationToken": None, "cloudwatch:PutMetricData": "cloudwatch:namespace"}
SCHEDULE = "aws:scheduler/schedule:Schedule"
ARN = re.compile(r"arn:aws:(?P<service>[a-z0-9-]+):(?P<region>[a-z0-9-]*):(?P<account>\d{12})?:(?P<resource>.+)")

SHARED = spec_text(rest=MONITORED).replace(
    "    - name: ranker\n", "    - name: ranker\n      share_with: ['444455556666']\n", 1
)


def plans() -> list[tuple[str, Plan]]:
    return [
        ("fraud", fraud()),
        ("fraud-dev", fraud("dev")),
        ("fraud-prod", fraud("prod")),
        ("shared-and-monitored", plan_text(SHARED)),
    ]


@pytest.mark.parametrize(("label", "plan"), plans(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_policy_is_least_privilege(label, plan):
    documents = plan.policies()
    assert len(documents) >= 8
    for where, document in documents:
        assert document["Version"] == "2012-10-17", where
        for statement in document["Statement"]:
            assert "NotAction" not in statement and "NotResource" not in statement, where
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if statement["Effect"] == "Deny":
                # the platform bucket's refusal of plain HTTP is the one deny, and it grants nothing
                assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}, where
                continue
            for action in actions:
                assert ACTION.fullmatch(action), f"{where}: action {action!r}"
            resources = statement.get("Resource", [])
            resources = resources if isinstance(resources, list) else [resources]
            if "Service" in statement.get("Principal", {}):
                # AWS services (assuming a role, or publishing to the topic) act for this account only
                assert "aws:SourceAccount" in statement["Condition"]["StringEquals"], where
                if actions == ["sts:AssumeRole"]:
                    continue
                assert "aws:SourceArn" in statement["Condition"]["ArnLike"], where
            if resources == ["*"]:
                assert len(actions) == 1 and actions[0] in RESOURCE_STAR, f"{where}: {actions} on *"
                key = RESOURCE_STAR[actions[0]]
                if key:
                    assert key in statement["Condition"]["StringEquals"], where
                continue
            for resource in resources:
                match = ARN.fullmatch(resource)
                assert match, f"{where}: {resource!r} is not an ARN"
                body = match["resource"]
                assert "*" not in body.rstrip("*"), f"{where}: wildcard inside {resource}"
                if match["service"] not in ("s3",):
                    assert match["account"], f"{where}: {resource} names no account"


@pytest.mark.parametrize(("label", "plan"), plans(), ids=lambda v: v if isinstance(v, str) else "")
def test_roles_have_no_managed_or_inline_policies_of_their_own(label, plan):
    roles = plan.all(ROLE)
    assert roles
    for role in roles:
        assert "managedPolicyArns" not in role.inputs and "inlinePolicies" not in role.inputs
        assert role.inputs["name"].startswith(("fraud-detection", "shop"))
    role_names = {r.inputs["name"] for r in roles}
    for policy in plan.all(ROLE_POLICY):
        assert policy.inputs["role"].removesuffix("-role-id") in {r.name.removesuffix("-role") for r in roles}
    assert len(role_names) == len(roles)


def test_each_concern_has_its_own_role():
    assert sorted(r.name for r in fraud().all(ROLE)) == [
        "endpoint-role",
        "feature-store-role",
        "monitoring-role",
        "pipeline-role",
        "pipeline-starter-role",
        "tracking-role",
    ]


def test_endpoint_policy_reads_only_the_served_artifacts_and_images():
    statements = json.loads(fraud().inputs(ROLE_POLICY, "endpoint-fraud-shadow-policy")["policy"])["Statement"]
    reads = next(s for s in statements if s["Action"] == ["s3:GetObject"])
    assert reads["Resource"] == [
        "arn:aws:s3:::fraud-platform-data/models/fraud-model/3/*",
        "arn:aws:s3:::fraud-platform-data/models/fraud-model/4/*",
    ]
    pulls = next(s for s in statements if "ecr:BatchGetImage" in s["Action"])
    assert pulls["Resource"] == ["arn:aws:ecr:us-east-1:683313688378:repository/sagemaker-xgboost"]


def test_the_offline_store_may_write_its_files_with_their_acl_under_its_prefix_only():
    """AWS's managed feature-store policy grants s3:PutObjectAcl for the offline store's writes (audit A13)."""
    statements = json.loads(fraud().inputs(ROLE_POLICY, "feature-store-policy")["policy"])["Statement"]
    (acl,) = [s for s in statements if "s3:PutObjectAcl" in s["Action"]]
    assert acl == {
        "Effect": "Allow",
        "Action": ["s3:PutObjectAcl"],
        "Resource": ["arn:aws:s3:::mlstack-fraud-detection-123456789012-us-east-1/features/*"],
    }


def test_starter_may_start_only_its_pipeline():
    (statement,) = json.loads(fraud().inputs(ROLE_POLICY, "start-train-fraud-policy")["policy"])["Statement"]
    assert statement == {
        "Effect": "Allow",
        "Action": ["sagemaker:StartPipelineExecution"],
        "Resource": ["arn:aws:sagemaker:us-east-1:123456789012:pipeline/train-fraud"],
    }


def test_a_schedule_encrypted_with_the_key_is_started_by_a_role_that_may_decrypt_it():
    schedule = fraud("prod").inputs(SCHEDULE, "train-fraud-schedule")
    key = schedule["kmsKeyArn"]
    statements = json.loads(fraud("prod").inputs(ROLE_POLICY, "start-train-fraud-prod-policy")["policy"])["Statement"]
    decrypts = [s for s in statements if "kms:Decrypt" in s["Action"]]
    assert [(s["Effect"], s["Resource"]) for s in decrypts] == [("Allow", [key])]


def test_kms_use_is_granted_only_when_a_key_is_set():
    def kms_actions(plan: Plan) -> set[str]:
        return {
            action
            for _, document in plan.policies()
            for statement in document["Statement"]
            for action in (statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]])
            if action.startswith("kms:")
        }

    assert not kms_actions(fraud())
    assert kms_actions(fraud("prod")) == {"kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey"}


def test_cross_account_sharing_is_read_only_for_the_named_accounts():
    plan = plan_text(SHARED)
    (statement,) = json.loads(plan.inputs(PACKAGE_GROUP_POLICY)["resourcePolicy"])["Statement"]
    assert statement["Principal"] == {"AWS": ["arn:aws:iam::444455556666:root"]}
    assert statement["Action"] == [
        "sagemaker:DescribeModelPackage",
        "sagemaker:DescribeModelPackageGroup",
        "sagemaker:ListModelPackages",
    ]
    assert statement["Resource"] == [
        "arn:aws:sagemaker:us-east-1:111122223333:model-package-group/ranker",
        "arn:aws:sagemaker:us-east-1:111122223333:model-package/ranker/*",
    ]
