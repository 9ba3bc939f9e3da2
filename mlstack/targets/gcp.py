"""The Google Vertex AI dialect."""

from __future__ import annotations

from mlstack.metrics import DATA_QUALITY_METRICS, MODEL_QUALITY_METRICS
from mlstack.targets.dialect import ALL_STRATEGIES, NameRule, SourceTables, TargetProfile

GCP = TargetProfile(
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
    schedule_rule="whole_hours",
    shadow_replay_cron="5 * * * *",
    approval_gap="the Vertex Model Registry has no approval state: a pipeline's deployment step serves the version "
    "it registered without waiting for approval",
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
