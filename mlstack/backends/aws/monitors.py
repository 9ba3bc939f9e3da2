"""monitors -> SageMaker Model Monitor schedules over the endpoint's captured data, an alarm, and actions.

AWS has closed SageMaker Model Monitor to new customers (existing accounts keep it): accounts that
never used it cannot create these schedules. The engine per monitor (signals.py):

- `data_quality`: a DataQualityJobDefinition running SageMaker's analyzer against the baseline
  statistics and constraints in `s3://<bucket>/monitoring/<monitor>/baseline/`, which a baselining job
  over the spec's `baseline` dataset writes (SageMaker's suggest_baseline; not run by `pulumi up`);
- `model_quality`: a ModelQualityJobDefinition from pulumi_aws_native, because pulumi_aws has no
  model-quality job definition; it merges captured predictions with the labels under `ground_truth`;
- `mlstack`: a bring-your-own-container schedule whose inline job definition runs mlstack's runtime
  image (`python3 -m mlstack.monitor_job`, image from the stack config `mlstack:runtimeImage` or the ECR
  repository the stack creates), reading the spec's baseline itself.

The schedule expression is SageMaker's form of the spec's cron (mlstack.targets.schedules). One
CloudWatch alarm per monitor watches the signal; its actions: `alert` publishes to the platform's SNS
topic (or `target.aws.alarm_topic`), with e-mail/https subscriptions filtered to the alarms that name
them; `retrain` is an EventBridge rule starting the pipeline (pipelines.py); `rollback` adds the alarm
to the endpoint's auto-rollback alarms, so a deployment in progress rolls back when it fires."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from mlstack.backends.aws import iam, images, signals
from mlstack.backends.aws.alarms import signal_alarm
from mlstack.backends.aws.context import Aws
from mlstack.backends.aws.platform import Platform, failure_rule_name, role_policy
from mlstack.backends.components import SpecComponent
from mlstack.spec.models import Monitor
from mlstack.targets import aws as dialect
from mlstack.targets.schedules import interval_hours, sagemaker_expression

INSTANCE_TYPE = "ml.m5.xlarge"
VOLUME_GB = 20
MAX_RUNTIME = 1800  # below the length of the shortest (hourly) schedule
ENDPOINT_INPUT_PATH = "/opt/ml/processing/input/endpoint"
OUTPUT_PATH = "/opt/ml/processing/output"
MONITOR_JOB = ["python3", "-m", "mlstack.monitor_job"]
TOPIC_ARN = re.compile(r"arn:aws[a-z-]*:sns:.+")


def alarm_name(ctx: Aws, monitor: str) -> str:
    return ctx.names.alarm(monitor)


def schedule_name(ctx: Aws, monitor: str) -> str:
    return ctx.names.sagemaker(monitor)


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
        signal = signals.signal(monitor)
        if signal is None:
            continue
        comparison = "above" if signal.comparison == "GreaterThanThreshold" else "below"
        found.alarms[monitor.name] = signal_alarm(
            ctx,
            f"{monitor.name}-alarm",
            alarm_name(ctx, monitor.name),
            signal,
            {"Endpoint": ctx.names.sagemaker(monitor.endpoint), "MonitoringSchedule": schedule_name(ctx, monitor.name)},
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
        "instance_type": INSTANCE_TYPE,
        "volume_size_in_gb": VOLUME_GB,
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
            "local_path": OUTPUT_PATH,
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


def _policy(ctx: Aws, platform: Platform, monitor: Monitor, component: SpecComponent) -> aws.iam.RolePolicy:
    """Read the endpoint's captures, the baseline and labels; write this monitor's reports; publish metrics."""
    endpoint = ctx.resolved.monitor_plan(monitor).endpoint.endpoint
    assert endpoint.data_capture is not None  # spec rules require capture
    destination = endpoint.data_capture.destination
    statements = [
        *iam.bucket_prefix(ctx, platform.bucket_name, [f"monitoring/{monitor.name}/"], write=True),
        *iam.read_uris(ctx, [monitor.baseline, monitor.ground_truth and monitor.ground_truth.rstrip("/") + "/"]),
        iam.logs(ctx, "/aws/sagemaker/ProcessingJobs"),
        iam.put_metrics(dialect.DATA_NAMESPACE, dialect.MODEL_NAMESPACE),
        *iam.kms(ctx),
    ]
    if destination:
        statements += iam.read_uris(ctx, [destination.rstrip("/") + "/"])
    else:
        statements += iam.bucket_prefix(ctx, platform.bucket_name, [f"capture/{endpoint.name}/"], write=False)
    if signals.engine(monitor) == "mlstack":
        statements += iam.ecr_pull(ctx, platform.runtime_image_uris, platform.runtime_repository_arns)
    else:
        statements += iam.ecr_pull(ctx, [images.monitor_analyzer_image(ctx.region)])
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
        stopping_condition={"max_runtime_in_seconds": MAX_RUNTIME},
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
        stopping_condition={"max_runtime_in_seconds": MAX_RUNTIME},
        tags=[{"key": k, "value": v} for k, v in sorted(ctx.tags.items())],
        opts=ctx.native_child(component, depends_on=depends),
    )
    config = {"monitoring_type": "ModelQuality", "monitoring_job_definition_name": job.job_definition_name}
    return _schedule(ctx, monitor, config, component, [job])


def _mlstack(ctx: Aws, platform: Platform, monitor: Monitor, component: SpecComponent, depends: list):
    assert platform.runtime_image is not None  # the platform builds it whenever a monitor needs it
    threshold = signals.threshold(monitor)
    environment = {
        "publish_cloudwatch_metrics": "Enabled",
        "MLSTACK_MONITOR": monitor.name,
        "MLSTACK_KIND": monitor.kind,
        "MLSTACK_METRIC": monitor.metric,
        "MLSTACK_FEATURES": ",".join(monitor.features),
        "MLSTACK_BASELINE": monitor.baseline or "",
        "MLSTACK_CLOUDWATCH_METRIC": f"mlstack_{monitor.metric}",
    }
    if threshold is not None:
        environment["MLSTACK_THRESHOLD"] = repr(threshold)
    config = {
        "monitoring_type": "DataQuality",
        "monitoring_job_definition": {
            "role_arn": platform.role_arns["monitoring"],
            "monitoring_app_specification": {
                "image_uri": platform.runtime_image,
                "container_entrypoints": MONITOR_JOB,
                "container_arguments": ["--monitor", monitor.name],
            },
            "monitoring_inputs": {"endpoint_input": _endpoint_input(ctx, monitor)},
            "monitoring_output_config": {"monitoring_outputs": _output(platform, monitor), "kms_key_id": ctx.kms_key},
            "monitoring_resources": {"cluster_config": _cluster(ctx)},
            "environment": environment,
            "network_config": _network(ctx),
            "stopping_conditions": [{"max_runtime_in_seconds": MAX_RUNTIME}],
        },
    }
    return _schedule(ctx, monitor, config, component, depends)


def _failure_alert(ctx: Aws, platform: Platform, monitor: Monitor, schedule, component: SpecComponent) -> None:
    """A run that fails publishes no metric, and the alarm (missing data: not breaching) stays quiet: an
    EventBridge rule on the failed run alerts the monitor's recipients instead. The message names the
    monitor's alarm, so the subscriptions' AlarmName filter lets it through to the same people."""
    if platform.topic_arn is None or not any(a.type == "alert" for a in monitor.actions):
        return
    rule = aws.cloudwatch.EventRule(
        f"{monitor.name}-failed",
        name=failure_rule_name(ctx, monitor.name),
        description=f"mlstack: alert when a run of monitor {monitor.name} fails",
        event_pattern=pulumi.Output.json_dumps(
            {
                "source": ["aws.sagemaker"],
                "detail-type": [dialect.FAILED_RUN_EVENT],
                "detail": {"ProcessingJobStatus": ["Failed"], "MonitoringScheduleArn": [schedule.arn]},
            }
        ),
        tags=ctx.tags,
        opts=ctx.child(component),
    )
    alarm = alarm_name(ctx, monitor.name)
    aws.cloudwatch.EventTarget(
        f"{monitor.name}-failed-alert",
        rule=rule.name,
        arn=platform.topic_arn,
        input_transformer={
            # the job name only: a free-text failure reason could break the template's JSON
            "input_paths": {"job": "$.detail.ProcessingJobName"},
            "input_template": (
                f'{{"AlarmName": "{alarm}", "NewStateValue": "FAILED_RUN", '
                f'"NewStateReason": "monitor {monitor.name}: run <job> failed; see its FailureReason"}}'
            ),
        },
        opts=ctx.child(component),
    )


ENGINES = {"data_quality": _data_quality, "model_quality": _model_quality, "mlstack": _mlstack}


def jobs(ctx: Aws, platform: Platform, monitors: Monitors, endpoints: dict[str, aws.sagemaker.Endpoint]) -> None:
    """The monitoring jobs and schedules, once the endpoints they watch exist."""
    for monitor in ctx.resolved.spec.monitors:
        component = monitors.components[monitor.name]
        policy = _policy(ctx, platform, monitor, component)
        depends = [policy, endpoints[monitor.endpoint], *platform.bucket_ready]
        alarm = monitors.alarms.get(monitor.name)
        outputs = {"alarm": alarm.name} if alarm else {}
        if not ctx.resolved.development:  # paused in development mode: no schedule (TargetProfile.paused_monitor_gap)
            schedule = ENGINES[signals.engine(monitor)](ctx, platform, monitor, component, depends)
            _failure_alert(ctx, platform, monitor, schedule, component)
            outputs["schedule"] = schedule.name
        component.done(outputs)
