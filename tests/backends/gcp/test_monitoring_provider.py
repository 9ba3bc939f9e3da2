"""The monitoring-job provider against the fake Vertex: the job message, update masks, resume, delete."""

from __future__ import annotations

from google.cloud import aiplatform_v1 as v1

from mlstack.backends.gcp.providers.monitoring import MonitoringJobProvider

ENDPOINT = "projects/p-123456/locations/us-central1/endpoints/1234567890"


def props(**changes) -> dict:
    return {
        "project": "p-123456",
        "region": "us-central1",
        "endpoint": ENDPOINT,
        "display_name": "fd-fraud-scorer-monitoring",
        "labels": {"team": "risk"},
        "kms_key": None,
        "deployed_model_ids": ["1001"],
        "training_dataset": {"bigquery": "bq://p-123456.baselines.training"},
        "skew_thresholds": {"txn_count_24h": 0.1, "merchant_category": 0.2},
        "default_skew_threshold": None,
        "interval_hours": 6,
        "sample_rate": 0.2,
        "emails": ["oncall@example.com"],
        "notification_channels": ["projects/p-123456/notificationChannels/7"],
        "stats_directory": "gs://bucket/monitoring/fraud-scorer",
        **changes,
    }


def test_create_sends_the_job_field_by_field(vertex):
    result = MonitoringJobProvider().create(props())
    (request,) = vertex.sent("create_model_deployment_monitoring_job")
    assert request.parent == "projects/p-123456/locations/us-central1"
    job = request.model_deployment_monitoring_job
    objective = v1.ModelMonitoringObjectiveConfig
    assert list(job.model_deployment_monitoring_objective_configs) == [
        v1.ModelDeploymentMonitoringObjectiveConfig(
            deployed_model_id="1001",
            objective_config=objective(
                training_dataset=objective.TrainingDataset(
                    bigquery_source=v1.BigQuerySource(input_uri="bq://p-123456.baselines.training")
                ),
                training_prediction_skew_detection_config=objective.TrainingPredictionSkewDetectionConfig(
                    skew_thresholds={
                        "txn_count_24h": v1.ThresholdConfig(value=0.1),
                        "merchant_category": v1.ThresholdConfig(value=0.2),
                    }
                ),
            ),
        )
    ]
    assert job.model_deployment_monitoring_schedule_config.monitor_interval.total_seconds() == 6 * 3600
    assert job.logging_sampling_strategy.random_sample_config.sample_rate == 0.2
    assert list(job.model_monitoring_alert_config.email_alert_config.user_emails) == ["oncall@example.com"]
    assert list(job.model_monitoring_alert_config.notification_channels) == ["projects/p-123456/notificationChannels/7"]
    assert job.model_monitoring_alert_config.enable_logging
    assert job.stats_anomalies_base_directory.output_uri_prefix == "gs://bucket/monitoring/fraud-scorer"
    assert job.endpoint == ENDPOINT and not job.encryption_spec.kms_key_name
    assert result.id in vertex.jobs


def test_a_gcs_baseline_and_a_key_reach_the_job(vertex):
    key = "projects/p-123456/locations/us-central1/keyRings/r/cryptoKeys/k"
    MonitoringJobProvider().create(props(training_dataset={"gcs": "gs://b/train.csv", "format": "csv"}, kms_key=key))
    job = vertex.sent("create_model_deployment_monitoring_job")[0].model_deployment_monitoring_job
    dataset = job.model_deployment_monitoring_objective_configs[0].objective_config.training_dataset
    assert list(dataset.gcs_source.uris) == ["gs://b/train.csv"] and dataset.data_format == "csv"
    assert job.encryption_spec.kms_key_name == key


def test_update_masks_only_what_changed(vertex):
    provider = MonitoringJobProvider()
    created = provider.create(props())
    provider.update(created.id, created.outs, props(interval_hours=1, deployed_model_ids=["1002"]))
    (update,) = vertex.sent("update_model_deployment_monitoring_job")
    assert sorted(update.update_mask.paths) == [
        "model_deployment_monitoring_objective_configs",
        "model_deployment_monitoring_schedule_config",
    ]
    job = vertex.jobs[created.id]
    assert job.model_deployment_monitoring_objective_configs[0].deployed_model_id == "1002"
    assert provider.diff(created.id, created.outs, props(kms_key="k")).replaces == ["kms_key"]


def test_create_resumes_a_job_an_interrupted_run_made(vertex):
    provider = MonitoringJobProvider()
    first = provider.create(props())
    again = provider.create(props(sample_rate=0.5))
    assert again.id == first.id and len(vertex.sent("create_model_deployment_monitoring_job")) == 1
    assert vertex.jobs[first.id].logging_sampling_strategy.random_sample_config.sample_rate == 0.5


def test_delete_twice_succeeds(vertex):
    provider = MonitoringJobProvider()
    created = provider.create(props())
    provider.delete(created.id, created.outs)
    provider.delete(created.id, created.outs)
    assert not vertex.jobs


def test_an_instance_schema_reaches_the_job_and_a_new_one_replaces_it(vertex):
    uri = "gs://bucket/monitoring/fraud-scorer/instance-schema-0123abcd.yaml"
    MonitoringJobProvider().create(props(analysis_instance_schema_uri=uri))
    job = vertex.sent("create_model_deployment_monitoring_job")[0].model_deployment_monitoring_job
    assert job.analysis_instance_schema_uri == uri
    diff = MonitoringJobProvider().diff(
        "id", props(analysis_instance_schema_uri=uri), props(analysis_instance_schema_uri=uri + "x")
    )
    assert diff.replaces == ["analysis_instance_schema_uri"]  # not an updatable field of the job


def test_a_development_copy_is_created_paused_and_resumed_by_a_later_deploy(vertex):
    provider = MonitoringJobProvider()
    created = provider.create(props(paused=True))
    (paused,) = vertex.sent("pause_model_deployment_monitoring_job")
    assert paused == v1.PauseModelDeploymentMonitoringJobRequest(name=created.id)
    assert vertex.jobs[created.id].state == v1.JobState.JOB_STATE_PAUSED
    assert provider.diff(created.id, created.outs, props()).changes
    provider.update(created.id, created.outs, props())
    (resumed,) = vertex.sent("resume_model_deployment_monitoring_job")
    assert resumed.name == created.id and vertex.jobs[created.id].state == v1.JobState.JOB_STATE_RUNNING
