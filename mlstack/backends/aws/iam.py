"""IAM policy documents, least privilege: explicit actions only, on the ARNs this stack creates or reads.

A few APIs have no resource-level permissions (ecr:GetAuthorizationToken, cloudwatch:PutMetricData);
their statements name `"Resource": "*"` with the narrowest condition AWS offers, never a wildcard action."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pulumi

from mlstack.backends.aws import images
from mlstack.backends.aws.context import Aws

Statement = dict[str, Any]

ECR_PULL = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
LOG_WRITE = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"]
S3_READ = ["s3:GetObject"]
S3_WRITE = ["s3:PutObject", "s3:AbortMultipartUpload"]
KMS_USE = ["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"]


def allow(actions: Sequence[str], resources: Iterable[pulumi.Input[str]], **condition: Any) -> Statement:
    statement: Statement = {"Effect": "Allow", "Action": sorted(set(actions)), "Resource": list(resources)}
    if condition:
        statement["Condition"] = condition
    return statement


def document(statements: Iterable[Statement]) -> pulumi.Output[str]:
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": list(statements)})


def assume_role(ctx: Aws, *services: str) -> pulumi.Output[str]:
    """Trust for AWS services acting for this account only (the confused-deputy guard)."""
    return document(
        [
            {
                "Effect": "Allow",
                "Principal": {"Service": sorted(services)},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"aws:SourceAccount": ctx.account}},
            }
        ]
    )


def ecr_pull(ctx: Aws, image_uris: Iterable[str], repositories: Iterable[pulumi.Input[str]] = ()) -> list[Statement]:
    """Pull rights on the ECR repositories of these images (AWS's own included: cross-account pulls
    need them too) and on repositories this stack creates, plus the registry login, which has no
    resource-level permission."""
    found: list[pulumi.Input[str]] = sorted(
        {
            f"arn:{ctx.partition}:ecr:{region}:{account}:repository/{repository}"
            for account, region, repository in filter(None, map(images.ecr_repository, image_uris))
        }
    )
    found += list(repositories)
    statements = [allow(["ecr:GetAuthorizationToken"], ["*"])]
    if found:
        statements.append(allow(ECR_PULL, found))
    return statements


def logs(ctx: Aws, *groups: str) -> Statement:
    """Write to the CloudWatch log groups SageMaker uses for these jobs or endpoints."""
    resources = [ctx.arn("logs", f"log-group:{group}:*") for group in groups]
    return allow(LOG_WRITE, resources)


def kms(ctx: Aws) -> list[Statement]:
    return [allow(KMS_USE, [ctx.kms_key])] if ctx.kms_key else []


def read_uris(ctx: Aws, uris: Iterable[str | None]) -> list[Statement]:
    """Read the objects (or prefixes, for URIs ending in /) the spec names outside the stack, and list
    the prefixes."""
    found = [uri for uri in uris if uri and uri.startswith("s3://")]
    if not found:
        return []
    statements = [allow(S3_READ, sorted({ctx.s3_uri_arns(uri)[1] for uri in found}))]
    prefixes: dict[str, set[str]] = {}
    for uri in found:
        if uri.endswith("/"):
            key = uri.removeprefix("s3://").partition("/")[2]
            prefixes.setdefault(ctx.s3_uri_arns(uri)[0], set()).add(f"{key}*")
    statements += [
        allow(["s3:ListBucket"], [bucket], StringLike={"s3:prefix": sorted(keys)})
        for bucket, keys in sorted(prefixes.items())
    ]
    return statements


def bucket_prefix(ctx: Aws, bucket: pulumi.Input[str], prefixes: Sequence[str], *, write: bool) -> list[Statement]:
    """Read (and write) under these prefixes of the platform bucket, and list only them."""
    objects = [ctx.s3_arn(bucket, f"{prefix}*") for prefix in prefixes]
    listing = allow(["s3:ListBucket"], [ctx.s3_arn(bucket)], StringLike={"s3:prefix": [f"{p}*" for p in prefixes]})
    return [allow(S3_READ + (S3_WRITE if write else []), objects), listing]


def put_metrics(*namespaces: str) -> Statement:
    return allow(["cloudwatch:PutMetricData"], ["*"], StringEquals={"cloudwatch:namespace": list(namespaces)})
