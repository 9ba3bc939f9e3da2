"""The Google Vertex AI dialect."""

from __future__ import annotations

from mlstack.metrics import DATA_QUALITY_METRICS, MODEL_QUALITY_METRICS
from mlstack.targets.dialect import ALL_STRATEGIES, NameRule, SourceTables, TargetProfile
from mlstack.targets.images import ImageTable, ServingImage

GCP = TargetProfile(
    batch_step="a task creating the Vertex batch prediction job in the KFP pipeline",
    batch_service="a Vertex batch prediction job (started by a KFP pipeline on a Vertex schedule)",
    batch_formats=("csv",),  # Vertex reads CSV, JSON Lines, TFRecord, file lists and BigQuery
    batch_monitors=(
        "monitors over a batch job are not lowered to Vertex (the closest, a batch prediction job's "
        "model_monitoring_config, exists only in the v1beta1 API); watch an endpoint, or run this monitor on the "
        "local emulator"
    ),
    batch_capture_gap=(
        "Vertex batch prediction records no capture of its own: nothing is captured; its predictions (each "
        "instance with its prediction, in JSON Lines under the output) are the record of what was scored"
    ),
    cloud="gcp",
    required_settings="project",
    required_settings_named="the GCP project (target.gcp.project)",
    accelerator_pins=True,
    data_root_example="gs://my-bucket/prefix",
    source_tables=SourceTables("feature_dataset", "bq://", "BigQuery", "project.dataset"),
    price_caveat="gcp figures are Vertex AI prediction node-hour rates (machine + accelerators), not Compute "
    "Engine list prices; custom training bills its own rates",
    # backends/gcp/monitors.py: BigQuery, or Cloud Storage CSV/JSONL/TFRecord baselines
    migration_reads={"baseline": ("gs://*.csv", "gs://*.jsonl", "gs://*.tfrecord", "bq://*")},
    title="Google Vertex AI",
    names={
        "endpoint": NameRule(
            128, r"[a-z]([a-z0-9-]*[a-z0-9])?", "Vertex endpoint display names are at most 128 characters"
        ),
        "feature_view": NameRule(
            60,
            r"[a-z_][a-z0-9_]{0,59}",
            "Vertex feature view ids are 1-60 characters of lower-case letters, digits and underscores",
            underscores=True,
        ),
        "entity": NameRule(
            60,
            r"[a-z_][a-z0-9_]{0,59}",
            "Vertex feature group ids are 1-60 characters of lower-case letters, digits and underscores",
            underscores=True,
        ),
        "spec": NameRule(
            60,
            r"[a-z_][a-z0-9_]{0,59}",
            "Vertex feature online store ids are 1-60 characters of lower-case letters, digits and underscores",
            underscores=True,
        ),
    },
    strategies={
        **ALL_STRATEGIES,
        "canary": "staged traffic_split updates",
        "linear": "staged traffic_split updates",
        "blue_green": "deploy, then switch traffic_split",
        "shadow": "emulated: the challenger is deployed on a private companion endpoint and a scheduled "
        "replay job sends it the shadow share of the logged requests, answers kept in its own log",
    },
    unsupported_strategies={},
    max_canary_percent=99,
    max_shadow_percent=100,
    # Vertex model monitoring (v1) measures drift only; data and model quality run as mlstack jobs
    # over the endpoint's request-response logging table.
    metrics={"jensen_shannon": "jensen_shannon_divergence", "l_infinity": "l_infinity"},
    custom_metrics=frozenset((*DATA_QUALITY_METRICS, *MODEL_QUALITY_METRICS)),
    serverless=False,
    serverless_instead="Vertex AI has no serverless endpoints; the closest is an endpoint with compute and autoscaling "
    "(at least one replica: Vertex's scale-to-zero is a v1beta1 preview mlstack does not lower)",
    async_instead="Vertex AI has no asynchronous endpoints; the closest are batch prediction jobs (files in Cloud "
    "Storage or BigQuery, results written back) or a real-time endpoint",
    schedule_rule="whole_hours",
    shadow_replay_cron="5 * * * *",
    kms_key_pattern=r"projects/[^/]+/locations/[^/]+/keyRings/[^/]+/cryptoKeys/[^/]+",
    kms_key_example="projects/p/locations/us-central1/keyRings/ring/cryptoKeys/key",
    artifact_schemes=("gs://",),
    source_schemes=("bq://",),
    capture_schemes=("bq://",),
    baseline_pattern=r"bq://.+|gs://.+\.(csv|jsonl|tfrecord)",
    baseline_says="Vertex monitoring reads a baseline from BigQuery (bq://) or a gs:// CSV, JSONL or TFRecord file",
)


# --- monitors: what Vertex Model Monitoring computes and reads ---

# Vertex's distance for each kind of feature; the spec's metric must be the one Vertex will compute.
VERTEX_DISTANCE = {"numeric": "jensen_shannon", "categorical": "l_infinity"}
GCS_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".tfrecord": "tf-record"}
# Frameworks whose Vertex prebuilt serving image takes instances as arrays of values: Model Monitoring
# cannot name their features and assigns defaults, so thresholds keyed by name never match unless the job
# gets an analysis instance schema of `type: array` listing the features in order under `required`
# (https://cloud.google.com/vertex-ai/docs/model-monitoring/schemas, "Custom instance schemas"). The
# order is the features the endpoint's drift monitors name, in spec order.
POSITIONAL_FRAMEWORKS = frozenset({"sklearn", "xgboost"})


# --- registry: the approval state Vertex lacks, kept as a version label ---

# Vertex model versions have no approval state: mlstack's register task labels each version it registers
# with it, and the deploy task serves only an approved one (mlstack/backends/gcp/runtime.py). A person
# approves by setting the version's label to `approved` (UpdateModel on MODEL@VERSION, update_mask labels),
# then runs the pipeline's deployment again, as on SageMaker.
APPROVAL_LABEL = "mlstack-approval"
APPROVAL_ON_REGISTER = {"auto": "approved", "manual": "pending"}
APPROVED, REJECTED = "approved", "rejected"
# Nor promotion stages: a version of a group with `promotion` is labelled with the stage it is in (the first
# from its registration); a person promotes it by setting the label to the next stage (Cloud Audit Logs
# record who), and a later stage's environment deploys only versions labelled with its stage, as SageMaker
# reads ModelLifeCycle.Stage.
STAGE_LABEL = "mlstack-stage"


# --- alerts: Model Monitoring's anomalies, and its failed runs ---

# Model Monitoring notifies its notification channels of an anomaly and also "each time a scheduled monitoring
# pipeline run fails" (Vertex docs, model monitoring "Configure alerts"), so a Pub/Sub channel to the alert topic
# would start retraining or rollback on a failed run. The topic hears of anomalies only: with the job's
# ModelMonitoringAlertConfig.enable_logging, each is a log entry `model_monitoring_anomaly` on the job's
# monitored resource (label model_deployment_monitoring_job: the job's id), which a Logging sink publishes.
ANOMALY_LOG = "aiplatform.googleapis.com%2Fmodel_monitoring_anomaly"
MONITORING_JOB_RESOURCE = "aiplatform.googleapis.com/ModelDeploymentMonitoringJob"


# --- alerts: a monitoring pipeline run that fails ---

# Vertex AI Pipelines logs a pipeline job's state changes to `pipeline_job_events` on the job's monitored
# resource, labelled with the pipeline's name (pipelineInfo.name) (Cloud Logging platform logs: log
# aiplatform.googleapis.com/pipeline_job_events, resource aiplatform.googleapis.com/PipelineJob, payload
# PipelineJobLogEntry, label pipeline_name; https://cloud.google.com/vertex-ai/docs/pipelines/logging). A run
# that fails ends in PipelineState PIPELINE_STATE_FAILED. The log ID goes URL-encoded into a logName.
PIPELINE_EVENTS_LOG = "aiplatform.googleapis.com%2Fpipeline_job_events"
PIPELINE_JOB_RESOURCE = "aiplatform.googleapis.com/PipelineJob"
PIPELINE_FAILED = "PIPELINE_STATE_FAILED"
# A log-match alert policy needs a notification rate limit; one notice per five minutes per policy.
LOG_ALERT_RATE_LIMIT = "300s"


# --- serving images: Vertex's prebuilt prediction containers ---

# Vertex publishes each prediction image in the us, europe and asia multi-region repositories
# ([region]-docker.pkg.dev/vertex-ai/prediction/[framework]-[accelerator].[version]:latest).
_LIST = (
    "https://cloud.google.com/vertex-ai/docs/predictions/pre-built-containers "
    "(as google-cloud-aiplatform 2.7.0 lists them in google/cloud/aiplatform/constants/prediction.py)"
)
_READ = "2026-12-03"
_PREDICTION = "{area}-docker.pkg.dev/vertex-ai/prediction/"


def _area(region: str) -> dict[str, str]:
    area = "europe" if region.startswith("europe") else "asia" if region.startswith(("asia", "australia")) else "us"
    return {"area": area}


def _row(framework: str, image: str, version: str, gpu: bool, server: str) -> ServingImage:
    return ServingImage(framework, version, gpu, f"{_PREDICTION}{image}:latest", server, _LIST, _READ)


_CPU_ONLY = (
    "Vertex's {0} prediction containers are CPU-only: give the endpoint a machine without accelerators, "
    "or set `image` to a GPU container that serves {0} (e.g. NVIDIA Triton's FIL backend, pushed to Artifact "
    "Registry)"
)
SERVING_IMAGES = ImageTable(
    title="Vertex AI",
    registries=_area,
    rows=(
        _row("sklearn", "sklearn-cpu.1-6", "1.6", False, "scikit-learn prediction container"),
        _row("sklearn", "sklearn-cpu.1-5", "1.5", False, "scikit-learn prediction container"),
        _row("xgboost", "xgboost-cpu.2-1", "2.1", False, "XGBoost prediction container"),
        _row("xgboost", "xgboost-cpu.2-0", "2.0", False, "XGBoost prediction container"),
        _row("xgboost", "xgboost-cpu.1-7", "1.7", False, "XGBoost prediction container"),
        _row("tensorflow", "tf2-cpu.2-15", "2.15", False, "TensorFlow Serving"),
        _row("tensorflow", "tf2-gpu.2-15", "2.15", True, "TensorFlow Serving"),
        _row("tensorflow", "tf2-cpu.2-14", "2.14", False, "TensorFlow Serving"),
        _row("tensorflow", "tf2-gpu.2-14", "2.14", True, "TensorFlow Serving"),
        _row("pytorch", "pytorch-cpu.2-4", "2.4", False, "TorchServe"),
        _row("pytorch", "pytorch-gpu.2-4", "2.4", True, "TorchServe"),
        _row("pytorch", "pytorch-cpu.2-3", "2.3", False, "TorchServe"),
        _row("pytorch", "pytorch-gpu.2-3", "2.3", True, "TorchServe"),
    ),
    no_gpu={f: _CPU_ONLY.format(f) for f in ("sklearn", "xgboost")},
    missing={
        "onnx": "set `image` to a container that serves ONNX (e.g. NVIDIA Triton with its ONNX Runtime backend, "
        "pushed to Artifact Registry), or export the model for framework pytorch or tensorflow",
        "triton": "Vertex serves Triton from an image you push (nvcr.io/nvidia/tritonserver copied to Artifact "
        "Registry): set `image` to it",
        "tgi": "set `image` to Google Cloud's Hugging Face TGI deep learning container or a Model Garden vLLM image",
    },
)
