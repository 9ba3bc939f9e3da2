"""monitors -> a scheduled evaluation of the endpoint's captured data, an alarm, and actions.

By default every monitor is a one-step SageMaker pipeline running mlstack's own evaluator in the runtime
image the stack builds (`python3 -m mlstack.monitor_job`, monitor_pipeline.py), started on the monitor's
schedule by EventBridge Scheduler: AWS has closed SageMaker Model Monitor to new customers, and this
needs only Processing, Pipelines, S3 and CloudWatch. Accounts that have Model Monitor may set
`target.aws.model_monitor: true`, and then (signals.py):

- `data_quality`: a DataQualityJobDefinition running SageMaker's analyzer against the baseline
  statistics and constraints in `s3://<bucket>/monitoring/<monitor>/baseline/`, which a baselining job
  over the spec's `baseline` dataset writes (SageMaker's suggest_baseline; not run by `pulumi up`);
- `model_quality`: a ModelQualityJobDefinition from pulumi_aws_native, because pulumi_aws has no
  model-quality job definition; it merges captured predictions with the labels under `ground_truth`;
- the other metrics run mlstack's evaluator as above.

One CloudWatch alarm per monitor watches the signal; its actions: `alert` publishes to the platform's SNS
topic (or `target.aws.alarm_topic`), with e-mail/https subscriptions filtered to the alarms that name
them; `retrain` is an EventBridge rule starting the pipeline (pipelines.py); `rollback` adds the alarm
to the endpoint's auto-rollback alarms, so a deployment in progress rolls back when it fires. A failed
run alerts the monitor's recipients through an EventBridge rule."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from mlstack.backends.aws import iam, images, monitor_pipeline, signals
from mlstack.backends.aws.alarms import signal_alarm
from mlstack.backends.aws.context import Aws
from mlstack.backends.aws.cron import eventbridge_cron
from mlstack.backends.aws.platform import Platform, failure_rule_name, role_policy
from mlstack.backends.components import SpecComponent
from mlstack.spec.models import Monitor
from mlstack.targets import aws as dialect
from mlstack.targets.schedules import interval_hours, sagemaker_expression

ENDPOINT_INPUT_PATH = "/opt/ml/processing/input/endpoint"
TOPIC_ARN = re.compile(r"arn:aws[a-z-]*:sns:.+")


def alarm_name(ctx: Aws, monitor: str) -> str:
    return ctx.names.alarm(monitor)


def schedule_name(ctx: Aws, monitor: str) -> str:
    return ctx.names.sagemaker(monitor)


def pipeline_name(ctx: Aws, monitor: str) -> str:
    return ctx.names.sagemaker(f"monitor-{monitor}", max_length=dialect.PIPELINE)


def _engine(ctx: Aws, monitor: Monitor) -> signals.Engine:
    return signals.engine(monitor, signals.model_monitor(ctx.resolved.spec))


def dimensions(ctx: Aws, monitor: Monitor) -> dict[str, str]:
    """The alarm's dimensions: those Model Monitor publishes with, or those mlstack's job is given."""
    endpoint = ctx.names.sagemaker(monitor.endpoint)
    if _engine(ctx, monitor) == "mlstack":
        return {"Endpoint": endpoint, "Monitor": schedule_name(ctx, monitor.name)}
    return {"Endpoint": endpoint, "MonitoringSchedule": schedule_name(ctx, monitor.name)}


def job_definition_name(ctx: Aws, monitor: Monitor) -> str:
    """Job definitions cannot change: a new one (new name) is created, the schedule moves to it, and the
    old one, no longer in use, is deleted."""
    used = monitor.model_dump(
        mode="json", include={"kind", "endpoint", "baseline", "features", "metric", "problem_type", "ground_truth"}
    )
    content = {"monitor": used, "key": ctx.kms_key, "network": _network(ctx), "region": ctx.region}
    return ctx.names.versioned(content, monitor.name, "job")


@dataclass
class Monitors:
    components: dict[str, SpecComponent] = field(default_factory=dict)
    alarms: dict[str, aws.cloudwatch.MetricAlarm] = field(default_factory=dict)

    def rollback_alarms(self, ctx: Aws) -> dict[str, list[aws.cloudwatch.MetricAlarm]]:
        """endpoint -> alarms of the monitors whose action is rollback."""
        found: dict[str, list[aws.cloudwatch.MetricAlarm]] = {}
        for monitor in ctx.resolved.spec.monitors:
            if any(a.type == "rollback" for a in monitor.actions) and monitor.name in self.alarms:
                found.setdefault(monitor.endpoint, []).append(self.alarms[monitor.name])
        return found


def _period(monitor: Monitor) -> int:
    hours = interval_hours(monitor.schedule)
    return (hours or 24) * 3600


def _alarm_actions(platform: Platform, monitor: Monitor) -> list[pulumi.Input[str]]:
    alerts = [a for a in monitor.actions if a.type == "alert"]
    if not alerts:
        return []
    assert platform.topic_arn is not None  # the platform builds a topic whenever a monitor alerts
    topics = sorted({to for a in alerts for to in a.to if TOPIC_ARN.fullmatch(to)})
    return [platform.topic_arn, *topics]


def alarms(ctx: Aws, platform: Platform) -> Monitors:
    """The monitor components and their alarms, before the endpoints (whose rollback may use them)."""
    found = Monitors()
    for monitor in ctx.resolved.spec.monitors:
        component = SpecComponent("monitor", monitor.name)
        found.components[monitor.name] = component
        signal = signals.signal(monitor, signals.model_monitor(ctx.resolved.spec))
        if signal is None:
            continue
        comparison = "above" if signal.comparison == "GreaterThanThreshold" else "below"
        found.alarms[monitor.name] = signal_alarm(
            ctx,
            f"{monitor.name}-alarm",
            alarm_name(ctx, monitor.name),
            signal,
            dimensions(ctx, monitor),
            _period(monitor),
            _alarm_actions(platform, monitor),
            f"mlstack monitor {monitor.name}: {monitor.metric} of {monitor.endpoint} {comparison} {signal.threshold}",
            component,
        )
    _subscriptions(ctx, platform)
    return found


def _subscriptions(ctx: Aws, platform: Platform) -> None:
    """One subscription per e-mail address or URL, delivering only the alarms of monitors that name it."""
    recipients: dict[str, list[str]] = {}
    for monitor in ctx.resolved.spec.monitors:
        for action in monitor.actions:
            if action.type == "alert":
                for to in action.to:
                    if not TOPIC_ARN.fullmatch(to):
                        recipients.setdefault(to, []).append(alarm_name(ctx, monitor.name))
    for to, names in sorted(recipients.items()):
        assert platform.topic_arn is not None
        aws.sns.TopicSubscription(
            f"alert-{re.sub(r'[^a-zA-Z0-9]+', '-', to).strip('-').lower()}",
            topic=platform.topic_arn,
            protocol="https" if to.startswith("https://") else "email",
            endpoint=to,
            filter_policy_scope="MessageBody",
            filter_policy=pulumi.Output.json_dumps({"AlarmName": sorted(set(names))}),
            opts=ctx.child(platform.component),
        )


def _cluster(ctx: Aws) -> dict[str, Any]:
    return {
        "instance_count": 1,
        "instance_type": monitor_pipeline.INSTANCE_TYPE,
        "volume_size_in_gb": monitor_pipeline.VOLUME_GB,
        "volume_kms_key_id": ctx.kms_key,
    }


def _network(ctx: Aws) -> dict[str, Any] | None:
    network = ctx.resolved.spec.target.network
    if not network or not network.subnets or not network.security_groups:
        return None
    return {
        "enable_network_isolation": False,
        "enable_inter_container_traffic_encryption": True,
        "vpc_config": {"subnets": list(network.subnets), "security_group_ids": list(network.security_groups)},
    }


def _output(platform: Platform, monitor: Monitor) -> dict[str, Any]:
    return {
        "s3_output": {
            "s3_uri": platform.uri(f"monitoring/{monitor.name}/reports"),
            "local_path": monitor_pipeline.OUTPUT_PATH,
            "s3_upload_mode": "EndOfJob",
        }
    }


def _endpoint_input(ctx: Aws, monitor: Monitor) -> dict[str, Any]:
    return {
        "endpoint_name": ctx.names.sagemaker(monitor.endpoint),
        "local_path": ENDPOINT_INPUT_PATH,
        "s3_data_distribution_type": "FullyReplicated",
        "s3_input_mode": "File",
    }


def _captures(ctx: Aws, platform: Platform, monitor: Monitor) -> tuple[pulumi.Input[str], list[iam.Statement]]:
    """The endpoint's data capture prefix (SageMaker files it under `<destination>/<endpoint>/`), and
    reading it."""
    endpoint = ctx.resolved.monitor_plan(monitor).endpoint.endpoint
    assert endpoint.data_capture is not None  # spec rules require capture
    destination = endpoint.data_capture.destination
    vendor = ctx.names.sagemaker(endpoint.name)
    if destination:
        return f"{destination.rstrip('/')}/{vendor}/", iam.read_uris(ctx, [destination.rstrip("/") + "/"])
    prefix = f"capture/{endpoint.name}/"
    return platform.uri(f"{prefix}{vendor}/"), iam.bucket_prefix(ctx, platform.bucket_name, [prefix], write=False)


def _policy(ctx: Aws, platform: Platform, monitor: Monitor, component: SpecComponent) -> aws.iam.RolePolicy:
    """Read the endpoint's captures, the baseline and labels; write this monitor's reports; publish its
    metric; and, for mlstack's evaluator, run the pipeline's processing job as this same role."""
    engine = _engine(ctx, monitor)
    statements = [
        *iam.bucket_prefix(ctx, platform.bucket_name, [f"monitoring/{monitor.name}/"], write=True),
        *iam.read_uris(ctx, [monitor.baseline, monitor.ground_truth and monitor.ground_truth.rstrip("/") + "/"]),
        *_captures(ctx, platform, monitor)[1],
        iam.logs(ctx, "/aws/sagemaker/ProcessingJobs"),
        *iam.kms(ctx),
    ]
    if engine == "mlstack":
        role = platform.role_arns["monitoring"]
        statements += [
            iam.put_metrics(dialect.MONITOR_NAMESPACE),
            *iam.ecr_pull(ctx, platform.runtime_image_uris, platform.runtime_repository_arns),
            iam.allow(
                [
                    "sagemaker:AddTags",
                    "sagemaker:CreateProcessingJob",
                    "sagemaker:DescribeProcessingJob",
                    "sagemaker:StopProcessingJob",
                ],
                [ctx.arn("sagemaker", f"processing-job/{dialect.PIPELINE_JOB_PREFIX}*")],
            ),
            iam.allow(["iam:PassRole"], [role], StringEquals={"iam:PassedToService": "sagemaker.amazonaws.com"}),
        ]
    else:
        statements += [
            iam.put_metrics(dialect.DATA_NAMESPACE, dialect.MODEL_NAMESPACE),
            *iam.ecr_pull(ctx, [images.monitor_analyzer_image(ctx.region)]),
        ]
    return role_policy(
        ctx, platform, "monitoring", f"monitor-{schedule_name(ctx, monitor.name)}", statements, component
    )


def _schedule(ctx: Aws, monitor: Monitor, config: dict[str, Any], component: SpecComponent, depends: list):
    expression = sagemaker_expression(monitor.schedule)
    assert expression is not None  # the AWS target's schedule rule admits only what SageMaker runs
    return aws.sagemaker.MonitoringSchedule(
        f"{monitor.name}-schedule",
        name=schedule_name(ctx, monitor.name),
        monitoring_schedule_config={**config, "schedule_config": {"schedule_expression": expression}},
        tags={**ctx.tags, "mlstack-monitor-kind": monitor.kind},
        opts=ctx.child(component, depends_on=depends),
    )


def _data_quality(ctx: Aws, platform: Platform, monitor: Monitor, component: SpecComponent, depends: list):
    baseline = f"monitoring/{monitor.name}/baseline"
    job = aws.sagemaker.DataQualityJobDefinition(
        f"{monitor.name}-job",
        name=job_definition_name(ctx, monitor),
        role_arn=platform.role_arns["monitoring"],
        data_quality_app_specification={
            "image_uri": images.monitor_analyzer_image(ctx.region),
            "environment": {"publish_cloudwatch_metrics": "Enabled"},
        },
        data_quality_baseline_config={
            "constraints_resource": {"s3_uri": platform.uri(f"{baseline}/constraints.json")},
            "statistics_resource": {"s3_uri": platform.uri(f"{baseline}/statistics.json")},
        },
        data_quality_job_input={"endpoint_input": _endpoint_input(ctx, monitor)},
        data_quality_job_output_config={"monitoring_outputs": _output(platform, monitor), "kms_key_id": ctx.kms_key},
        job_resources={"cluster_config": _cluster(ctx)},
        network_config=_network(ctx),
        stopping_condition={"max_runtime_in_seconds": monitor_pipeline.MAX_RUNTIME},
        tags=ctx.tags,
        opts=ctx.child(component, depends_on=depends),
    )
    config = {"monitoring_type": "DataQuality", "monitoring_job_definition_name": job.name}
    return _schedule(ctx, monitor, config, component, [job])


def _model_quality(ctx: Aws, platform: Platform, monitor: Monitor, component: SpecComponent, depends: list):
    from pulumi_aws_native import sagemaker as native

    assert monitor.problem_type is not None and monitor.ground_truth is not None
    # Captured responses are CSV with the prediction first; labels arrive under ground_truth. No baseline
    # constraints: nothing writes them, and the alarm on the published metric holds the spec's threshold.
    endpoint_input = {**_endpoint_input(ctx, monitor), **dialect.MODEL_QUALITY_ATTRIBUTES[monitor.problem_type]}
    job = native.ModelQualityJobDefinition(
        f"{monitor.name}-job",
        job_definition_name=job_definition_name(ctx, monitor),
        endpoint_name=endpoint_input["endpoint_name"],
        role_arn=platform.role_arns["monitoring"],
        model_quality_app_specification={
            "image_uri": images.monitor_analyzer_image(ctx.region),
            "problem_type": dialect.PROBLEM_TYPES[monitor.problem_type],
            "environment": {"publish_cloudwatch_metrics": "Enabled"},
        },
        model_quality_job_input={
            "endpoint_input": endpoint_input,
            "ground_truth_s3_input": {"s3_uri": monitor.ground_truth},
        },
        model_quality_job_output_config={"monitoring_outputs": [_output(platform, monitor)], "kms_key_id": ctx.kms_key},
        job_resources={"cluster_config": _cluster(ctx)},
        network_config=_network(ctx),
        stopping_condition={"max_runtime_in_seconds": monitor_pipeline.MAX_RUNTIME},
        tags=[{"key": k, "value": v} for k, v in sorted(ctx.tags.items())],
        opts=ctx.native_child(component, depends_on=depends),
    )
    config = {"monitoring_type": "ModelQuality", "monitoring_job_definition_name": job.job_definition_name}
    return _schedule(ctx, monitor, config, component, [job])


def _mlstack(ctx: Aws, platform: Platform, monitor: Monitor, component: SpecComponent, depends: list):
    """mlstack's evaluator as a one-step pipeline, and the schedule that starts it (paused in
    development mode, as pipeline schedules are)."""
    assert platform.runtime_image is not None  # the platform builds it whenever a monitor needs it
    vendor = pipeline_name(ctx, monitor.name)
    captures, _ = _captures(ctx, platform, monitor)
    network = _network(ctx)
    role = platform.role_arns["monitoring"]

    def render(values: list[Any]) -> str:
        image, role_arn, captured, reports = values
        job = monitor_pipeline.Job(
            monitor=monitor,
            threshold=signals.threshold(monitor),
            image=image,
            role_arn=role_arn,
            captures=captured,
            reports=reports,
            hours=interval_hours(monitor.schedule) or 24,
            namespace=dialect.MONITOR_NAMESPACE,
            metric_name=signals.metric_name(monitor),
            dimensions=dimensions(ctx, monitor),
            region=ctx.region,
            kms_key=ctx.kms_key,
            network=network
            and {
                "subnets": network["vpc_config"]["subnets"],
                "security_groups": network["vpc_config"]["security_group_ids"],
            },
        )
        return monitor_pipeline.definition(job)

    definition = pulumi.Output.all(
        platform.runtime_image, role, captures, platform.uri(f"monitoring/{monitor.name}/reports")
    ).apply(render)
    pipeline = aws.sagemaker.Pipeline(
        f"{monitor.name}-pipeline",
        pipeline_name=vendor,
        pipeline_display_name=vendor,
        pipeline_description=f"mlstack monitor {monitor.name}: {monitor.kind} {monitor.metric} of {monitor.endpoint}",
        role_arn=role,
        pipeline_definition=definition,
        tags={**ctx.tags, "mlstack-monitor-kind": monitor.kind},
        opts=ctx.child(component, depends_on=depends),
    )
    arn = ctx.known(pipeline.arn, ctx.arn("sagemaker", f"pipeline/{vendor}"))
    start = role_policy(
        ctx,
        platform,
        "pipeline-starter",
        f"start-{vendor}",
        # The schedule is encrypted with the platform's key: Scheduler decrypts it with this role.
        [iam.allow(["sagemaker:StartPipelineExecution"], [arn]), *iam.kms(ctx)],
        component,
    )
    aws.scheduler.Schedule(
        f"{monitor.name}-schedule",
        name=ctx.names.sagemaker(f"{monitor.name}-monitor", max_length=dialect.SCHEDULE),
        description=f"mlstack: run monitor {monitor.name} on '{monitor.schedule}' (UTC)",
        schedule_expression=eventbridge_cron(monitor.schedule),
        schedule_expression_timezone="UTC",
        flexible_time_window={"mode": "OFF"},
        state="DISABLED" if ctx.resolved.development else None,
        kms_key_arn=ctx.kms_key,
        target={
            "arn": dialect.START_PIPELINE_TARGET.format(partition=ctx.partition),
            "role_arn": platform.role_arns["pipeline-starter"],
            "input": monitor_pipeline.start_input(vendor),
        },
        opts=ctx.child(component, depends_on=[start, pipeline]),
    )
    return pipeline, arn


def _failed_runs(ctx: Aws, monitor: Monitor, runs: pulumi.Output[str]) -> tuple[dict[str, Any], str]:
    """(the event pattern of a failed run, the event field naming it): a failed execution of the monitor's
    pipeline, or a failed processing job of its Model Monitor schedule (`runs`: the pipeline's or the
    schedule's ARN)."""
    if _engine(ctx, monitor) == "mlstack":
        detail = {"currentPipelineExecutionStatus": ["Failed"], "pipelineArn": [runs]}
        return {"detail-type": [dialect.FAILED_PIPELINE_EVENT], "detail": detail}, "$.detail.pipelineExecutionArn"
    detail = {"ProcessingJobStatus": ["Failed"], "MonitoringScheduleArn": [runs]}
    return {"detail-type": [dialect.FAILED_RUN_EVENT], "detail": detail}, "$.detail.ProcessingJobName"


def _failure_alert(
    ctx: Aws, platform: Platform, monitor: Monitor, runs: pulumi.Output[str], component: SpecComponent
) -> None:
    """A run that fails publishes no metric, and the alarm (missing data: not breaching) stays quiet: an
    EventBridge rule on the failed run alerts the monitor's recipients instead. The message names the
    monitor's alarm, so the subscriptions' AlarmName filter lets it through to the same people."""
    if platform.topic_arn is None or not any(a.type == "alert" for a in monitor.actions):
        return
    pattern, run = _failed_runs(ctx, monitor, runs)
    rule = aws.cloudwatch.EventRule(
        f"{monitor.name}-failed",
        name=failure_rule_name(ctx, monitor.name),
        description=f"mlstack: alert when a run of monitor {monitor.name} fails",
        event_pattern=pulumi.Output.json_dumps({"source": ["aws.sagemaker"], **pattern}),
        tags=ctx.tags,
        opts=ctx.child(component),
    )
    alarm = alarm_name(ctx, monitor.name)
    aws.cloudwatch.EventTarget(
        f"{monitor.name}-failed-alert",
        rule=rule.name,
        arn=platform.topic_arn,
        input_transformer={
            # the run's name only: a free-text failure reason could break the template's JSON
            "input_paths": {"run": run},
            "input_template": (
                f'{{"AlarmName": "{alarm}", "NewStateValue": "FAILED_RUN", '
                f'"NewStateReason": "monitor {monitor.name}: run <run> failed; see its FailureReason"}}'
            ),
        },
        opts=ctx.child(component),
    )


MODEL_MONITOR_ENGINES = {"data_quality": _data_quality, "model_quality": _model_quality}


def jobs(ctx: Aws, platform: Platform, monitors: Monitors, endpoints: dict[str, aws.sagemaker.Endpoint]) -> None:
    """The monitoring jobs and schedules, once the endpoints they watch exist."""
    for monitor in ctx.resolved.spec.monitors:
        component = monitors.components[monitor.name]
        policy = _policy(ctx, platform, monitor, component)
        depends = [policy, endpoints[monitor.endpoint], *platform.bucket_ready]
        alarm = monitors.alarms.get(monitor.name)
        outputs = {"alarm": alarm.name} if alarm else {}
        engine = _engine(ctx, monitor)
        if engine == "mlstack":
            pipeline, arn = _mlstack(ctx, platform, monitor, component, depends)
            _failure_alert(ctx, platform, monitor, arn, component)
            outputs["pipeline"] = pipeline.pipeline_name
        elif not ctx.resolved.development:  # no schedule in development mode (TargetProfile.paused_monitor_gap)
            schedule = MODEL_MONITOR_ENGINES[engine](ctx, platform, monitor, component, depends)
            _failure_alert(ctx, platform, monitor, schedule.arn, component)
            outputs["schedule"] = schedule.name
        component.done(outputs)
