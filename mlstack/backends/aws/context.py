"""What every part of the AWS backend shares: the explicit provider, account, region, names and tags."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import pulumi
import pulumi_aws as aws

from mlstack.backends.aws.names import Names
from mlstack.backends.components import SpecComponent
from mlstack.resolve import Resolved


def partition_of(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


@dataclass
class Aws:
    resolved: Resolved
    provider: aws.Provider
    account: pulumi.Output[str]
    names: Names = field(init=False)

    def __post_init__(self) -> None:
        self.names = Names(self.resolved.name, self.resolved.environment, self.resolved.prefix)

    @classmethod
    def create(cls, resolved: Resolved) -> Aws:
        region = resolved.region
        assert region is not None  # the spec rules require a region on aws
        settings = resolved.spec.target.aws
        account_id = settings.account_id if settings else None
        provider = aws.Provider(
            "aws",
            region=region,
            # A stack pinned to an account refuses to run with credentials for another one.
            allowed_account_ids=[account_id] if account_id else None,
        )
        if account_id:
            account: pulumi.Output[str] = pulumi.Output.from_input(account_id)
        else:
            identity = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(provider=provider))
            account = identity.account_id
        return cls(resolved, provider, account)

    @property
    def region(self) -> str:
        assert self.resolved.region is not None
        return self.resolved.region

    @property
    def partition(self) -> str:
        return partition_of(self.region)

    @property
    def kms_key(self) -> str | None:
        return self.resolved.kms_key

    @property
    def tags(self) -> dict[str, str]:
        return dict(self.resolved.tags)

    @cached_property
    def native_provider(self) -> Any:
        import pulumi_aws_native as aws_native

        return aws_native.Provider("aws-native", region=self.region)

    def child(self, component: SpecComponent, **options: Any) -> pulumi.ResourceOptions:
        return component.child(provider=self.provider, **options)

    def native_child(self, component: SpecComponent, **options: Any) -> pulumi.ResourceOptions:
        return component.child(provider=self.native_provider, **options)

    def arn(self, service: str, resource: str, *, region: bool = True) -> pulumi.Output[str]:
        """arn:<partition>:<service>:<region>:<account>:<resource> for what this stack creates."""
        return pulumi.Output.concat(
            f"arn:{self.partition}:{service}:{self.region if region else ''}:", self.account, f":{resource}"
        )

    def known(self, output: pulumi.Output[str], arn: pulumi.Input[str]) -> pulumi.Output[str]:
        """`arn` (what AWS will call the resource, derived from its name) once `output` resolves: the
        value is readable in plans and the dependency on the resource is kept."""
        return pulumi.Output.all(output, arn).apply(lambda values: values[1])

    def s3_arn(self, bucket: pulumi.Input[str], key: str = "") -> pulumi.Output[str]:
        return pulumi.Output.concat(f"arn:{self.partition}:s3:::", bucket, f"/{key}" if key else "")

    def s3_uri_arns(self, uri: str) -> tuple[str, str]:
        """(bucket ARN, object-or-prefix ARN) of an s3:// URI outside this stack, for read grants."""
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        prefix = f"arn:{self.partition}:s3:::{bucket}"
        if not key or key.endswith("/"):
            return prefix, f"{prefix}/{key}*"
        return prefix, f"{prefix}/{key}"
