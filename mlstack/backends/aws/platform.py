"""Shared things under one `mlstack:platform:Platform` component: the platform bucket, one execution
role per concern, the alert topic, the Glue database of the offline feature store and the ECR
repository of mlstack's runtime image.

The bucket holds everything the platform writes, by prefix: `capture/<endpoint>/`,
`monitoring/<monitor>/`, `features/`, `pipelines/<pipeline>/`. It is private (all four public-access
blocks), versioned, encrypted with the spec's KMS key (else SSE-S3) and refuses plain HTTP.

Roles start with a trust policy only; each component adds an inline policy for exactly what it
creates, next to the resources that need it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from mlstack.backends.aws import iam, signals
from mlstack.backends.aws.context import Aws
from mlstack.backends.components import SpecComponent
from mlstack.backends.runtime_images import RuntimeImages
from mlstack.runtime import images
from mlstack.targets import aws as dialect

RUNTIME_IMAGE_CONFIG = "runtimeImage"

# concern -> services that assume its role
CONCERNS = {
    "endpoint": ("sagemaker.amazonaws.com",),
    "pipeline": ("sagemaker.amazonaws.com",),
    "monitoring": ("sagemaker.amazonaws.com",),
    "feature-store": ("sagemaker.amazonaws.com",),
    "pipeline-starter": ("events.amazonaws.com", "scheduler.amazonaws.com"),
    "tracking": ("sagemaker.amazonaws.com",),  # the managed MLflow server, writing its artifact store
}


@dataclass
class Platform:
    component: SpecComponent
    bucket: aws.s3.Bucket
    bucket_ready: list[pulumi.Resource]  # versioning, encryption, public access block, policy
    roles: dict[str, aws.iam.Role] = field(default_factory=dict)
    role_arns: dict[str, pulumi.Output[str]] = field(default_factory=dict)
    topic_arn: pulumi.Output[str] | None = None
    glue_database: aws.glue.CatalogDatabase | None = None
    tracking_arn: pulumi.Output[str] | None = None  # the managed MLflow server's, when the spec tracks runs
    runtime_image: pulumi.Output[str] | None = None
    # What pulling the runtime image takes: its URI when configured, its repository's ARN when created.
    runtime_image_uris: list[str] = field(default_factory=list)
    runtime_repository_arns: list[pulumi.Output[str]] = field(default_factory=list)
    # Builds of the runtime image and of the step images, pushed to the stack's ECR repository.
    images: RuntimeImages | None = None

    def step_image(self, base: str) -> pulumi.Output[str]:
        """`base` with mlstack's step adapter added, built and pushed by this stack."""
        assert self.images is not None  # the repository exists whenever a pipeline has code steps
        return self.images.uri(images.step_image(base))

    @property
    def bucket_name(self) -> pulumi.Output[str]:
        return self.bucket.bucket

    def uri(self, prefix: str) -> pulumi.Output[str]:
        return pulumi.Output.concat("s3://", self.bucket.bucket, "/", prefix)


def needs_runtime_image(ctx: Aws) -> bool:
    spec = ctx.resolved.spec
    return any(signals.engine(m, signals.model_monitor(spec)) == "mlstack" for m in spec.monitors) or any(
        s.kind == "deployment" for p in spec.pipelines for s in p.steps
    )


def needs_step_images(ctx: Aws) -> bool:
    """Code steps run their image with mlstack's step adapter added, which the stack builds."""
    kinds = ("data_validation", "processing", "training", "evaluation")
    return any(s.kind in kinds for p in ctx.resolved.spec.pipelines for s in p.steps)


def _concerns(ctx: Aws) -> list[str]:
    from mlstack.backends.aws import tracking  # it builds on this module's Platform

    spec = ctx.resolved.spec
    wanted = {
        "endpoint": bool(spec.endpoints or spec.batch_jobs),  # a transform job runs as its model's role
        "pipeline": bool(spec.pipelines or spec.batch_jobs),  # a batch job is a one-step pipeline
        "monitoring": bool(spec.monitors),
        "feature-store": bool(spec.feature_store.views),
        "pipeline-starter": any(p.schedule or p.triggers for p in spec.pipelines)
        or any(b.schedule for b in spec.batch_jobs)
        or any(signals.engine(m, signals.model_monitor(spec)) == "mlstack" for m in spec.monitors)
        or any(a.type == "retrain" for m in spec.monitors for a in m.actions),
        "tracking": tracking.wanted(ctx.resolved),
    }
    return [concern for concern in CONCERNS if wanted[concern]]


def _bucket(ctx: Aws, component: SpecComponent) -> tuple[aws.s3.Bucket, list[pulumi.Resource]]:
    opts = ctx.child(component)
    name = ctx.account.apply(lambda account: ctx.names.bucket(account, ctx.region))
    bucket = aws.s3.Bucket("platform-bucket", bucket=name, force_destroy=False, tags=ctx.tags, opts=opts)
    block = aws.s3.BucketPublicAccessBlock(
        "platform-bucket-public-access",
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        opts=opts,
    )
    versioning = aws.s3.BucketVersioning(
        "platform-bucket-versioning",
        bucket=bucket.id,
        versioning_configuration={"status": "Enabled"},
        opts=opts,
    )
    by_default = (
        {"sse_algorithm": "aws:kms", "kms_master_key_id": ctx.kms_key} if ctx.kms_key else {"sse_algorithm": "AES256"}
    )
    encryption = aws.s3.BucketServerSideEncryptionConfiguration(
        "platform-bucket-encryption",
        bucket=bucket.id,
        rules=[{"apply_server_side_encryption_by_default": by_default, "bucket_key_enabled": bool(ctx.kms_key)}],
        opts=opts,
    )
    tls_only = iam.document(
        [
            {
                # A deny of every S3 action over plain HTTP; it grants nothing.
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [ctx.s3_arn(bucket.bucket), ctx.s3_arn(bucket.bucket, "*")],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ]
    )
    policy = aws.s3.BucketPolicy(
        "platform-bucket-policy",
        bucket=bucket.id,
        policy=tls_only,
        opts=ctx.child(component, depends_on=[block]),
    )
    return bucket, [block, versioning, encryption, policy]


def failure_rule_name(ctx: Aws, monitor: str) -> str:
    """The EventBridge rule that alerts when a run of the monitor fails (monitors.py)."""
    return ctx.names.sagemaker(f"{monitor}-failed", max_length=dialect.RULE)


def _topic(ctx: Aws, component: SpecComponent) -> pulumi.Output[str] | None:
    spec = ctx.resolved.spec
    if not any(a.type == "alert" for m in spec.monitors for a in m.actions):
        return None
    if spec.target.aws and spec.target.aws.alarm_topic:
        return pulumi.Output.from_input(spec.target.aws.alarm_topic)
    name = ctx.names.platform("alerts", max_length=dialect.TOPIC)
    topic = aws.sns.Topic(
        "alerts",
        name=name,
        kms_master_key_id=ctx.kms_key,
        tags=ctx.tags,
        opts=ctx.child(component),
    )
    alarms = ctx.arn("cloudwatch", f"alarm:{ctx.names.platform(max_length=dialect.ALARM)}-*")
    arn = ctx.known(topic.arn, ctx.arn("sns", name))
    failures = [
        ctx.arn("events", f"rule/{failure_rule_name(ctx, m.name)}")
        for m in spec.monitors
        if any(a.type == "alert" for a in m.actions)
    ]

    def publisher(sid: str, service: str, source: Any) -> dict[str, Any]:
        """Publishing allowed to one AWS service, only from this platform's resources in this account."""
        return {
            "Sid": sid,
            "Effect": "Allow",
            "Principal": {"Service": service},
            "Action": "sns:Publish",
            "Resource": arn,
            "Condition": {"ArnLike": {"aws:SourceArn": source}, "StringEquals": {"aws:SourceAccount": ctx.account}},
        }

    aws.sns.TopicPolicy(
        "alerts-policy",
        arn=arn,
        policy=iam.document(
            [
                publisher("CloudWatchAlarmsOfThisPlatform", "cloudwatch.amazonaws.com", alarms),
                publisher("FailedMonitorRunsOfThisPlatform", "events.amazonaws.com", failures),
            ]
        ),
        opts=ctx.child(component),
    )
    return arn


def _runtime_image(ctx: Aws, platform: Platform) -> None:
    """mlstack's own container (monitor and deploy jobs) and the step images, built from the installed
    mlstack and pushed to the repository this stack creates, tagged by content; `mlstack:runtimeImage` in
    the stack config names a runtime image built elsewhere instead (the step images are built still)."""
    configured = pulumi.Config("mlstack").get(RUNTIME_IMAGE_CONFIG) if needs_runtime_image(ctx) else None
    if configured:
        platform.runtime_image = pulumi.Output.from_input(configured)
        platform.runtime_image_uris = [configured]
    build_runtime = needs_runtime_image(ctx) and not configured
    if not (build_runtime or needs_step_images(ctx)):
        return
    encryption = {"encryption_type": "KMS", "kms_key": ctx.kms_key} if ctx.kms_key else {"encryption_type": "AES256"}
    name = ctx.names.platform("mlstack", max_length=dialect.ECR)
    repository = aws.ecr.Repository(
        "runtime-image",
        name=name,
        image_tag_mutability="IMMUTABLE",
        image_scanning_configuration={"scan_on_push": True},
        encryption_configurations=[encryption],
        tags=ctx.tags,
        opts=ctx.child(platform.component),
    )
    platform.runtime_repository_arns = [ctx.known(repository.arn, ctx.arn("ecr", f"repository/{name}"))]
    token = aws.ecr.get_authorization_token_output(opts=pulumi.InvokeOutputOptions(provider=ctx.provider))
    uri = pulumi.Output.all(ctx.account, repository.name).apply(
        lambda values: f"{values[0]}.dkr.ecr.{ctx.region}.amazonaws.com/{values[1]}"
    )
    registry = uri.apply(lambda value: value.split("/", 1)[0])
    platform.images = RuntimeImages(
        repository=uri,
        opts=ctx.child(platform.component, depends_on=[repository]),
        registries=[{"address": registry, "username": token.user_name, "password": token.password}],
    )
    if build_runtime:
        platform.runtime_image = platform.images.uri(images.runtime_image("aws"))


def build(ctx: Aws) -> Platform:
    component = SpecComponent("platform", ctx.resolved.name)
    bucket, ready = _bucket(ctx, component)
    platform = Platform(component, bucket, ready)
    for concern in _concerns(ctx):
        name = ctx.names.role(concern)
        platform.roles[concern] = role = aws.iam.Role(
            f"{concern}-role",
            name=name,
            description=f"mlstack {ctx.resolved.name}: {concern}",
            assume_role_policy=iam.assume_role(ctx, *CONCERNS[concern]),
            tags=ctx.tags,
            opts=ctx.child(component),
        )
        platform.role_arns[concern] = ctx.known(role.arn, ctx.arn("iam", f"role/{name}", region=False))
    platform.topic_arn = _topic(ctx, component)
    _runtime_image(ctx, platform)
    if any(v.offline for v in ctx.resolved.spec.feature_store.views):
        platform.glue_database = aws.glue.CatalogDatabase(
            "feature-catalog",
            name=ctx.names.glue_database(),
            description=f"Offline feature store of {ctx.resolved.name}",
            tags=ctx.tags,
            opts=ctx.child(component),
        )
    return platform


def role_policy(
    ctx: Aws, platform: Platform, concern: str, name: str, statements: list[iam.Statement], component: SpecComponent
) -> aws.iam.RolePolicy:
    """An inline policy on a concern's role, owned by the component whose resources it covers."""
    return aws.iam.RolePolicy(
        f"{name}-policy",
        name=name,
        role=platform.roles[concern].id,
        policy=iam.document(statements),
        opts=ctx.child(component),
    )
