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

from mlstack.backends.aws import iam, images, job_compute, tracking
from mlstack.backends.aws.context import Aws
from mlstack.backends.aws.cron import eventbridge_cron
from mlstack.backends.aws.endpoints import image_of
from mlstack.backends.aws.features import OFFLINE_PREFIX
from mlstack.backends.aws.monitors import alarm_name
from mlstack.backends.aws.pipeline_definition import TRIGGER_PARAMETER, Registration, Settings, render
from mlstack.backends.aws.platform import Platform, role_policy
from mlstack.backends.aws.registry import package_group_arn
from mlstack.backends.components import SpecComponent
from mlstack.backends.serving_images import serves_on_gpu
from mlstack.runtime.contract import CODE_KINDS
from mlstack.spec.models import Pipeline
from mlstack.targets import aws as dialect

DEPLOY_INSTANCE = "ml.t3.medium"
JOB_PREFIX = dialect.PIPELINE_JOB_PREFIX


def needs_runtime(pipeline: Pipeline) -> bool:
    """Deployment steps without an image of their own run mlstack's runtime image."""
    return any(s.kind == "deployment" and not s.image for s in pipeline.steps)


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
        image = image_of(ctx, latest, gpu=serves_on_gpu(ctx.resolved, group.name))
    else:
        image = pipeline.image or images.step_image(ctx.region)
    approval = "Approved" if group.approval == "auto" else "PendingManualApproval"
    promotion = ctx.resolved.spec.registry.promotion_of(group)
    if promotion is None:
        return Registration(ctx.names.sagemaker(group.name), image, approval)
    # A stage after the first deploys only versions promoted to it: approved by a person, whatever the group's policy.
    gated = promotion.gated(ctx.resolved.environment)
    serves = promotion.stage_of(ctx.resolved.environment) if gated else None
    approval = "PendingManualApproval" if gated else approval
    return Registration(ctx.names.sagemaker(group.name), image, approval, promotion.stages[0], serves)


def code_images(ctx: Aws, pipeline: Pipeline) -> list[str]:
    """The images the pipeline's code steps name (else AWS's scikit-learn image), before mlstack's adapter
    is added to them."""
    found = [
        step.image or pipeline.image or images.step_image(ctx.region)
        for step in pipeline.steps
        if step.kind in CODE_KINDS
    ]
    return list(dict.fromkeys(found))


def _settings(
    ctx: Aws,
    pipeline: Pipeline,
    bucket: str,
    role_arn: str,
    runtime_image: str | None,
    step_images_built: dict[str, str] | None = None,
    batch_models: dict[str, str] | None = None,
    tracking_arn: str | None = None,
) -> Settings:
    """`step_images_built`: each code image -> the same with mlstack's step adapter, as this stack pushed it;
    `batch_models`: batch job -> the SageMaker model its batch_scoring steps run."""
    from mlstack.backends.aws.batch import transform_arguments  # batch.py schedules through this module

    built = step_images_built or {}
    step_images, instance_types, transforms = {}, {}, {}
    plans = {p.name: p for p in ctx.resolved.batch_jobs}
    for step in pipeline.steps:
        if step.kind == "batch_scoring":  # the batch job's own Transform: its model, SKU and instances
            assert step.batch_job is not None  # the spec models require it
            model = (batch_models or {}).get(step.batch_job, "")
            transforms[step.name] = transform_arguments(plans[step.batch_job], model, ctx.kms_key)
            continue
        compute = step.compute or pipeline.compute
        profile = ctx.resolved.profile(compute) if compute is not None else None
        if step.kind == "deployment":
            image = step.image or runtime_image
            assert image is not None  # the platform builds the runtime image whenever a step needs it
            step_images[step.name] = image
            # The deploy job only calls SageMaker's API: the smallest instance unless the step names one.
            chosen = ctx.resolved.profile(step.compute) if step.compute is not None else None
            instance_types[step.name] = job_compute.instance_type(chosen, "processing") if chosen else DEPLOY_INSTANCE
        else:
            base = step.image or pipeline.image or images.step_image(ctx.region)
            step_images[step.name] = built.get(base, base)
            instance_types[step.name] = job_compute.instance_type(profile, job_compute.job_kind(step.kind))
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
        transforms=transforms,
        champions=ctx.resolved.champion_metrics(pipeline),
        feature_groups=[ctx.names.sagemaker(v, max_length=dialect.FEATURE_GROUP) for v in pipeline.feature_views],
        feature_database=ctx.names.glue_database() if offline else None,
        kms_key=ctx.kms_key,
        tracking=tracking.environment(tracking_arn, ctx.names.sagemaker(pipeline.name, max_length=dialect.PIPELINE)),
        network=(
            {"subnets": list(network.subnets), "security_groups": list(network.security_groups)}
            if network and network.subnets and network.security_groups
            else None
        ),
    )


def _policy(ctx: Aws, pipeline: Pipeline, platform: Platform, settings: Settings, component: SpecComponent):
    spec = ctx.resolved.spec
    role_arn = platform.role_arns["pipeline"]
    jobs = [ctx.arn("sagemaker", f"{kind}-job/{JOB_PREFIX}*") for kind in ("processing", "training")]
    statements = [
        iam.allow(["iam:PassRole"], [role_arn], StringEquals={"iam:PassedToService": "sagemaker.amazonaws.com"}),
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
        # the step images (and the runtime image) are pulled from the stack's own repository
        *iam.ecr_pull(
            ctx,
            [*settings.images.values(), *(platform.runtime_image_uris if needs_runtime(pipeline) else [])],
            platform.runtime_repository_arns,
        ),
        iam.logs(ctx, "/aws/sagemaker/ProcessingJobs", "/aws/sagemaker/TrainingJobs"),
        *iam.kms(ctx),
        *tracking.statements(ctx, platform),
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
                [package_group_arn(ctx, group), ctx.arn("sagemaker", f"model-package/{vendor}/*")],
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
    if any(s.kind == "batch_scoring" for s in pipeline.steps):
        # The Transform step starts a transform job (named like the other jobs SageMaker Pipelines starts) on
        # the batch job's model; CreateTransformJob passes no role (the model runs as its own), so none is passed.
        statements.append(
            iam.allow(
                [
                    "sagemaker:AddTags",
                    "sagemaker:CreateTransformJob",
                    "sagemaker:DescribeTransformJob",
                    "sagemaker:StopTransformJob",
                ],
                [ctx.arn("sagemaker", f"transform-job/{JOB_PREFIX}*")],
            )
        )
    deploys = [ctx.names.sagemaker(s.endpoint) for s in pipeline.steps if s.kind == "deployment" and s.endpoint]
    if deploys:
        # The deploy job (mlstack.jobs.deploy) rolls the endpoint to the registered model through a new
        # configuration, copying the serving model's role, network and tags and the configuration's tags.
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
                    "sagemaker:DescribeModel",
                    "sagemaker:ListTags",
                    "sagemaker:UpdateEndpoint",
                ],
                resources,
            ),
            iam.allow(
                ["iam:PassRole"],
                [platform.role_arns["endpoint"]],
                StringEquals={"iam:PassedToService": "sagemaker.amazonaws.com"},
            ),
        ]
    return role_policy(
        ctx, platform, "pipeline", f"pipeline-{ctx.names.sagemaker(pipeline.name)}", statements, component
    )


def _starts(ctx: Aws, pipeline: Pipeline, platform: Platform, arn: pulumi.Output[str], component: SpecComponent):
    """Schedule and drift triggers, through the pipeline-starter role."""
    monitors = triggers(ctx, pipeline)
    if not pipeline.schedule and not monitors:
        return
    starter = platform.role_arns["pipeline-starter"]
    start = role_policy(
        ctx,
        platform,
        "pipeline-starter",
        f"start-{ctx.names.sagemaker(pipeline.name)}",
        # A schedule encrypted with the platform's key: Scheduler decrypts its payload with the role it
        # assumes (https://docs.aws.amazon.com/scheduler/latest/UserGuide/encryption-rest.html).
        [iam.allow(["sagemaker:StartPipelineExecution"], [arn]), *(iam.kms(ctx) if pipeline.schedule else [])],
        component,
    )
    if pipeline.schedule:
        schedule(ctx, pipeline.name, pipeline.schedule, arn, starter, ctx.child(component, depends_on=[start]))
    for monitor in monitors:
        rule = aws.cloudwatch.EventRule(
            f"{pipeline.name}-on-{monitor}",
            name=ctx.names.sagemaker(f"{pipeline.name}-on-{monitor}", max_length=dialect.RULE),
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
            arn=arn,
            role_arn=starter,
            sagemaker_pipeline_target={
                "pipeline_parameter_lists": [{"name": TRIGGER_PARAMETER, "value": f"alert:{monitor}"}]
            },
            opts=ctx.child(component, depends_on=[start]),
        )


def schedule(
    ctx: Aws, name: str, cron: str, arn: pulumi.Output[str], starter: pulumi.Input[str], opts: pulumi.ResourceOptions
) -> aws.scheduler.Schedule:
    """An EventBridge Scheduler schedule starting a SageMaker pipeline with `MlstackTrigger=schedule`."""
    return aws.scheduler.Schedule(
        f"{name}-schedule",
        name=ctx.names.sagemaker(f"{name}-schedule", max_length=dialect.SCHEDULE),
        description=f"mlstack: run {name} on '{cron}' (UTC)",
        schedule_expression=eventbridge_cron(cron),
        schedule_expression_timezone="UTC",
        flexible_time_window={"mode": "OFF"},
        state="DISABLED" if ctx.resolved.development else None,  # a developer's copy runs when asked
        kms_key_arn=ctx.kms_key,
        target={
            "arn": arn,
            "role_arn": starter,
            "sagemaker_pipeline_parameters": {
                "pipeline_parameters": [{"name": TRIGGER_PARAMETER, "value": "schedule"}]
            },
        },
        opts=opts,
    )


def build(
    ctx: Aws, platform: Platform, batch_models: dict[str, aws.sagemaker.Model] | None = None
) -> dict[str, aws.sagemaker.Pipeline]:
    """`batch_models`: batch job -> its SageMaker model (mlstack.backends.aws.batch), which the pipelines'
    batch_scoring steps run."""
    pipelines = {}
    models = batch_models or {}
    for pipeline in ctx.resolved.spec.pipelines:
        component = SpecComponent("pipeline", pipeline.name)
        role_arn = platform.role_arns["pipeline"]
        runtime = platform.runtime_image if needs_runtime(pipeline) else None
        # The policy needs the step images, which are known before the Outputs resolve (the runtime
        # image's repository is granted by its ARN).
        static = _settings(ctx, pipeline, "", "", "" if runtime else None)
        policy = _policy(ctx, pipeline, platform, static, component)
        built = {base: platform.step_image(base) for base in code_images(ctx, pipeline)}
        scored = {s.batch_job: models[s.batch_job] for s in pipeline.steps if s.batch_job}
        names = {job: model.name for job, model in scored.items()}
        values = (platform.bucket_name, role_arn, runtime, pulumi.Output.all(**built), pulumi.Output.all(**names))
        definition = pulumi.Output.all(*values, platform.tracking_arn).apply(
            lambda v, p=pipeline: render(p, _settings(ctx, p, v[0], v[1], v[2], v[3], v[4], v[5]))
        )
        vendor = ctx.names.sagemaker(pipeline.name, max_length=dialect.PIPELINE)
        resource = aws.sagemaker.Pipeline(
            pipeline.name,
            pipeline_name=vendor,
            pipeline_display_name=vendor,
            pipeline_description=pipeline.description or None,
            role_arn=role_arn,
            pipeline_definition=definition,
            tags=ctx.tags,
            opts=ctx.child(component, depends_on=[policy, *platform.bucket_ready, *scored.values()]),
        )
        arn = ctx.known(resource.arn, ctx.arn("sagemaker", f"pipeline/{vendor}"))
        _starts(ctx, pipeline, platform, arn, component)
        component.done({"name": resource.pipeline_name, "arn": arn})
        pipelines[pipeline.name] = resource
    return pipelines
