"""A monitor run that fails alerts the monitor's recipients (audit X4). mlstack's monitoring pipelines: a
log-match alert policy on the state-change entry Vertex AI Pipelines logs for a failed run of that monitor's
pipeline. Vertex's own monitoring job notifies its e-mail addresses and notification channels of a failed
run itself. The second check reads each policy as Cloud Monitoring's AlertPolicy message."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from conftest import fraud_text, plan_text

from mlstack.targets.gcp import PIPELINE_FAILED

POLICY = "gcp:monitoring/alertPolicy:AlertPolicy"
SCHEDULE = "gcp:colab/schedule:Schedule"
CUSTOM = ("input-quality", "score-drift")  # the fraud spec's monitors that run as mlstack pipelines and alert


def _pipeline_name(schedule: dict[str, Any]) -> str:
    spec = schedule["createPipelineJobRequest"]["pipelineJob"]["pipelineSpec"]
    spec = spec.get("value", spec) if isinstance(spec, dict) else spec  # Pulumi's secret wrapper
    return (spec if isinstance(spec, dict) else json.loads(spec))["pipelineInfo"]["name"]


def _matches(log_filter: str, entry: dict[str, Any]) -> bool:
    """Cloud Logging's reading of a conjunction of `field.path="value"` comparisons (all this filter uses)."""
    for path, value in re.findall(r'([\w.]+)="([^"]*)"', log_filter):
        found: Any = entry
        for key in path.split("."):
            found = found.get(key) if isinstance(found, dict) else None
        if found != value:
            return False
    return log_filter.count(" AND ") == len(re.findall(r'[\w.]+="[^"]*"', log_filter)) - 1


def _pipeline_event(project: str, pipeline: str, state: str) -> dict[str, Any]:
    """A pipeline job state-change entry as Cloud Logging's platform-logs table describes it."""
    return {
        "logName": f"projects/{project}/logs/aiplatform.googleapis.com%2Fpipeline_job_events",
        "resource": {
            "type": "aiplatform.googleapis.com/PipelineJob",
            "labels": {"pipeline_job_id": "1234567890", "location": "us-central1"},
        },
        "labels": {"pipeline_name": pipeline},
        "jsonPayload": {
            "@type": "type.googleapis.com/google.cloud.aiplatform.logging.PipelineJobLogEntry",
            "state": state,
        },
        "severity": "ERROR" if state == PIPELINE_FAILED else "INFO",
    }


@pytest.mark.parametrize("monitor", CUSTOM)
def test_a_failed_run_of_a_monitoring_pipeline_alerts_the_monitors_recipients(fraud, monitor):
    failed = fraud.inputs(POLICY, f"{monitor}-failed")
    breach = fraud.inputs(POLICY, f"{monitor}-alert")
    # the same recipients as the monitor's breach alert: its e-mail channel, not the topic that retrains
    assert failed["notificationChannels"] == breach["notificationChannels"] == [f"{monitor}-email-0"]
    assert failed["alertStrategy"] == {"notificationRateLimit": {"period": "300s"}}  # a log match needs one
    (condition,) = failed["conditions"]
    log_filter = condition["conditionMatchedLog"]["filter"]
    # the filter names the pipeline the monitor's schedule runs, as that pipeline's spec names itself
    pipeline = _pipeline_name(fraud.inputs(SCHEDULE, f"{monitor}-schedule"))
    assert f'labels.pipeline_name="{pipeline}"' in log_filter
    project = "fraud-platform-prod"
    assert _matches(log_filter, _pipeline_event(project, pipeline, PIPELINE_FAILED))
    assert not _matches(log_filter, _pipeline_event(project, pipeline, "PIPELINE_STATE_SUCCEEDED"))
    for other in CUSTOM:
        if other != monitor:  # another monitor's failure is that monitor's recipients' business
            other_pipeline = _pipeline_name(fraud.inputs(SCHEDULE, f"{other}-schedule"))
            assert not _matches(log_filter, _pipeline_event(project, other_pipeline, PIPELINE_FAILED))
    assert not _matches(log_filter, _pipeline_event("another-project", pipeline, PIPELINE_FAILED))
    assert monitor in failed["documentation"]["content"]


def test_a_monitor_without_recipients_gets_no_failure_policy(fraud):
    # scorer-accuracy only rolls back: nobody to tell, and its topic must not hear of a failure
    assert "scorer-accuracy-failed" not in fraud.names(POLICY)


def test_vertex_tells_a_native_monitors_recipients_of_a_failed_run(fraud):
    """Model Monitoring e-mails the job's addresses and notifies its channels each time a scheduled run fails
    (Vertex docs, 'Configure alerts for monitoring job updates'): the drift monitor's recipients are there."""
    job = fraud.inputs("pulumi-python:dynamic/vertex:ModelDeploymentMonitoringJob", "fraud-scorer-monitoring")
    assert job["emails"] == ["fraud-oncall@example.com"]
    assert "feature-drift-failed" not in fraud.names(POLICY)  # no second notice of the same failure


def _monitoring_job_entry(project: str, log: str, job_id: str, payload: dict[str, Any]) -> dict[str, Any]:
    """A Model Monitoring log entry, shaped as Vertex's model monitoring docs show them."""
    return {
        "logName": f"projects/{project}/logs/aiplatform.googleapis.com%2F{log}",
        "resource": {
            "type": "aiplatform.googleapis.com/ModelDeploymentMonitoringJob",
            "labels": {"model_deployment_monitoring_job": job_id, "location": "us-central1"},
        },
        "jsonPayload": payload,
    }


def test_a_native_monitors_topic_hears_of_anomalies_and_not_of_failed_runs(fraud):
    """The topic starts retraining: the sink feeding it passes the job's anomaly entries and not the entry
    of a failed monitoring run (log `model_monitoring`), nor another job's anomalies."""
    log_filter = fraud.inputs("gcp:logging/projectSink:ProjectSink", "feature-drift-anomalies")["filter"]
    (job_id,) = re.findall(r'model_deployment_monitoring_job="(\d+)"', log_filter)
    project = "fraud-platform-prod"
    anomaly = {
        "@type": "type.googleapis.com/google.cloud.aiplatform.logging.ModelMonitoringAnomaliesLogEntry",
        "anomalyObjective": "RAW_FEATURE_SKEW",
        "totalAnomaliesCount": 1,
    }
    failed = {
        "@type": "type.googleapis.com/google.cloud.aiplatform.logging.ModelMonitoringPipelineLogEntry",
        "statusCode": {"code": 13, "message": "Scheduled model monitoring pipeline failed"},
    }
    assert _matches(log_filter, _monitoring_job_entry(project, "model_monitoring_anomaly", job_id, anomaly))
    assert not _matches(log_filter, _monitoring_job_entry(project, "model_monitoring", job_id, failed))
    assert not _matches(log_filter, _monitoring_job_entry(project, "model_monitoring_anomaly", "42", anomaly))


WEBHOOK_AND_EMAIL = """\
  - name: errors
    kind: data_quality
    endpoint: fraud-scorer
    baseline: gs://fraud-platform-data/baselines/training.csv
    metric: null_rate
    threshold: 0.1
    schedule: "0 5 * * *"
    actions:
      - type: alert
        to: [data@example.com, "https://hooks.example.com/errors"]
"""


def test_every_recipient_kind_hears_of_a_failure_and_the_policy_is_a_cloud_monitoring_request():
    from google.cloud import monitoring_v3

    text = fraud_text().replace("\nenvironments:\n", "\n" + WEBHOOK_AND_EMAIL + "\nenvironments:\n", 1)
    plan = plan_text(text)
    failed = plan.inputs(POLICY, "errors-failed")
    assert sorted(failed["notificationChannels"]) == ["errors-email-0", "errors-webhook-1"]
    for name in ("errors-failed", "errors-alert"):
        inputs = {k: v for k, v in plan.inputs(POLICY, name).items() if k != "project"}
        policy = monitoring_v3.AlertPolicy.from_json(json.dumps(inputs))  # unknown fields are an error
        assert policy.alert_strategy.notification_rate_limit.period.total_seconds() == 300
        assert (
            policy.conditions[0].condition_matched_log.filter
            == inputs["conditions"][0]["conditionMatchedLog"]["filter"]
        )
        assert policy.combiner == monitoring_v3.AlertPolicy.ConditionCombinerType.OR
