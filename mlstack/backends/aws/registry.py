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
from mlstack.spec.models import ModelGroup

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
        component.done({"name": package_group.model_package_group_name, "arn": package_group.arn})
        groups[group.name] = package_group
    return groups


def promotion_tags(ctx: Aws, group: ModelGroup) -> dict[str, str]:
    """The group's stages and approvers, where `mlstack registry promote` and reviewers read them; a
    version's stage is its ModelLifeCycle (RegisterModel sets the first, a promotion updates it)."""
    promotion = ctx.resolved.spec.registry.promotion_of(group)
    return promotion.tags() if promotion else {}


def package_group_arn(ctx: Aws, group: str) -> pulumi.Output[str]:
    return ctx.arn("sagemaker", f"model-package-group/{ctx.names.sagemaker(group)}")
