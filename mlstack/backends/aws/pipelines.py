"""pipelines -> SageMaker Pipeline (definition rendered by pipeline_definition.py), its EventBridge
Scheduler schedule, and its drift triggers.

A drift trigger is an EventBridge rule on the monitor alarm's state change to ALARM whose target
starts the pipeline (StartPipelineExecution, with `MlstackTrigger=alert:<monitor>`); the schedule passes
`MlstackTrigger=schedule`. Both act through the `pipeline-starter` role, allowed to start only the
pipelines that have a schedule or a trigger. A trigger exists for every `triggers: on_alert` of the
pipeline and every `retrain` action of a monitor that names it (the two say the same thing)."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from mlstack.backends.aws import iam, images, names
from mlstack.backends.aws.context import Aws
from mlstack.backends.aws.cron import eventbridge_cron
from mlstack.backends.aws.endpoints import image_of
from mlstack.backends.aws.features import OFFLINE_PREFIX
from mlstack.backends.aws.monitors import alarm_name
from mlstack.backends.aws.pipeline_definition import TRIGGER_PARAMETER, Registration, Settings, render
from mlstack.backends.aws.platform import Platform, role_policy
from mlstack.backends.components import SpecComponent
from mlstack.spec.models import Pipeline

DEFAULT_INSTANCE = "ml.m5.xlarge"
DEPLOY_INSTANCE = "ml.t3.medium"
JOB_PREFIX = "pipelines-"  # SageMaker Pipelines names the jobs it starts pipelines-<execution>-<step>-...


def triggers(ctx: Aws, pipeline: Pipeline) -> list[str]:
    """Monitors whose alarm starts this pipeline."""
    found = [t.on_alert for t in pipeline.triggers]
    for monitor in ctx.resolved.spec.monitors:
        if any(a.type == "retrain" and a.pipeline == pipeline.name for a in monitor.actions):
            found.append(monitor.name)
    return list(dict.fromkeys(found))


def _registration(ctx: Aws, group_name: str, pipeline: Pipeline) -> Registration:
    """The group's serving image is that of its latest declared version (or the pipeline's image)."""
    group = ctx.resolved.spec.model_group(group_name)
    assert group is not None
    latest = max(group.versions, key=lambda v: v.version, default=None)
    if latest is not None and (latest.image or images.has_default(latest.framework)):
        image = image_of(ctx, latest, gpu=False)
    else:
        image = pipeline.image or images.step_image(ctx.region)
    approval = "Approved" if group.approval == "auto" else "PendingManualApproval"
    return Registration(ctx.names.sagemaker(group.name), image, approval)


def _champions(ctx: Aws, pipeline: Pipeline) -> dict[str, float]:
    groups = [s.model_group for s in pipeline.steps if s.kind == "registration" and s.model_group]
    group = ctx.resolved.spec.model_group(groups[0]) if groups else None
    champion = next((v for v in group.versions if "champion" in v.aliases), None) if group else None
    return dict(champion.metrics) if champion else {}


def _settings(ctx: Aws, pipeline: Pipeline, bucket: str, role_arn: str, runtime_image: str | None) -> Settings:
    step_images, instance_types = {}, {}
    for step in pipeline.steps:
        sku = ctx.resolved.step_sku(pipeline.name, step.name)
        if step.kind == "deployment":
            assert runtime_image is not None  # the platform builds it whenever a deployment step exists
            step_images[step.name] = step.image or runtime_image
            instance_types[step.name] = sku.machine_type if sku and step.compute else DEPLOY_INSTANCE
        else:
            step_images[step.name] = step.image or pipeline.image or images.step_image(ctx.region)
            instance_types[step.name] = sku.machine_type if sku else DEFAULT_INSTANCE
    network = ctx.resolved.spec.target.network
    feature_views = set(pipeline.feature_views)
    offline = any(v.offline for v in ctx.resolved.spec.feature_store.views if v.name in feature_views)
    return Settings(
        bucket=bucket,
        role_arn=role_arn,
        images=step_images,
        instance_types=instance_types,
        registrations={
            s.name: _registration(ctx, s.model_group, pipeline)
            for s in pipeline.steps
            if s.kind == "registration" and s.model_group
        },
        endpoints={s.name: ctx.names.sagemaker(s.endpoint) for s in pipeline.steps if s.endpoint},
        champions=_champions(ctx, pipeline),
        feature_groups=[ctx.names.sagemaker(v, max_length=names.FEATURE_GROUP) for v in pipeline.feature_views],
        feature_database=ctx.names.glue_database() if offline else None,
        kms_key=ctx.kms_key,
        network=(
            {"subnets": list(network.subnets), "security_groups": list(network.security_groups)}
            if network and network.subnets and network.security_groups
            else None
        ),
    )


def _policy(ctx: Aws, pipeline: Pipeline, platform: Platform, settings: Settings, component: SpecComponent):
    spec = ctx.resolved.spec
    role = platform.roles["pipeline"]
    jobs = [ctx.arn("sagemaker", f"{kind}-job/{JOB_PREFIX}*") for kind in ("processing", "training")]
    statements = [
        iam.allow(["iam:PassRole"], [role.arn], StringEquals={"iam:PassedToService": "sagemaker.amazonaws.com"}),
        iam.allow(
            [
                "sagemaker:AddTags",
                "sagemaker:CreateProcessingJob",
                "sagemaker:CreateTrainingJob",
                "sagemaker:DescribeProcessingJob",
                "sagemaker:DescribeTrainingJob",
                "sagemaker:StopProcessingJob",
                "sagemaker:StopTrainingJob",
            ],
            jobs,
        ),
        *iam.bucket_prefix(ctx, platform.bucket_name, [f"pipelines/{pipeline.name}/"], write=True),
        *iam.ecr_pull(ctx, [image for image in settings.images.values() if isinstance(image, str)]),
        iam.logs(ctx, "/aws/sagemaker/ProcessingJobs", "/aws/sagemaker/TrainingJobs"),
        *iam.kms(ctx),
    ]
    groups = [s.model_group for s in pipeline.steps if s.kind == "registration" and s.model_group]
    for group in groups:
        vendor = ctx.names.sagemaker(group)
        statements.append(
            iam.allow(
                [
                    "sagemaker:AddTags",
                    "sagemaker:CreateModelPackage",
                    "sagemaker:DescribeModelPackage",
                    "sagemaker:DescribeModelPackageGroup",
                    "sagemaker:UpdateModelPackage",
                ],
                [
                    ctx.arn("sagemaker", f"model-package-group/{vendor}"),
                    ctx.arn("sagemaker", f"model-package/{vendor}/*"),
                ],
            )
        )
    # Evaluation compares with the champion: read the groups' declared artifacts.
    declared = [v.artifact for g in groups if (found := spec.model_group(g)) for v in found.versions]
    statements += iam.read_uris(ctx, [pipeline.data, *declared])
    if pipeline.feature_views:
        statements += iam.bucket_prefix(ctx, platform.bucket_name, [OFFLINE_PREFIX], write=False)
        if settings.feature_database:
            database = settings.feature_database
            statements.append(
                iam.allow(
                    ["glue:GetDatabase", "glue:GetPartitions", "glue:GetTable"],
                    [
                        ctx.arn("glue", "catalog"),
                        ctx.arn("glue", f"database/{database}"),
                        ctx.arn("glue", f"table/{database}/*"),
                    ],
                )
            )
    deploys = [ctx.names.sagemaker(s.endpoint) for s in pipeline.steps if s.kind == "deployment" and s.endpoint]
    if deploys:
        # The deploy job rolls the endpoint to the registered model through a new configuration.
        resources = []
        for endpoint in deploys:
            resources += [
                ctx.arn("sagemaker", f"endpoint/{endpoint}"),
                ctx.arn("sagemaker", f"endpoint-config/{endpoint}-*"),
                ctx.arn("sagemaker", f"model/{endpoint}-*"),
            ]
        statements += [
            iam.allow(
                [
                    "sagemaker:AddTags",
                    "sagemaker:CreateEndpointConfig",
                    "sagemaker:CreateModel",
                    "sagemaker:DescribeEndpoint",
                    "sagemaker:DescribeEndpointConfig",
                    "sagemaker:UpdateEndpoint",
                ],
                resources,
            ),
            iam.allow(
                ["iam:PassRole"],
                [platform.roles["endpoint"].arn],
                StringEquals={"iam:PassedToService": "sagemaker.amazonaws.com"},
            ),
        ]
        if platform.runtime_repository is not None:
            statements.append(iam.repository_pull(platform.runtime_repository.arn))
    return role_policy(
        ctx, platform, "pipeline", f"pipeline-{ctx.names.sagemaker(pipeline.name)}", statements, component
    )


def _starts(ctx: Aws, pipeline: Pipeline, platform: Platform, resource: aws.sagemaker.Pipeline, component):
    """Schedule and drift triggers, through the pipeline-starter role."""
    monitors = triggers(ctx, pipeline)
    if not pipeline.schedule and not monitors:
        return
    starter = platform.roles["pipeline-starter"]
    start = role_policy(
        ctx,
        platform,
        "pipeline-starter",
        f"start-{ctx.names.sagemaker(pipeline.name)}",
        [iam.allow(["sagemaker:StartPipelineExecution"], [resource.arn])],
        component,
    )
    if pipeline.schedule:
        aws.scheduler.Schedule(
            f"{pipeline.name}-schedule",
            name=ctx.names.sagemaker(f"{pipeline.name}-schedule", max_length=names.SCHEDULE),
            description=f"mlstack: run {pipeline.name} on '{pipeline.schedule}' (UTC)",
            schedule_expression=eventbridge_cron(pipeline.schedule),
            schedule_expression_timezone="UTC",
            flexible_time_window={"mode": "OFF"},
            kms_key_arn=ctx.kms_key,
            target={
                "arn": resource.arn,
                "role_arn": starter.arn,
                "sagemaker_pipeline_parameters": {
                    "pipeline_parameters": [{"name": TRIGGER_PARAMETER, "value": "schedule"}]
                },
            },
            opts=ctx.child(component, depends_on=[start]),
        )
    for monitor in monitors:
        rule = aws.cloudwatch.EventRule(
            f"{pipeline.name}-on-{monitor}",
            name=ctx.names.sagemaker(f"{pipeline.name}-on-{monitor}", max_length=names.RULE),
            description=f"mlstack: retrain {pipeline.name} when monitor {monitor} alarms",
            event_pattern=pulumi.Output.json_dumps(
                {
                    "source": ["aws.cloudwatch"],
                    "detail-type": ["CloudWatch Alarm State Change"],
                    "resources": [ctx.arn("cloudwatch", f"alarm:{alarm_name(ctx, monitor)}")],
                    "detail": {"state": {"value": ["ALARM"]}},
                }
            ),
            tags=ctx.tags,
            opts=ctx.child(component),
        )
        aws.cloudwatch.EventTarget(
            f"{pipeline.name}-on-{monitor}-start",
            rule=rule.name,
            arn=resource.arn,
            role_arn=starter.arn,
            sagemaker_pipeline_target={
                "pipeline_parameter_lists": [{"name": TRIGGER_PARAMETER, "value": f"alert:{monitor}"}]
            },
            opts=ctx.child(component, depends_on=[start]),
        )


def build(ctx: Aws, platform: Platform) -> dict[str, aws.sagemaker.Pipeline]:
    pipelines = {}
    for pipeline in ctx.resolved.spec.pipelines:
        component = SpecComponent("pipeline", pipeline.name)
        role = platform.roles["pipeline"]
        needs_runtime = any(s.kind == "deployment" and not s.image for s in pipeline.steps)
        runtime = platform.runtime_image if needs_runtime else None
        # The policy's ECR statements need the step images, known before the Outputs resolve.
        static = _settings(ctx, pipeline, "", "", runtime and "mlstack-runtime-image")
        policy = _policy(ctx, pipeline, platform, static, component)
        definition = pulumi.Output.all(platform.bucket_name, role.arn, runtime).apply(
            lambda values, p=pipeline: render(p, _settings(ctx, p, values[0], values[1], values[2]))
        )
        resource = aws.sagemaker.Pipeline(
            pipeline.name,
            pipeline_name=ctx.names.sagemaker(pipeline.name, max_length=names.PIPELINE),
            pipeline_display_name=ctx.names.sagemaker(pipeline.name, max_length=names.PIPELINE),
            pipeline_description=pipeline.description or None,
            role_arn=role.arn,
            pipeline_definition=definition,
            tags=ctx.tags,
            opts=ctx.child(component, depends_on=[policy, *platform.bucket_ready]),
        )
        _starts(ctx, pipeline, platform, resource, component)
        component.done({"name": resource.pipeline_name, "arn": resource.arn})
        pipelines[pipeline.name] = resource
    return pipelines
