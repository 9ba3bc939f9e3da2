"""The shape of a target dialect: what a target can do and how it names things, as data."""

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
class SourceTables:
    """Relative feature view sources are tables in a dataset the target's settings name (Vertex reads
    BigQuery), not files under its data root."""

    setting: str  # the target.<cloud> field naming the dataset
    scheme: str  # the URI scheme of a table
    store: str  # what holds the tables, for messages
    dataset_form: str  # how the dataset is written, for messages


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
    # Rollback alarms of a stepped rollout see the old and new fleets as one (SageMaker reports both under
    # the variant's name), so a canary's error rate reaches them diluted by its share of traffic.
    blended_rollback_alarms: bool = False
    # seconds added to each watched rollout wait when an error-rate rollback is a log alert, which judges a
    # request only minutes after it is answered (ingestion, then its next run); 0: alarms see requests at once
    rollback_log_settle_seconds: int = 0
    champion_source: str = "live"
    # A manual model group's versions wait for approval before an endpoint or deploy step serves them;
    # None when the target enforces it, else what it does instead.
    approval_gap: str | None = None
    # Development mode creates monitors paused; None when the target can, else what it does instead.
    paused_monitor_gap: str | None = None
    # Where and on what it runs: a cloud needs a region; some need their settings block (what it must hold);
    # the emulator serves versions its pipelines register when the platform comes up.
    needs_region: bool = True
    required_settings: str | None = None
    serves_unregistered_versions: bool = False
    # What the required settings are, named for a migration report that cannot invent them.
    required_settings_named: str | None = None
    # The target runs on this machine (the local emulator), not in a cloud account: any compute pin runs on
    # this machine's CPUs, relative locations are files beside the spec and images are used as written, keys
    # and networks are kept unused, and the engine starts the emulator for the stack.
    emulated: bool = False
    # A compute pin is a machine type with accelerator_type and accelerator_count (Vertex), not an instance
    # SKU that comes with its GPUs.
    accelerator_pins: bool = False
    # A relative data location lives under target.<cloud>.data_root; how a root looks, for messages.
    data_root_example: str = ""
    source_tables: SourceTables | None = None
    # The target's network takes security group ids (target.network.security_groups).
    security_groups: bool = False
    # What the catalog's prices for this target are (which rate of which page), said wherever they are summed
    # or compared.
    price_caveat: str | None = None
    # What the backend reads per kind of data (artifact, data, capture, baseline, labels), as fnmatch
    # patterns in order of preference, where the <kind>_schemes fields do not say (those win when they do):
    # where migration moves data to.
    migration_reads: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # None when monitors can watch a batch job's captured rows; else why not and the closest thing offered.
    batch_monitors: str | None = None
    # Whether a batch job may score a feature view training set (input.entities); the clouds read files.
    batch_from_feature_views: bool = False
    # Batch jobs: what runs them, the file formats it reads and writes, and (None when applied) why the
    # job's schedule is not.
    batch_service: str = ""
    batch_step: str = ""  # what runs a pipeline's batch_scoring step
    batch_formats: tuple[str, ...] = ("csv", "parquet")
    batch_schedule_gap: str | None = None
    # None when a batch job's data_capture is applied; else what happens instead (a located warning).
    batch_capture_gap: str | None = None
    # Endpoints without a fleet: where the target has none, what it offers that comes closest.
    serverless_instead: str = ""
    asynchronous: bool = False  # queued requests answered by writing results to storage
    async_instead: str = ""


ALL_STRATEGIES: dict[str, str | None] = {
    s: None for s in ("all_at_once", "blue_green", "canary", "linear", "shadow", "ab")
}
ALL_METRICS = {m: m for m in (*DRIFT_METRICS, *DATA_QUALITY_METRICS, *MODEL_QUALITY_METRICS)}


def supports_metric(target: TargetProfile, metric: str) -> bool:
    return metric in target.metrics or metric in target.custom_metrics
