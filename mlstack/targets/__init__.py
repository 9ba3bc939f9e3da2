"""What each target can do and how it names things, as data shared by validation, backends,
review and migration (the way a sqlglot dialect is a table of mappings, not a code path)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from mlstack.metrics import DATA_QUALITY_METRICS, DRIFT_METRICS, MODEL_QUALITY_METRICS


@dataclass(frozen=True)
class NameRule:
    """A vendor naming rule for one kind of spec object, checked on the name the backend will use."""

    max_length: int
    pattern: str
    says: str  # the rule in the vendor's words, for error messages
    min_length: int = 1
    underscores: bool = False  # the backend writes hyphens as underscores (Vertex feature store ids)

    def vendor_name(self, name: str) -> str:
        return name.replace("-", "_") if self.underscores else name

    def problem(self, name: str) -> str | None:
        vendor = self.vendor_name(name)
        if not self.min_length <= len(vendor) <= self.max_length or not re.fullmatch(self.pattern, vendor):
            shown = f"'{name}'" if vendor == name else f"'{name}' (written '{vendor}')"
            return f"{shown} breaks the naming rule: {self.says}"
        return None


@dataclass(frozen=True)
class TargetProfile:
    cloud: str
    title: str
    names: dict[str, NameRule]  # spec object kind -> rule
    strategies: dict[str, str | None]  # strategy type -> None when native, else how it is done
    unsupported_strategies: dict[str, str]  # strategy type -> why not
    max_canary_percent: int
    max_shadow_percent: int
    # spec metric -> the vendor's own metric name
    metrics: dict[str, str]
    # metrics the vendor lacks that mlstack computes itself in a job on the vendor's scheduler,
    # with the same statistics code as the emulator; a metric in neither table is a validation error
    custom_metrics: frozenset[str]
    serverless: bool
    schedule_rule: str  # "any", "sagemaker" (hourly, daily, every N hours) or "whole_hours"
    kms_key_pattern: str
    kms_key_example: str
    notes: dict[str, str] = field(default_factory=dict)
    # URI schemes the target reads; empty means any. Model artifacts, feature view sources and data
    # capture destinations outside them fail at deploy time, so validation should reject them.
    artifact_schemes: tuple[str, ...] = ()
    source_schemes: tuple[str, ...] = ()
    capture_schemes: tuple[str, ...] = ()
    # what a monitor baseline may be (a regex on the absolute location); None means any
    baseline_pattern: str | None = None
    baseline_says: str = ""
    # How the target can mean the spec's strategies and gates (mlstack.resolve.differences reports
    # where it cannot exactly): partial traffic stages as a share of "traffic" or in whole "instances"
    # of the fleet; shadow as live mirroring, or (a cron) a scheduled replay of the logged requests of
    # the hour before; a gate's champion read "live" when the run starts or as "declared" in the
    # registry when deployed.
    traffic_sizing: str = "traffic"
    shadow_replay_cron: str | None = None
    champion_source: str = "live"
    # A manual model group's versions wait for approval before an endpoint or deploy step serves them;
    # None when the target enforces it, else what it does instead.
    approval_gap: str | None = None


_ALL_STRATEGIES: dict[str, str | None] = {
    s: None for s in ("all_at_once", "blue_green", "canary", "linear", "shadow", "ab")
}
_ALL_METRICS = {m: m for m in (*DRIFT_METRICS, *DATA_QUALITY_METRICS, *MODEL_QUALITY_METRICS)}

AWS = TargetProfile(
    cloud="aws",
    title="AWS SageMaker",
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
    strategies=dict(_ALL_STRATEGIES),
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

GCP = TargetProfile(
    cloud="gcp",
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
        **_ALL_STRATEGIES,
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

AZURE = TargetProfile(
    cloud="azure",
    title="Azure Machine Learning",
    names={
        "endpoint": NameRule(
            32,
            r"[a-zA-Z][a-zA-Z0-9-]*[a-zA-Z0-9]",
            "Azure online endpoint names are 3-32 characters of letters, digits and hyphens, starting with a letter",
            min_length=3,
        ),
        "variant": NameRule(
            32,
            r"[a-zA-Z][a-zA-Z0-9-]*[a-zA-Z0-9]",
            "Azure deployment names are 3-32 characters of letters, digits and hyphens, starting with a letter",
            min_length=3,
        ),
        "compute": NameRule(
            16,
            r"[a-zA-Z][a-zA-Z0-9-]*[a-zA-Z0-9]",
            "Azure compute cluster names are 2-16 characters of letters, digits and hyphens, starting with a letter",
            min_length=2,
        ),
        "model_group": NameRule(255, r"[a-zA-Z0-9][a-zA-Z0-9_.-]*", "Azure model names are at most 255 characters"),
    },
    strategies={
        **_ALL_STRATEGIES,
        "canary": "a new deployment next to the serving one; the endpoint's traffic moves to it in two stages",
        "linear": "a new deployment next to the serving one; the endpoint's traffic moves to it step by step",
        "blue_green": "a new deployment next to the serving one, then all traffic switches to it",
        "shadow": "mirror_traffic to the challenger's deployment",
    },
    unsupported_strategies={},
    max_canary_percent=99,
    max_shadow_percent=50,
    metrics={
        "jensen_shannon": "jensen_shannon_distance",
        "wasserstein": "normalized_wasserstein_distance",
        "psi": "population_stability_index",
        "ks": "two_sample_kolmogorov_smirnov_test",
        "chi2": "pearsons_chi_squared_test",
        "null_rate": "null_value_rate",
        "type_error_rate": "data_type_error_rate",
        "out_of_range_rate": "out_of_bounds_rate",
        # Azure's model performance signal (azure-ai-ml ModelPerformance*Thresholds) measures accuracy,
        # precision and recall for classification and MAE and RMSE for regression: no F1, no AUC.
        "accuracy": "accuracy",
        "precision": "precision",
        "recall": "recall",
        "mae": "mean_absolute_error",
        "rmse": "root_mean_squared_error",
    },
    custom_metrics=frozenset(),
    serverless=False,
    schedule_rule="any",
    champion_source="declared",
    approval_gap="Azure models have no approval state (mlstack keeps it as a tag): a pipeline's deployment step "
    "serves the newest version without waiting for approval",
    kms_key_pattern=r"https://[a-zA-Z0-9-]+\.vault\.azure\.net/keys/[^/]+(/[^/]+)?",
    kms_key_example="https://my-vault.vault.azure.net/keys/mlstack/0123456789abcdef",
    # "azureml:" covers datastore paths (azureml://datastores/...) and registered assets (azureml:name:version)
    artifact_schemes=("azureml:", "abfss://", "wasbs://", "https://"),
    source_schemes=("azureml:", "abfss://", "wasbs://", "https://"),
    capture_schemes=("azureml:", "abfss://", "wasbs://", "https://"),
)

LOCAL = TargetProfile(
    cloud="local",
    title="the local emulator",
    names={},
    strategies=dict(_ALL_STRATEGIES),
    unsupported_strategies={},
    max_canary_percent=99,
    max_shadow_percent=100,
    metrics=dict(_ALL_METRICS),
    custom_metrics=frozenset(),
    serverless=True,
    schedule_rule="any",
    kms_key_pattern=r".+",
    kms_key_example="any key id (the emulator records it)",
)


def supports_metric(target: TargetProfile, metric: str) -> bool:
    return metric in target.metrics or metric in target.custom_metrics


PROFILES: dict[str, TargetProfile] = {p.cloud: p for p in (AWS, GCP, AZURE, LOCAL)}


def profile(cloud: str) -> TargetProfile:
    return PROFILES[cloud]
