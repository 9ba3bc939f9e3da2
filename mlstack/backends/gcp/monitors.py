"""monitors → Vertex Model Monitoring where Vertex measures the metric, an mlstack monitoring pipeline
where it does not, and alert actions wired through Pub/Sub.

- data_drift with a metric Vertex computes (GCP profile `metrics`): the endpoint's one
  ModelDeploymentMonitoringJob (providers/monitoring.py), per-feature skew thresholds against the
  baseline, interval in whole hours, sample rate = the endpoint's data-capture share. All such monitors
  of an endpoint share the job (Vertex allows one per endpoint), at the shortest of their intervals.
- prediction_drift (Model Monitoring v1 watches input features only), data_quality and model_quality
  (GCP profile `custom_metrics`): a Vertex schedule on the monitor's cron running runtime `monitor` over
  the endpoint's request-response log table, with the same statistics code as the other targets.
- Actions. Each monitor has an alert topic, which hears of anomalies only: the monitoring job's anomaly
  log entries reach it through a Logging sink (a notification channel would also carry Vertex's notice of
  a failed run); the monitoring pipeline publishes itself. `alert` e-mails go to the job's e-mail alerts
  (native) or to a log-match alert policy on the pipeline's alert log line (custom); webhooks become
  notification channels. A run that fails reaches the recipients, not the topic: Vertex notifies the job's
  e-mails and channels itself; a failed monitoring pipeline matches a second log-match policy. `retrain` and `rollback`
  are Eventarc triggers on the topic starting a Cloud Workflow (templates/vertex/*.yaml.j2): retrain
  submits the pipeline's stored spec as a pipeline job; rollback sends the endpoint's traffic to its
  oldest deployed model, which is only possible while a rollout still keeps it."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from functools import cache
from typing import Any
from urllib.parse import quote

import pulumi
import pulumi_gcp as gcp

from mlstack.backends.components import SpecComponent
from mlstack.backends.gcp.checks import (
    baselines_problem,
    distance_problem,
    instance_schema,
    native,
)
from mlstack.backends.gcp.context import Gcp
from mlstack.backends.gcp.endpoints import Served
from mlstack.backends.gcp.kfp import TEMPLATES, Task
from mlstack.backends.gcp.pipelines import schedule, system_pipeline, system_pipeline_name
from mlstack.backends.gcp.providers import MonitoringJob
from mlstack.errors import MlstackError
from mlstack.resolve import threshold_of
from mlstack.spec.models import Monitor
from mlstack.targets.gcp import (
    ANOMALY_LOG,
    GCS_FORMATS,
    LOG_ALERT_RATE_LIMIT,
    MONITORING_JOB_RESOURCE,
    PIPELINE_EVENTS_LOG,
    PIPELINE_FAILED,
    PIPELINE_JOB_RESOURCE,
)
from mlstack.targets.schedules import interval_hours

ALERT_LOG = "mlstack-monitor-alert"


def _dtypes(ctx: Gcp) -> dict[str, str]:
    return {f.name: f.dtype for v in ctx.resolved.spec.feature_store.views for f in v.features}


def _training_dataset(monitor: Monitor) -> dict[str, str]:
    assert monitor.baseline is not None
    if monitor.baseline.startswith("bq://"):
        return {"bigquery": monitor.baseline}
    fmt = next((f for ext, f in GCS_FORMATS.items() if monitor.baseline.endswith(ext)), None)
    if not monitor.baseline.startswith("gs://") or fmt is None:
        raise MlstackError(
            f"monitor '{monitor.name}': Vertex model monitoring reads its baseline from BigQuery (bq://...) or a "
            f"Cloud Storage CSV, JSONL or TFRecord file (gs://...); '{monitor.baseline}' is neither"
        )
    return {"gcs": monitor.baseline, "format": fmt}


def _thresholds(ctx: Gcp, monitor: Monitor) -> dict[str, float]:
    threshold = threshold_of(monitor)
    assert threshold is not None  # drift metrics all have a default
    for feature in monitor.features:
        if problem := distance_problem(ctx.resolved.spec, monitor, feature):
            raise MlstackError(problem)
    return {feature: threshold for feature in monitor.features}


def _monitoring_job(
    ctx: Gcp, served: Served, monitors: list[Monitor], channels: list[pulumi.Output[str]]
) -> MonitoringJob:
    assert ctx.platform is not None
    name = served.plan.endpoint.name
    if problem := baselines_problem(name, monitors):
        raise MlstackError(problem)
    baselines = {json.dumps(_training_dataset(m), sort_keys=True) for m in monitors}
    thresholds: dict[str, float] = {}
    default = None
    for monitor in monitors:
        for feature, value in _thresholds(ctx, monitor).items():
            thresholds[feature] = min(value, thresholds.get(feature, value))
        if not monitor.features:
            default = threshold_of(monitor)
    hours = min(interval_hours(m.schedule) or 1 for m in monitors)
    emails = sorted({to for m in monitors for a in m.actions if a.type == "alert" for to in a.to if "@" in to})
    props = {
        "project": ctx.project,
        "region": ctx.region,
        "endpoint": served.resource_name,
        "display_name": ctx.name(name, "monitoring", max_length=128),
        "labels": ctx.labels,
        "kms_key": ctx.kms_key,
        "deployed_model_ids": served.deployment.deployed.apply(
            lambda deployed: sorted(d["id"] for d in (deployed or {}).values())
        ),
        "training_dataset": json.loads(baselines.pop()),
        "skew_thresholds": thresholds,
        "default_skew_threshold": default,
        "interval_hours": hours,
        "sample_rate": served.sample_rate,
        "emails": emails,
        "notification_channels": channels,
        "stats_directory": ctx.platform.gcs("monitoring", name),
        **({"paused": True} if ctx.resolved.development else {}),  # a developer's copy monitors when asked
    }
    depends: list[pulumi.Resource] = [served.deployment]
    if (schema := instance_schema(ctx.resolved, name, monitors)) is not None:
        # Content-addressed: the job cannot change its schema in place, so a new schema is a new job.
        text = json.dumps(schema, indent=2, sort_keys=True)  # JSON is YAML
        path = f"monitoring/{name}/instance-schema-{hashlib.sha256(text.encode()).hexdigest()[:8]}.yaml"
        stored = gcp.storage.BucketObject(
            f"{name}-instance-schema",
            bucket=ctx.platform.bucket.name,
            name=path,
            content=text,
            content_type="application/yaml",
            opts=ctx.opts(served.component),
        )
        props["analysis_instance_schema_uri"] = ctx.platform.gcs(*path.split("/"))
        depends.append(stored)
    return MonitoringJob(f"{name}-monitoring", props, ctx.opts(served.component, depends_on=depends))


def _channel(ctx: Gcp, component: SpecComponent, name: str, kind: str, labels: dict[str, Any]) -> pulumi.Output[str]:
    channel = gcp.monitoring.NotificationChannel(
        name,
        display_name=ctx.name(name, max_length=100),
        type=kind,
        labels=labels,
        project=ctx.project,
        user_labels=ctx.labels,
        opts=ctx.opts(component),
    )
    return channel.name


def _alert_channels(ctx: Gcp, component: SpecComponent, monitor: Monitor, with_email: bool) -> list[pulumi.Output[str]]:
    channels = []
    targets = [to for a in monitor.actions if a.type == "alert" for to in a.to]
    for i, target in enumerate(targets):
        if target.startswith(("http://", "https://")):
            channels.append(
                _channel(ctx, component, f"{monitor.name}-webhook-{i}", "webhook_tokenauth", {"url": target})
            )
        elif target.startswith("projects/") and "/topics/" in target:
            channels.append(_channel(ctx, component, f"{monitor.name}-topic-{i}", "pubsub", {"topic": target}))
        elif with_email:
            channels.append(_channel(ctx, component, f"{monitor.name}-email-{i}", "email", {"email_address": target}))
    return channels


@cache
def _workflow_template(name: str) -> Any:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    return Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined).get_template(name)


def _workflow(
    ctx: Gcp, component: SpecComponent, name: str, template: str, values: dict[str, Any], topic: gcp.pubsub.Topic
) -> None:
    assert ctx.platform is not None
    accounts = ctx.platform.accounts
    source = pulumi.Output.all(pipelines=accounts.email("pipelines")).apply(
        lambda emails: _workflow_template(template).render(service_account=emails["pipelines"], **values)
    )
    workflow = gcp.workflows.Workflow(
        name,
        name=ctx.name(name, max_length=64),
        project=ctx.project,
        region=ctx.region,
        description=f"mlstack: {template.split('.')[0]} on alert",
        service_account=accounts.email("workflows"),
        source_contents=source,
        labels=ctx.labels,
        deletion_protection=False,
        opts=ctx.opts(component),
    )
    gcp.eventarc.Trigger(
        f"{name}-trigger",
        name=ctx.name(name, max_length=63),
        project=ctx.project,
        location=ctx.region,
        matching_criterias=[{"attribute": "type", "value": "google.cloud.pubsub.topic.v1.messagePublished"}],
        transport={"pubsub": {"topic": topic.id}},
        destination={"workflow": workflow.id},
        service_account=accounts.email("workflows"),
        labels=ctx.labels,
        opts=ctx.opts(component),
    )


def _actions(ctx: Gcp, component: SpecComponent, monitor: Monitor, served: Served, topic: gcp.pubsub.Topic) -> None:
    assert ctx.platform is not None
    for action in monitor.actions:
        if action.type == "retrain":
            pipeline = action.pipeline
            _workflow(
                ctx,
                component,
                f"{monitor.name}-retrain",
                "retrain.yaml.j2",
                {
                    "pipeline": pipeline,
                    "monitor": monitor.name,
                    "bucket": ctx.platform.bucket_name,
                    # the Workflows storage connector takes the object name URL-encoded
                    "object": quote(f"pipelines/{pipeline}/pipeline.json", safe=""),
                    "parent": ctx.parent,
                    "region": ctx.region,
                    "display_name": ctx.name(pipeline, "retrain", max_length=128),
                    "output_directory": ctx.platform.gcs("pipelines", pipeline, "runs"),
                    "labels": {**ctx.labels, "mlstack-trigger": monitor.name},
                    "kms_key": ctx.kms_key,
                },
                topic,
            )
        elif action.type == "rollback":
            _workflow(
                ctx,
                component,
                f"{monitor.name}-rollback",
                "rollback.yaml.j2",
                {"monitor": monitor.name, "endpoint": served.resource_name, "region": ctx.region},
                topic,
            )


def topic_name(ctx: Gcp, monitor: Monitor) -> str:
    return ctx.name(monitor.name, "alerts", max_length=255)


def _topic(ctx: Gcp, component: SpecComponent, monitor: Monitor) -> gcp.pubsub.Topic:
    return gcp.pubsub.Topic(
        f"{monitor.name}-alerts",
        name=topic_name(ctx, monitor),
        project=ctx.project,
        kms_key_name=ctx.kms_key,
        labels=ctx.labels,
        opts=ctx.opts(component, depends_on=ctx.platform.key_grants if ctx.platform else []),
    )


def _publisher(
    ctx: Gcp, component: SpecComponent, monitor: Monitor, topic: gcp.pubsub.Topic, member: pulumi.Input[str]
) -> None:
    gcp.pubsub.TopicIAMMember(
        f"{monitor.name}-alerts-publisher",
        topic=topic.name,
        project=ctx.project,
        role="roles/pubsub.publisher",
        member=member,
        opts=ctx.opts(component),
    )


def log_filter(ctx: Gcp, log: str, *fields: tuple[str, str]) -> str:
    """A Cloud Logging filter: the entries of log `log` (its URL-encoded id) in this project whose fields have
    these values."""
    return " AND ".join([f'logName="projects/{ctx.project}/logs/{log}"', *(f'{k}="{v}"' for k, v in fields)])


def anomaly_filter(ctx: Gcp, job: str) -> str:
    """The anomaly log entries of the monitoring job named `job` (projects/.../modelDeploymentMonitoringJobs/ID)."""
    return log_filter(
        ctx,
        ANOMALY_LOG,
        ("resource.type", MONITORING_JOB_RESOURCE),
        ("resource.labels.model_deployment_monitoring_job", job.rsplit("/", 1)[-1]),
    )


def _anomalies_to_topic(
    ctx: Gcp, component: SpecComponent, monitor: Monitor, topic: gcp.pubsub.Topic, job: MonitoringJob
) -> None:
    """The job's anomalies (not its failed runs) published to the monitor's alert topic."""
    sink = gcp.logging.ProjectSink(
        f"{monitor.name}-anomalies",
        name=ctx.name(monitor.name, "anomalies", max_length=100),
        project=ctx.project,
        destination=topic.name.apply(lambda name: f"pubsub.googleapis.com/projects/{ctx.project}/topics/{name}"),
        filter=job.name.apply(lambda job_name: anomaly_filter(ctx, job_name)),
        description=f"mlstack: drift anomalies of monitor {monitor.name} to its alert topic",
        unique_writer_identity=True,
        opts=ctx.opts(component),
    )
    _publisher(ctx, component, monitor, topic, sink.writer_identity)


def _log_alert(
    ctx: Gcp,
    component: SpecComponent,
    name: str,
    condition: str,
    matching: str,
    channels: list[pulumi.Output[str]],
    documentation: str | None = None,
) -> None:
    """An alert policy that notifies `channels` when a log entry matches the filter `matching`."""
    gcp.monitoring.AlertPolicy(
        name,
        display_name=ctx.name(name, max_length=100),
        project=ctx.project,
        combiner="OR",
        conditions=[{"display_name": condition, "condition_matched_log": {"filter": matching}}],
        alert_strategy={"notification_rate_limit": {"period": LOG_ALERT_RATE_LIMIT}},  # required by a log match
        notification_channels=channels,
        documentation={"content": documentation, "mime_type": "text/markdown"} if documentation else None,
        user_labels=ctx.labels,
        opts=ctx.opts(component),
    )


def failed_run_filter(ctx: Gcp, pipeline: str) -> str:
    """The log entry Vertex writes when a run of the pipeline named `pipeline` fails (targets/gcp.py)."""
    return log_filter(
        ctx,
        PIPELINE_EVENTS_LOG,
        ("resource.type", PIPELINE_JOB_RESOURCE),
        ("labels.pipeline_name", pipeline),
        ("jsonPayload.state", PIPELINE_FAILED),
    )


def _custom(ctx: Gcp, component: SpecComponent, monitor: Monitor, served: Served) -> None:
    """A monitor Vertex cannot run: an mlstack monitoring pipeline on the monitor's schedule. Its recipients
    hear of a breach (the pipeline's alert log line) and of a run that fails (Vertex's pipeline state log);
    a failure does not reach the alert topic, whose messages start retraining and rollback."""
    assert ctx.platform is not None and served.log_table is not None
    options = {
        "monitor": json.dumps(monitor.model_dump(exclude={"actions"}), sort_keys=True),
        "table": served.log_table,
        "topic": f"projects/{ctx.project}/topics/{topic_name(ctx, monitor)}",
        "features": json.dumps(_dtypes(ctx), sort_keys=True),
        "hours": str(interval_hours(monitor.schedule) or 24),
    }
    task = Task.system("monitor", "monitor", options)
    run = f"{monitor.name}-monitor"
    spec_json = system_pipeline(ctx, run, f"mlstack monitor {monitor.name}", task)
    schedule(ctx, component, monitor.name, monitor.schedule, spec_json, "monitors")
    channels = _alert_channels(ctx, component, monitor, with_email=True)
    if not channels:
        return
    _log_alert(
        ctx,
        component,
        f"{monitor.name}-alert",
        f"{monitor.name} crossed its threshold",
        f'jsonPayload.event="{ALERT_LOG}" AND jsonPayload.monitor="{monitor.name}"',
        channels,
    )
    _log_alert(
        ctx,
        component,
        f"{monitor.name}-failed",
        f"a run of monitor {monitor.name} failed",
        failed_run_filter(ctx, system_pipeline_name(ctx, run)),
        channels,
        f"mlstack: a scheduled run of monitor `{monitor.name}` (Vertex pipeline "
        f"`{system_pipeline_name(ctx, run)}`) failed, so it measured nothing this time. The failed pipeline job's "
        "error is in the Vertex AI Pipelines console and the log entry of this incident.",
    )


def build_monitors(ctx: Gcp, served: dict[str, Served]) -> None:
    assert ctx.platform is not None
    native_by_endpoint: dict[str, list[tuple[Monitor, SpecComponent, gcp.pubsub.Topic]]] = defaultdict(list)
    channels_by_endpoint: dict[str, list[pulumi.Output[str]]] = defaultdict(list)
    for monitor in ctx.resolved.spec.monitors:
        component = SpecComponent("monitor", monitor.name)
        endpoint = served[monitor.endpoint]
        topic = _topic(ctx, component, monitor)
        if native(monitor):
            native_by_endpoint[monitor.endpoint].append((monitor, component, topic))
            channels_by_endpoint[monitor.endpoint] += _alert_channels(ctx, component, monitor, with_email=False)
        else:
            _publisher(ctx, component, monitor, topic, ctx.platform.accounts.member("monitors"))
            _custom(ctx, component, monitor, endpoint)
        _actions(ctx, component, monitor, endpoint, topic)
        component.done({"topic": topic.id})
    for endpoint, natives in native_by_endpoint.items():
        job = _monitoring_job(ctx, served[endpoint], [m for m, _, _ in natives], channels_by_endpoint[endpoint])
        for monitor, component, topic in natives:
            _anomalies_to_topic(ctx, component, monitor, topic, job)
