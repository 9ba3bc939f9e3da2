"""Dynamic provider: the endpoint's ModelDeploymentMonitoringJob (Vertex Model Monitoring v1).

Vertex allows one monitoring job per endpoint, so every native drift monitor of an endpoint lands in
one job: per-feature training-serving skew thresholds against the baseline, for each deployed model.
Vertex picks the distance by feature type (Jensen-Shannon for numeric, L-infinity for categorical);
the interval is whole hours; the sample rate is the endpoint's data-capture share."""

from __future__ import annotations

from typing import Any

from pulumi.dynamic import CreateResult, DiffResult, ResourceProvider, UpdateResult

from mlstack.backends.gcp.providers.clients import aiplatform, changed, ignore_missing, types, wait

# analysis_instance_schema_uri is not among the fields UpdateModelDeploymentMonitoringJob may change
REPLACE_ON = ("project", "region", "endpoint", "kms_key", "analysis_instance_schema_uri")
# spec input -> the job fields an update must overwrite when it changes
UPDATE_MASK = {
    "display_name": "display_name",
    "labels": "labels",
    "deployed_model_ids": "model_deployment_monitoring_objective_configs",
    "training_dataset": "model_deployment_monitoring_objective_configs",
    "skew_thresholds": "model_deployment_monitoring_objective_configs",
    "default_skew_threshold": "model_deployment_monitoring_objective_configs",
    "interval_hours": "model_deployment_monitoring_schedule_config",
    "sample_rate": "logging_sampling_strategy",
    "emails": "model_monitoring_alert_config",
    "notification_channels": "model_monitoring_alert_config",
}


def monitoring_job(props: dict[str, Any], name: str = "") -> Any:
    v1 = types()
    objective = v1.ModelMonitoringObjectiveConfig
    dataset = props["training_dataset"]
    training = (
        objective.TrainingDataset(bigquery_source=v1.BigQuerySource(input_uri=dataset["bigquery"]))
        if "bigquery" in dataset
        else objective.TrainingDataset(gcs_source=v1.GcsSource(uris=[dataset["gcs"]]), data_format=dataset["format"])
    )
    skew = objective.TrainingPredictionSkewDetectionConfig(
        skew_thresholds={f: v1.ThresholdConfig(value=float(t)) for f, t in props.get("skew_thresholds", {}).items()}
    )
    if props.get("default_skew_threshold") is not None:
        skew.default_skew_threshold = v1.ThresholdConfig(value=float(props["default_skew_threshold"]))
    job = v1.ModelDeploymentMonitoringJob(
        name=name,
        display_name=props["display_name"],
        endpoint=props["endpoint"],
        model_deployment_monitoring_objective_configs=[
            v1.ModelDeploymentMonitoringObjectiveConfig(
                deployed_model_id=deployed_id,
                objective_config=objective(training_dataset=training, training_prediction_skew_detection_config=skew),
            )
            for deployed_id in props["deployed_model_ids"]
        ],
        model_deployment_monitoring_schedule_config=v1.ModelDeploymentMonitoringScheduleConfig(
            monitor_interval={"seconds": int(props["interval_hours"]) * 3600}
        ),
        logging_sampling_strategy=v1.SamplingStrategy(
            random_sample_config=v1.SamplingStrategy.RandomSampleConfig(sample_rate=float(props["sample_rate"]))
        ),
        model_monitoring_alert_config=v1.ModelMonitoringAlertConfig(
            email_alert_config=v1.ModelMonitoringAlertConfig.EmailAlertConfig(user_emails=props.get("emails", [])),
            enable_logging=True,
            notification_channels=props.get("notification_channels", []),
        ),
        stats_anomalies_base_directory=v1.GcsDestination(output_uri_prefix=props["stats_directory"]),
        labels=props.get("labels", {}),
    )
    if props.get("kms_key"):
        job.encryption_spec = v1.EncryptionSpec(kms_key_name=props["kms_key"])
    if props.get("analysis_instance_schema_uri"):
        job.analysis_instance_schema_uri = props["analysis_instance_schema_uri"]
    return job


def _parent(props: dict[str, Any]) -> str:
    return f"projects/{props['project']}/locations/{props['region']}"


def _existing(service: Any, props: dict[str, Any]) -> str | None:
    """The job an earlier, interrupted create made (found by display name), so create resumes."""
    v1 = types()
    request = v1.ListModelDeploymentMonitoringJobsRequest(
        parent=_parent(props), filter=f'display_name="{props["display_name"]}"'
    )
    for job in service.list_model_deployment_monitoring_jobs(request=request):
        if job.display_name == props["display_name"] and job.endpoint == props["endpoint"]:
            return job.name
    return None


def _update(service: Any, name: str, olds: dict[str, Any], news: dict[str, Any]) -> None:
    from google.protobuf import field_mask_pb2

    paths = sorted({UPDATE_MASK[key] for key in changed(olds, news, UPDATE_MASK)})
    if not paths:
        return
    request = types().UpdateModelDeploymentMonitoringJobRequest(
        model_deployment_monitoring_job=monitoring_job(news, name), update_mask=field_mask_pb2.FieldMask(paths=paths)
    )
    wait(service.update_model_deployment_monitoring_job(request=request))


def _pause(service: Any, name: str, olds: dict[str, Any], news: dict[str, Any]) -> None:
    """Development mode creates the job paused; a later deploy in another mode resumes it."""
    paused = bool(news.get("paused"))
    if paused == bool(olds.get("paused")):
        return
    if paused:
        service.pause_model_deployment_monitoring_job(
            request=types().PauseModelDeploymentMonitoringJobRequest(name=name)
        )
    else:
        service.resume_model_deployment_monitoring_job(
            request=types().ResumeModelDeploymentMonitoringJobRequest(name=name)
        )


class MonitoringJobProvider(ResourceProvider):
    def create(self, props: dict[str, Any]) -> CreateResult:
        service = aiplatform("JobServiceClient", props["region"])
        name = _existing(service, props)
        if name is None:
            request = types().CreateModelDeploymentMonitoringJobRequest(
                parent=_parent(props), model_deployment_monitoring_job=monitoring_job(props)
            )
            name = service.create_model_deployment_monitoring_job(request=request).name
        else:
            _update(service, name, {}, props)
        _pause(service, name, {}, props)
        return CreateResult(name, {**props, "name": name})

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replaces = changed(olds, news, REPLACE_ON)
        updates = changed(olds, news, UPDATE_MASK) + changed(olds, news, ("paused",))
        return DiffResult(changes=bool(replaces or updates), replaces=replaces, delete_before_replace=True)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        service = aiplatform("JobServiceClient", news["region"])
        _update(service, id_, olds, news)
        _pause(service, id_, olds, news)
        return UpdateResult({**news, "name": id_})

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        service = aiplatform("JobServiceClient", props["region"])
        request = types().DeleteModelDeploymentMonitoringJobRequest(name=id_)
        ignore_missing(lambda: wait(service.delete_model_deployment_monitoring_job(request=request)))
