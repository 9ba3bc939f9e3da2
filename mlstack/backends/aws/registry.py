"""registry -> one SageMaker model package group per model group, shared with other accounts by a
resource policy when `share_with` names them.

Declared versions are served as SageMaker Models by the endpoints that use them (endpoints.py);
pipelines register new versions into these groups at run time (RegisterModel steps)."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from mlstack.backends.aws import iam
from mlstack.backends.aws.context import Aws
from mlstack.backends.components import SpecComponent
from mlstack.spec.models import ModelGroup, ModelVersion

# What another account needs to find and deploy a shared group's versions.
SHARED_READ = [
    "sagemaker:DescribeModelPackage",
    "sagemaker:DescribeModelPackageGroup",
    "sagemaker:ListModelPackages",
]


def _share(ctx: Aws, group: ModelGroup, package_group: aws.sagemaker.ModelPackageGroup, component: SpecComponent):
    versions = ctx.arn("sagemaker", f"model-package/{ctx.names.sagemaker(group.name)}/*")
    statement = iam.allow(SHARED_READ, [ctx.known(package_group.arn, package_group_arn(ctx, group.name)), versions])
    statement["Sid"] = "ShareWithAccounts"
    statement["Principal"] = {"AWS": [f"arn:{ctx.partition}:iam::{account}:root" for account in group.share_with]}
    return aws.sagemaker.ModelPackageGroupPolicy(
        f"{group.name}-sharing",
        model_package_group_name=package_group.model_package_group_name,
        resource_policy=iam.document([statement]),
        opts=ctx.child(component),
    )


def build(ctx: Aws) -> dict[str, aws.sagemaker.ModelPackageGroup]:
    groups = {}
    for group in ctx.resolved.spec.registry.model_groups:
        component = SpecComponent("registry", group.name)
        package_group = aws.sagemaker.ModelPackageGroup(
            group.name,
            model_package_group_name=ctx.names.sagemaker(group.name),
            model_package_group_description=group.description or None,
            tags={**ctx.tags, **group.tags, "mlstack-approval": group.approval, **promotion_tags(ctx, group)},
            opts=ctx.child(component),
        )
        if group.share_with:
            _share(ctx, group, package_group, component)
        if group.intended_use:
            for version in group.versions:
                model_card(ctx, group, version, component)
        component.done({"name": package_group.model_package_group_name, "arn": package_group.arn})
        groups[group.name] = package_group
    return groups


def promotion_tags(ctx: Aws, group: ModelGroup) -> dict[str, str]:
    """The group's stages and approvers, where `mlstack registry promote` and reviewers read them; a
    version's stage is its ModelLifeCycle (RegisterModel sets the first, a promotion updates it)."""
    promotion = ctx.resolved.spec.registry.promotion_of(group)
    return promotion.tags() if promotion else {}


# A version's approval as the card's status: a reviewer sees in SageMaker what the registry says.
CARD_STATUS = {"approved": "Approved", "pending": "PendingReview", "rejected": "Archived"}


def model_card(ctx: Aws, group: ModelGroup, version: ModelVersion, component: SpecComponent) -> None:
    """A SageMaker Model Card for a declared version (pulumi_aws has none: aws-native's); the cards of
    versions pipelines register later come from `mlstack registry card` (mlstack/cards.py)."""
    from pulumi_aws_native import sagemaker as native

    content: dict = {
        "model_overview": {
            "model_description": group.description or None,
            "model_owner": ctx.resolved.spec.owner,
            "model_version": float(version.version),
            "algorithm_type": version.framework,
            "model_artifact": [version.artifact],
        },
        "intended_uses": {"purpose_of_model": group.description or None, "intended_uses": group.intended_use},
    }
    if group.limitations:
        content["additional_information"] = {"caveats_and_recommendations": group.limitations}
    if version.metrics:
        data = [{"name": k, "type": "number", "value": v} for k, v in sorted(version.metrics.items())]
        content["evaluation_details"] = [
            {"name": "declared", "metric_groups": [{"name": "metrics", "metric_data": data}]}
        ]
    native.ModelCard(
        f"{group.name}-v{version.version}-card",
        model_card_name=ctx.names.sagemaker(f"{group.name}-v{version.version}"),
        model_card_status=CARD_STATUS[version.approval],
        content=content,
        security_config={"kms_key_id": ctx.kms_key} if ctx.kms_key else None,
        tags=[{"key": k, "value": v} for k, v in sorted(ctx.tags.items())],
        opts=ctx.native_child(component),
    )


def package_group_arn(ctx: Aws, group: str) -> pulumi.Output[str]:
    return ctx.arn("sagemaker", f"model-package-group/{ctx.names.sagemaker(group)}")
