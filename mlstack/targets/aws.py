"""The AWS SageMaker dialect: every way SageMaker differs, as data the backend, validation, review and
migration read."""

from __future__ import annotations

from mlstack.targets.dialect import ALL_STRATEGIES, NameRule, TargetProfile

AWS = TargetProfile(
    cloud="aws",
    title="AWS SageMaker",
    data_root_example="s3://my-bucket/prefix",
    price_caveat="aws figures are SageMaker real-time inference rates; training instances bill their own rates",
    security_groups=True,
    # backends/aws/checks.py: S3 everywhere
    migration_reads=dict.fromkeys(("artifact", "data", "capture", "baseline", "labels"), ("s3://*",)),
    names={
        "endpoint": NameRule(
            63,
            r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}",
            "SageMaker endpoint names are 1-63 characters "
            "of letters, digits and hyphens, starting with a letter or digit",
        ),
        "model_group": NameRule(
            63,
            r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}",
            "SageMaker model package group names are 1-63 characters of letters, digits and hyphens",
        ),
        "feature_view": NameRule(
            64,
            r"[a-zA-Z0-9]([_-]*[a-zA-Z0-9]){0,63}",
            "SageMaker feature group names are 1-64 characters of letters, digits, hyphens and underscores",
        ),
        "pipeline": NameRule(
            256,
            r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}",
            "SageMaker pipeline names are 1-256 characters of letters, digits and hyphens",
        ),
        "monitor": NameRule(
            63,
            r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}",
            "SageMaker monitoring schedule names are 1-63 characters of letters, digits and hyphens",
        ),
    },
    strategies=dict(ALL_STRATEGIES),
    unsupported_strategies={},
    max_canary_percent=50,
    max_shadow_percent=100,
    metrics={
        # Native only where Model Monitor publishes a CloudWatch metric an alarm can watch with the spec's
        # meaning: Linf drift distance and completeness per feature, model-quality metrics. Its "Robust"
        # check publishes a KS distance, not the p-value the spec's `ks` means, and type/range checks are
        # report-only violations, so those run in mlstack's container (mlstack/backends/aws/signals.py).
        "l_infinity": "Simple",
        "null_rate": "completeness",
        **{m: m for m in ("accuracy", "precision", "recall", "f1", "auc", "mae", "rmse")},
    },
    custom_metrics=frozenset(
        {"psi", "jensen_shannon", "wasserstein", "chi2", "ks", "type_error_rate", "out_of_range_rate"}
    ),
    serverless=True,
    schedule_rule="sagemaker",
    traffic_sizing="instances",
    champion_source="declared",
    kms_key_pattern=r"arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key|alias)/.+",
    kms_key_example="arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
)


# --- name lengths (SageMaker, IAM, S3, SNS, EventBridge, ECR, Glue) ---

# SageMaker, IAM, S3, SNS, EventBridge limits on name length.
SAGEMAKER = 63
FEATURE_GROUP = 64
PIPELINE = 256
ROLE = 64
BUCKET = 63
TOPIC = 256
ALARM = 255
RULE = 64
SCHEDULE = 64
ECR = 256
GLUE = 255


# --- endpoints: deployment guardrails, storage, utilisation metrics ---

# Instance families with local NVMe storage: SageMaker refuses a KMS key for their storage volume
# (CreateEndpointConfig, KmsKeyId); their instance storage is hardware-encrypted instead.
LOCAL_STORAGE_FAMILIES = frozenset(
    {"c5d", "m5d", "r5d", "g4dn", "g5", "g6", "g6e", "p3dn", "p4d", "p4de", "p5", "p5e", "m6id", "c6id", "r6id"}
)
# Time SageMaker needs to provision the new fleet, on top of the strategy's waits.
PROVISIONING_ALLOWANCE = 1800
DEPLOYMENT_TIMEOUT = (600, 28800)
MAX_WAIT = 3600
UTILISATION_METRICS = {"cpu_utilization": "CPUUtilization", "gpu_utilization": "GPUUtilization"}
# Stepped rollouts: strategy type -> (routing type, size field).
STEPPED = {"canary": ("CANARY", "canary_size"), "linear": ("LINEAR", "linear_step_size")}


# --- limits validate checks ---

LINEAR_STEP = (10, 50)  # SageMaker linear_step_size, % of capacity
MAX_ROLLBACK_ALARMS = 10


# --- monitors: what Model Monitor publishes ---

DATA_NAMESPACE = "aws/sagemaker/Endpoints/data-metrics"
MODEL_NAMESPACE = "aws/sagemaker/Endpoints/model-metrics"
MAX_ALARM_METRICS = 10
# spec metric -> (per-feature metric name template, value = 1 - spec value)
ANALYZER = {
    "l_infinity": ("feature_baseline_drift_{feature}", False),
    "null_rate": ("feature_non_null_{feature}", True),
}
ANALYZER_KINDS = {"l_infinity": "data_drift", "null_rate": "data_quality"}
# SageMaker model-quality metric names per problem type (multiclass reports weighted averages).
MODEL_METRICS: dict[str, dict[str, str]] = {
    "binary_classification": {m: m for m in ("accuracy", "precision", "recall", "f1", "auc")},
    "multiclass_classification": {
        "accuracy": "accuracy",
        "precision": "weighted_precision",
        "recall": "weighted_recall",
        "f1": "weighted_f1",
    },
    "regression": {"mae": "mae", "rmse": "rmse"},
}
PROBLEM_TYPES = {
    "binary_classification": "BinaryClassification",
    "multiclass_classification": "MulticlassClassification",
    "regression": "Regression",
}
