"""The mlstack.yaml spec (apiVersion mlstack/v1) as Pydantic models: the single source of truth
for validation, the JSON Schema and the reference docs."""

from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mlstack.metrics import DATA_QUALITY_METRICS, DRIFT_METRICS, MODEL_QUALITY_METRICS
from mlstack.names import column_clashes
from mlstack.runtime.contract import CODE_KINDS
from mlstack.spec.types import Cron, Duration, Ident, Name, Percent, check_bounded
from mlstack.targets import PROFILES

CLOUDS: tuple[str, ...] = tuple(PROFILES)  # the list of targets, defined once (mlstack.targets)
Cloud = Literal[CLOUDS]  # type: ignore[valid-type]
Dtype = Literal["int32", "int64", "float32", "float64", "string", "bool", "timestamp"]

METRICS_BY_KIND: dict[str, tuple[str, ...]] = {
    "data_drift": DRIFT_METRICS,
    "prediction_drift": DRIFT_METRICS,
    "data_quality": DATA_QUALITY_METRICS,
    "model_quality": MODEL_QUALITY_METRICS,
}


class Model(BaseModel):
    # Deferred: nested models are built once, inside Spec's schema, rather than each on its own at
    # import; this halves `mlstack validate`'s start-up (benchmarks/bench_validate.py).
    # No NaN or infinity anywhere: a NaN gate passes every comparison and a NaN threshold never alerts.
    model_config = ConfigDict(extra="forbid", defer_build=True, allow_inf_nan=False)

    @field_validator("*", mode="after")
    @classmethod
    def _bounded(cls, value: object) -> object:
        return check_bounded(value)


# --- target -------------------------------------------------------------------------------------


class Network(Model):
    """Where the platform's endpoints and jobs run. Private by default."""

    vpc: str | None = Field(None, description="AWS VPC id, GCP VPC network name or Azure virtual network id.")
    subnets: list[str] = Field(default_factory=list, description="Subnet ids (AWS, Azure) or names (GCP).")
    security_groups: list[str] = Field(default_factory=list, description="AWS security group ids.")
    private_endpoints: bool = Field(
        True, description="Reach endpoints and workspaces through private endpoints / PSC only."
    )


class AwsSettings(Model):
    account_id: str | None = Field(None, pattern=r"^\d{12}$", description="12-digit AWS account id.")
    region: str | None = Field(None, description="Overrides target.region on AWS.")
    alarm_topic: str | None = Field(None, description="SNS topic ARN for monitor alerts; created when absent.")
    kms_key: str | None = Field(None, description="KMS key ARN; overrides target.kms_key on AWS.")
    data_root: str | None = Field(
        None, pattern=r"^s3://", description="Where relative data paths in the spec live on AWS (s3://bucket/prefix)."
    )
    image_registry: str | None = Field(
        None, description="Registry for bare image names (name:tag), e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com."
    )
    model_monitor: bool = Field(
        False,
        description="Run l_infinity drift, null_rate quality and model_quality monitors on SageMaker Model Monitor "
        "(only for accounts that already use it: AWS has closed it to new customers). By default every monitor runs "
        "mlstack's own evaluator as a scheduled one-step SageMaker pipeline.",
    )


class GcpSettings(Model):
    project: str = Field(
        ..., pattern=r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$", description="GCP project id (6-30 characters)."
    )
    region: str | None = Field(None, description="Overrides target.region on GCP.")
    kms_key: str | None = Field(None, description="Cloud KMS key (CMEK); overrides target.kms_key on GCP.")
    data_root: str | None = Field(
        None, pattern=r"^gs://", description="Where relative data paths in the spec live on GCP (gs://bucket/prefix)."
    )
    feature_dataset: str | None = Field(
        None,
        pattern=r"^[a-z][a-z0-9-]{4,28}[a-z0-9]\.\w+$",
        description="BigQuery dataset (project.dataset) holding the tables that relative feature sources name.",
    )
    image_registry: str | None = Field(
        None, description="Registry for bare image names (name:tag), e.g. us-central1-docker.pkg.dev/project/repo."
    )
    network: str | None = Field(
        None,
        pattern=r"^(projects/[a-z][a-z0-9-]{4,28}[a-z0-9]/global/networks/)?[a-z]([-a-z0-9]{0,61}[a-z0-9])?$",
        description="VPC network (name, or projects/P/global/networks/N of a Shared VPC) private endpoints are "
        "reached from: Vertex creates their Private Service Connect forwarding rules in it; overrides "
        "target.network.vpc on GCP.",
    )
    subnet: str | None = Field(
        None,
        pattern=r"^(projects/[a-z][a-z0-9-]{4,28}[a-z0-9]/regions/[a-z0-9-]+/subnetworks/)?"
        r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?$",
        description="Subnet (name in the region, or its full name) holding the address of the private online "
        "feature store's forwarding rule; overrides target.network.subnets on GCP.",
    )


class AzureSettings(Model):
    subscription_id: str = Field(
        ...,
        pattern=r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
        description="Azure subscription id (a GUID).",
    )
    resource_group: str = Field(..., min_length=1, max_length=90)
    workspace: str = Field(
        ..., pattern=r"^[a-zA-Z0-9][a-zA-Z0-9_-]{2,32}$", description="Azure ML workspace name (3-33 characters)."
    )
    create_workspace: bool = Field(
        True,
        description="Create the workspace and its storage, key vault, insights and registry; false uses an existing one.",
    )
    region: str | None = Field(None, description="Overrides target.region on Azure.")
    kms_key: str | None = Field(None, description="Key Vault key URL; overrides target.kms_key on Azure.")
    data_root: str | None = Field(
        None,
        pattern=r"^(azureml|abfss|https)://",
        description="Where relative data paths in the spec live on Azure (azureml://datastores/<name>/paths/<prefix>).",
    )
    image_registry: str | None = Field(
        None, description="Registry for bare image names (name:tag), e.g. myregistry.azurecr.io."
    )
    subnets: list[str] = Field(
        default_factory=list,
        description="Subnet ids the private endpoints go in (/subscriptions/.../virtualNetworks/V/subnets/S); "
        "overrides target.network.subnets on Azure.",
    )


class LocalSettings(Model):
    state_dir: str = Field(".mlstack", description="Where the emulator keeps its state, relative to the spec.")
    port: int = Field(0, ge=0, le=65535, description="Control-plane port on 127.0.0.1; 0 picks a free one.")


class Target(Model):
    cloud: Cloud = Field("local", description="Where the platform is deployed.")
    region: str | None = Field(None, description="Cloud region, e.g. us-east-1, us-central1, eastus.")
    aws: AwsSettings | None = None
    gcp: GcpSettings | None = None
    azure: AzureSettings | None = None
    local: LocalSettings = Field(default_factory=LocalSettings)
    kms_key: str | None = Field(
        None,
        description="Encrypt everything with this key: a KMS key ARN (aws), a Cloud KMS key resource name (gcp) "
        "or a Key Vault key URL (azure).",
    )
    network: Network | None = None

    def region_for(self, cloud: str) -> str | None:
        return getattr(getattr(self, cloud, None), "region", None) or self.region

    def kms_key_for(self, cloud: str) -> str | None:
        return getattr(getattr(self, cloud, None), "kms_key", None) or self.kms_key


# --- compute ------------------------------------------------------------------------------------


class ComputeProfile(Model):
    """Cloud-neutral hardware needs (resolved to the cheapest fitting SKU) or a pinned vendor SKU."""

    gpu: str | None = Field(None, description="GPU model or class: T4, L4, A10G, A10, L40S, V100, A100, H100, ...")
    gpus: int | None = Field(None, ge=1, le=16, description="Exact number of GPUs.")
    gpu_memory_gb: float | None = Field(None, gt=0, description="Minimum total GPU memory of the instance, GiB.")
    vcpus: int | None = Field(None, ge=1, description="Minimum vCPUs.")
    memory_gb: float | None = Field(None, gt=0, description="Minimum RAM, GiB.")
    instance_type: str | None = Field(
        None, description="Pinned vendor SKU: ml.g5.xlarge, g2-standard-8, Standard_NC4as_T4_v3, ..."
    )
    accelerator_type: str | None = Field(None, description="Vertex only, with instance_type: e.g. NVIDIA_L4.")
    accelerator_count: int | None = Field(None, ge=1, description="Vertex only, with accelerator_type.")

    @model_validator(mode="after")
    def _pinned_or_neutral(self) -> Self:
        neutral = [f for f in ("gpu", "gpus", "gpu_memory_gb", "vcpus", "memory_gb") if getattr(self, f) is not None]
        if self.instance_type and neutral:
            raise ValueError(
                f"pin a vendor SKU (instance_type) or describe the hardware ({', '.join(neutral)}), not both"
            )
        if (self.accelerator_type or self.accelerator_count) and not self.instance_type:
            raise ValueError("accelerator_type/accelerator_count pin a Vertex SKU and need instance_type")
        if not self.instance_type and not neutral:
            raise ValueError("say what the workload needs: gpu, gpus, gpu_memory_gb, vcpus, memory_gb or instance_type")
        return self


ComputeRef = Annotated[
    str | ComputeProfile,
    Field(description="The name of a profile under `compute`, or an inline profile."),
]


# --- registry -----------------------------------------------------------------------------------


class ModelVersion(Model):
    version: int = Field(..., ge=1)
    artifact: str = Field(
        ..., min_length=1, description="Model artifact: s3://, gs://, azureml:// URI or a local path."
    )
    framework: Literal["sklearn", "xgboost", "pytorch", "tensorflow", "onnx", "triton", "tgi", "custom"] = Field(
        "sklearn",
        description="What serves the model on the clouds without `image`: the cloud's prebuilt image for it "
        "(pytorch: TorchServe, tensorflow: TF Serving, triton: NVIDIA Triton, tgi: Hugging Face Text Generation "
        "Inference), GPU or CPU as the endpoint's compute resolves.",
    )
    framework_version: str | None = Field(
        None, description="The framework version of the cloud's image (e.g. 2.6.0); mlstack's default for the cloud "
        "when absent (the first of its rows in mlstack/targets/<cloud>.py)."
    )
    image: str | None = Field(
        None, description="Serving container image on the clouds; a framework default when absent."
    )
    entrypoint: str | None = Field(
        None, description="For framework custom: a Python `module:function` taking a list of records."
    )
    aliases: list[str] = Field(default_factory=list, description="e.g. champion, challenger.")
    approval: Literal["approved", "pending", "rejected"] = "approved"
    metrics: dict[str, float] = Field(default_factory=dict)


class Promotion(Model):
    """The environments a model version passes through, in order, and who must approve each move."""

    stages: list[Name] = Field(
        ...,
        min_length=1,
        description="Environments in promotion order, e.g. [dev, staging, prod]; a new version starts in the first.",
    )
    approvers: dict[Name, Annotated[int, Field(ge=1, le=10)]] = Field(
        default_factory=dict,
        description="Distinct approvers a promotion into a stage needs (1 when not listed), e.g. {prod: 2}.",
    )

    def needed(self, stage: str) -> int:
        return self.approvers.get(stage, 1)

    def tags(self) -> dict[str, str]:
        """The policy as tags (labels on GCP) on the cloud's model group, where promotions read it."""
        needed = ",".join(f"{stage}={self.needed(stage)}" for stage in self.stages[1:])
        return {"mlstack-promotion-stages": "/".join(self.stages), "mlstack-promotion-approvers": needed}

    def stage_of(self, environment: str | None) -> str:
        """The stage an environment's endpoints serve from: its own, or the first (where versions start)."""
        return environment if environment in self.stages else self.stages[0]

    def gated(self, environment: str | None) -> bool:
        """Whether the environment serves only promoted versions (a stage after the first)."""
        return self.stage_of(environment) != self.stages[0]


class ModelGroup(Model):
    name: Name
    description: str = ""
    promotion: Promotion | None = Field(
        None, description="Stages and approvers for this group; registry.promotion when absent."
    )
    intended_use: str = Field("", description="What the model is for and who may use it (model cards).")
    limitations: str = Field("", description="Known limitations, risks and out-of-scope uses (model cards).")
    approval: Literal["manual", "auto"] = Field(
        "manual", description="manual: a version must be approved before an endpoint may serve it."
    )
    tags: dict[str, str] = Field(default_factory=dict)
    versions: list[ModelVersion] = Field(
        default_factory=list, description="Versions that exist already (pipelines register more at run time)."
    )
    share_with: list[str] = Field(
        default_factory=list, description="Accounts, projects or workspaces allowed to read this group."
    )


class Registry(Model):
    shared: bool = Field(False, description="Azure: a registry shared across workspaces instead of workspace models.")
    model_groups: list[ModelGroup] = Field(default_factory=list)
    promotion: Promotion | None = Field(
        None, description="Default stages and approvers for every model group without its own `promotion`."
    )

    def promotion_of(self, group: ModelGroup) -> Promotion | None:
        return group.promotion or self.promotion


class ModelRef(Model):
    group: str = Field(..., description="A model group in the registry.")
    version: int | None = Field(None, ge=1)
    alias: str | None = Field(None, description="e.g. champion")

    @model_validator(mode="after")
    def _one_selector(self) -> Self:
        if (self.version is None) == (self.alias is None):
            raise ValueError("name exactly one of version or alias")
        return self

    def describe(self) -> str:
        return f"{self.group}@{self.alias}" if self.alias else f"{self.group}:v{self.version}"


# --- feature store ------------------------------------------------------------------------------


class Column(Model):
    name: Ident
    dtype: Dtype
    description: str = ""


class Entity(Model):
    name: Name
    join_keys: list[Column] = Field(..., min_length=1)
    description: str = ""


class Source(Model):
    uri: str = Field(
        ..., min_length=1, description="Parquet/CSV path (local), s3://, gs://, bq://project.dataset.table, abfss://"
    )
    timestamp_field: Ident = Field(..., description="The event time of each row.")
    created_timestamp_field: Ident | None = None


class FeatureView(Model):
    name: Name
    entity: str
    source: Source
    features: list[Column] = Field(..., min_length=1)
    ttl: Duration | None = Field(None, description="How long a value stays valid for lookups and training sets.")
    online: bool = True
    offline: bool = True
    sync_schedule: Cron | None = Field(None, description="Materialise to the online store on this schedule.")
    description: str = ""

    @field_validator("features", mode="after")
    @classmethod
    def _distinct_columns(cls, features: list[Column]) -> list[Column]:
        problems = column_clashes([f.name for f in features])
        if problems:
            raise ValueError("; ".join(problems))
        return features


class FeatureStore(Model):
    online_store: Literal["optimized", "bigtable"] = Field(
        "optimized", description="Vertex online store type; other targets ignore it."
    )
    entities: list[Entity] = Field(default_factory=list)
    views: list[FeatureView] = Field(default_factory=list)


# --- pipelines ----------------------------------------------------------------------------------

Scalar = str | int | float | bool


class Gate(Model):
    """A quality gate on an evaluation metric; the run stops before registration when it fails."""

    metric: str
    min: float | None = None
    max: float | None = None
    beat_champion: bool = Field(False, description="Also require the metric to be at least the champion's.")
    tolerance: float = Field(0.0, ge=0, description="Allowed shortfall against the champion.")

    @model_validator(mode="after")
    def _has_condition(self) -> Self:
        if self.min is None and self.max is None and not self.beat_champion:
            raise ValueError("a gate needs min, max or beat_champion")
        return self


StepKind = Literal[
    "data_validation", "processing", "training", "evaluation", "registration", "deployment", "batch_scoring"
]


class Step(Model):
    name: Name
    kind: StepKind
    entrypoint: str | None = Field(
        None, description="Python file (relative to the spec) or module:function; required for code steps."
    )
    image: str | None = Field(None, description="Container image on the clouds; the pipeline's image by default.")
    compute: ComputeRef | None = None
    depends_on: list[str] | None = Field(
        None, description="Steps that must finish first; the previous step by default."
    )
    parameters: dict[str, Scalar] = Field(default_factory=dict)
    gates: list[Gate] = Field(default_factory=list, description="evaluation steps: quality gates.")
    model_group: str | None = Field(None, description="registration steps: where the model is registered.")
    aliases: list[str] = Field(default_factory=list, description="registration steps: aliases to move.")
    endpoint: str | None = Field(None, description="deployment steps: the endpoint to roll out to.")
    batch_job: str | None = Field(
        None, description="batch_scoring steps: the batch job (under batch_jobs) the step runs once, as declared."
    )
    timeout: Duration = Field(3600, description="Stop the step after this long.")

    @model_validator(mode="after")
    def _fields_for_kind(self) -> Self:
        if self.kind in CODE_KINDS and not self.entrypoint:
            raise ValueError(f"a {self.kind} step needs an entrypoint")
        if self.gates and self.kind != "evaluation":
            raise ValueError("gates belong on an evaluation step")
        if self.kind == "registration" and not self.model_group:
            raise ValueError("a registration step needs model_group")
        if self.kind == "deployment" and not self.endpoint:
            raise ValueError("a deployment step needs endpoint")
        if self.kind == "batch_scoring" and not self.batch_job:
            raise ValueError("a batch_scoring step needs batch_job: the batch job it runs")
        if self.kind == "batch_scoring" and (self.entrypoint or self.image or self.compute is not None):
            raise ValueError(
                "a batch_scoring step runs its batch job's model on the job's compute: set no entrypoint, image "
                "or compute on the step"
            )
        if self.batch_job and self.kind != "batch_scoring":
            raise ValueError("batch_job belongs on a batch_scoring step")
        return self


class Trigger(Model):
    on_alert: str = Field(..., description="Start the pipeline when this monitor alerts.")


class Pipeline(Model):
    name: Name
    description: str = ""
    image: str | None = Field(None, description="Default container image for the steps on the clouds.")
    compute: ComputeRef | None = Field(None, description="Default compute for the steps.")
    parameters: dict[str, Scalar] = Field(default_factory=dict)
    data: str | None = Field(None, description="Training data URI or path (or use feature_views).")
    feature_views: list[str] = Field(default_factory=list, description="Feature views the training set joins.")
    steps: list[Step] = Field(..., min_length=1)
    schedule: Cron | None = None
    triggers: list[Trigger] = Field(default_factory=list)



class Tracking(Model):
    """Experiment tracking: what pipeline steps log with `mlstack.runtime.tracking` (MLflow's names), recorded
    in each target's own tracker: the emulator's run store (`mlstack runs`), SageMaker managed MLflow,
    Vertex AI Experiments, Azure ML's workspace MLflow."""

    enabled: bool = Field(
        True,
        description="Record every code step's params and metrics in the cloud's tracker (on AWS this "
        "creates a managed MLflow tracking server, billed while it runs); the emulator records runs either way.",
    )
    server_size: Literal["small", "medium", "large"] = Field(
        "small", description="AWS: the SageMaker managed MLflow tracking server's size (small suits up to 25 users)."
    )


# --- endpoints ----------------------------------------------------------------------------------


class Rollback(Model):
    """Alarms that roll a deployment back; one is enough to trigger."""

    max_error_rate: float | None = Field(None, gt=0, le=1, description="Share of 5xx answers, 0-1.")
    max_p99_latency_ms: float | None = Field(None, gt=0)
    window: Duration = Field(300, ge=60, description="The alarm window.")

    @model_validator(mode="after")
    def _has_alarm(self) -> Self:
        if self.max_error_rate is None and self.max_p99_latency_ms is None:
            raise ValueError("a rollback needs max_error_rate or max_p99_latency_ms")
        return self


class AllAtOnce(Model):
    type: Literal["all_at_once"]
    rollback: Rollback | None = None


class BlueGreen(Model):
    type: Literal["blue_green"]
    termination_wait: Duration = Field(300, le=3600, description="Keep the old fleet this long after the switch.")
    rollback: Rollback | None = None


class Canary(Model):
    type: Literal["canary"]
    percent: int = Field(
        ...,
        ge=1,
        le=99,
        description="Share of traffic the canary takes first (on SageMaker sized in whole instances: validate "
        "says the effective share).",
    )
    bake_time: Duration = Field(600, le=3600, description="Wait this long before shifting the rest.")
    termination_wait: Duration = Field(300, le=3600)
    rollback: Rollback | None = None


class Linear(Model):
    type: Literal["linear"]
    step_percent: int = Field(..., ge=1, le=99, description="Share shifted at each step.")
    interval: Duration = Field(600, le=3600, description="Wait between steps.")
    termination_wait: Duration = Field(300, le=3600)
    rollback: Rollback | None = None


class Shadow(Model):
    type: Literal["shadow"]
    challenger: ModelRef
    percent: Percent = Field(..., description="Share of requests mirrored to the challenger; answers discarded.")
    compute: ComputeRef | None = Field(None, description="The challenger's compute; the endpoint's by default.")
    instance_count: int | None = Field(
        None, ge=1, description="The challenger's instances; the endpoint's instance_count by default."
    )


class Variant(Model):
    name: Name
    model: ModelRef
    weight: Percent
    compute: ComputeRef | None = None
    instance_count: int | None = Field(
        None, ge=1, description="This variant's instances; the endpoint's instance_count by default."
    )


class AB(Model):
    type: Literal["ab"]
    variants: list[Variant] = Field(..., min_length=2, description="Weights sum to 100.")


Strategy = Annotated[AllAtOnce | BlueGreen | Canary | Linear | Shadow | AB, Field(discriminator="type")]
STRATEGIES = ("all_at_once", "blue_green", "canary", "linear", "shadow", "ab")


class Autoscaling(Model):
    min: int = Field(1, ge=0)
    max: int = Field(..., ge=1)
    metric: Literal["invocations_per_instance", "cpu_utilization", "gpu_utilization"] = "invocations_per_instance"
    target: float = Field(..., gt=0, description="Target value of the metric per instance (utilisation in %).")
    scale_in_cooldown: Duration = 300
    scale_out_cooldown: Duration = 60

    @model_validator(mode="after")
    def _bounds(self) -> Self:
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) is above max ({self.max})")
        if self.metric != "invocations_per_instance" and self.target > 100:
            raise ValueError(f"{self.metric} is a percentage: target must be 1-100, not {self.target:g}")
        return self


class Serverless(Model):
    """Capacity the cloud adds per request and removes when idle (SageMaker Serverless Inference)."""

    memory_gb: int = Field(..., ge=1, le=6, description="Memory per invocation, 1-6 GiB.")
    max_concurrency: int = Field(..., ge=1, le=200, description="Concurrent invocations at most.")
    provisioned_concurrency: int | None = Field(
        None, ge=1, le=200, description="Invocations kept warm (no cold start for them), at most max_concurrency."
    )
    idle_timeout: Duration = Field(
        600, ge=1, description="The local emulator unloads the model after this long without requests (the clouds "
        "decide it themselves); the next request is a cold start."
    )

    @model_validator(mode="after")
    def _provisioned_within_max(self) -> Self:
        if self.provisioned_concurrency and self.provisioned_concurrency > self.max_concurrency:
            raise ValueError(
                f"provisioned_concurrency ({self.provisioned_concurrency}) is above max_concurrency "
                f"({self.max_concurrency})"
            )
        return self


class AsyncNotifications(Model):
    success: str | None = Field(None, description="Topic told when a result is written (an SNS topic ARN).")
    error: str | None = Field(None, description="Topic told when a request fails.")


class AsyncInference(Model):
    """Requests queued and answered by writing the result to storage (SageMaker Asynchronous Inference)."""

    output: str = Field(..., min_length=1, description="Where results are written (s3:// on AWS, a folder locally).")
    failures: str | None = Field(None, description="Where failed requests' errors are written; output by default.")
    notifications: AsyncNotifications | None = None
    max_concurrent_invocations_per_instance: int | None = Field(
        None, ge=1, le=1000, description="Requests each instance works on at once; the cloud's default when absent."
    )


class DataCapture(Model):
    enabled: bool = True
    sampling_percent: Percent = 100
    destination: str | None = Field(
        None, description="Where captures go; a bucket/container the stack makes by default."
    )


class Endpoint(Model):
    name: Name
    model: ModelRef | None = Field(None, description="What is served; ab endpoints name models per variant.")
    compute: ComputeRef | None = None
    instance_count: int = Field(1, ge=1)
    autoscaling: Autoscaling | None = None
    serverless: Serverless | None = None
    async_inference: AsyncInference | None = Field(
        None,
        alias="async",
        description="Queue requests and write results to `output`; with autoscaling min 0 it scales to zero.",
    )
    data_capture: DataCapture | None = None
    strategy: Strategy = Field(default_factory=lambda: AllAtOnce(type="all_at_once"))
    public: bool = Field(False, description="Allow access from the public internet.")
    auth: Literal["key", "token"] = Field("token", description="key: static keys; token: IAM/AAD identity tokens.")
    tags: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _serving_shape(self) -> Self:
        is_ab = self.strategy.type == "ab"
        if self.model is None and not is_ab:
            raise ValueError("an endpoint needs model (only ab endpoints name models per variant)")
        if self.model is not None and is_ab:
            raise ValueError("an ab endpoint names its models under strategy.variants, not model")
        if self.serverless and (self.compute or self.autoscaling):
            raise ValueError("serverless endpoints take neither compute nor autoscaling")
        if not self.serverless and self.compute is None:
            raise ValueError("an endpoint needs compute (or serverless)")
        if self.serverless and self.async_inference:
            raise ValueError("an endpoint is serverless or async, not both")
        return self

    @property
    def captures(self) -> bool:
        return bool(self.data_capture and self.data_capture.enabled and self.data_capture.sampling_percent > 0)


# --- batch scoring ------------------------------------------------------------------------------


class BatchInput(Model):
    """What a batch job scores: a file or folder of rows, or a feature view's training set for a list of entities."""

    uri: str | None = Field(
        None, min_length=1, description="CSV/Parquet file or folder (local), s3://, gs://, azureml:// or abfss:// URI."
    )
    entities: str | None = Field(
        None,
        min_length=1,
        description="With feature_views: a CSV/Parquet file of entity keys (and event_timestamp) to join features to.",
    )
    feature_views: list[str] = Field(
        default_factory=list, description="Feature views whose point-in-time values are joined to the entities."
    )

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        if (self.uri is None) == (self.entities is None):
            raise ValueError("name exactly one of uri (rows to score) or entities (with feature_views)")
        if self.entities is not None and not self.feature_views:
            raise ValueError("entities need feature_views: the features joined to them are what is scored")
        if self.uri is not None and self.feature_views:
            raise ValueError("feature_views go with entities, not with uri")
        return self


class BatchJob(Model):
    """Offline scoring: a registered model version run over a dataset, writing one prediction per row."""

    name: Name
    model: ModelRef = Field(..., description="The registered version scored with (same reference as endpoints).")
    input: BatchInput
    output: str = Field(
        ..., min_length=1, description="Where predictions go: a folder (local path) or s3://, gs://, azureml:// URI."
    )
    format: Literal["csv", "parquet"] = Field("csv", description="File format of the input rows and the output.")
    compute: ComputeRef
    instance_count: int = Field(1, ge=1, le=100, description="Instances the rows are split over on the clouds.")
    schedule: Cron | None = Field(None, description="Score on this cron schedule (UTC); on demand only when absent.")
    expected_duration: Duration = Field(
        3600, description="How long one run is expected to take: what `mlstack diff` prices per run."
    )
    timeout: Duration = Field(86400, description="Stop a run after this long.")
    data_capture: DataCapture | None = Field(
        None, description="Record scored rows and predictions so monitors can watch the job like an endpoint."
    )
    tags: dict[str, str] = Field(default_factory=dict)

    @property
    def captures(self) -> bool:
        return bool(self.data_capture and self.data_capture.enabled and self.data_capture.sampling_percent > 0)


# --- monitors -----------------------------------------------------------------------------------


class AlertAction(Model):
    type: Literal["alert"]
    to: list[str] = Field(..., min_length=1, description="E-mail addresses, webhook URLs or topic ARNs.")


class RetrainAction(Model):
    type: Literal["retrain"]
    pipeline: str


class RollbackAction(Model):
    type: Literal["rollback"]


Action = Annotated[AlertAction | RetrainAction | RollbackAction, Field(discriminator="type")]


class Monitor(Model):
    name: Name
    kind: Literal["data_drift", "prediction_drift", "data_quality", "model_quality"]
    endpoint: str | None = Field(None, description="The endpoint whose captured requests are watched.")
    batch_job: str | None = Field(None, description="Or: the batch job whose captured rows are watched.")
    baseline: str | None = Field(None, description="Reference dataset (path or URI); the training data for drift.")
    features: list[str] = Field(default_factory=list, description="Columns to watch; all when empty.")
    metric: str = Field(
        ...,
        description="Drift: psi ks jensen_shannon wasserstein chi2 l_infinity; "
        "quality: null_rate type_error_rate out_of_range_rate; "
        "model: accuracy precision recall f1 auc mae rmse.",
    )
    threshold: float | None = Field(None, description="Alert past this value; the metric's default when absent.")
    schedule: Cron = "0 * * * *"
    problem_type: Literal["binary_classification", "multiclass_classification", "regression"] | None = None
    ground_truth: str | None = Field(None, description="model_quality: where labels arrive (path or URI).")
    actions: list[Action] = Field(default_factory=list)

    @model_validator(mode="after")
    def _fields_for_kind(self) -> Self:
        if (self.endpoint is None) == (self.batch_job is None):
            raise ValueError("name exactly one of endpoint or batch_job: what the monitor watches")
        allowed = METRICS_BY_KIND[self.kind]
        if self.metric not in allowed:
            raise ValueError(
                f"metric '{self.metric}' does not apply to {self.kind}; choose one of {', '.join(allowed)}"
            )
        if self.kind != "model_quality" and self.baseline is None:
            raise ValueError(f"a {self.kind} monitor needs a baseline dataset")
        if self.kind == "model_quality" and self.problem_type is None:
            raise ValueError("a model_quality monitor needs problem_type")
        return self


# --- environments -------------------------------------------------------------------------------


class TargetOverlay(Model):
    cloud: Cloud | None = None
    region: str | None = None
    aws: AwsSettings | None = None
    gcp: GcpSettings | None = None
    azure: AzureSettings | None = None
    local: LocalSettings | None = None
    kms_key: str | None = None
    network: Network | None = None


class EndpointOverlay(Model):
    compute: ComputeRef | None = None
    instance_count: int | None = Field(None, ge=1)
    autoscaling: Autoscaling | None = None
    serverless: Serverless | None = None
    data_capture: DataCapture | None = None
    strategy: Strategy | None = None
    public: bool | None = None


class PipelineOverlay(Model):
    compute: ComputeRef | None = None
    schedule: Cron | None = None
    parameters: dict[str, Scalar] | None = None


class MonitorOverlay(Model):
    schedule: Cron | None = None
    threshold: float | None = None


class Environment(Model):
    """Overrides applied over the base spec when this environment is selected (`--env`)."""

    production: bool | None = Field(None, description="Marks a production environment; true for prod/production.")
    mode: Literal["development", "production"] | None = Field(
        None,
        description=(
            "development: a per-user copy (names prefixed with $MLSTACK_USER or $USER, schedules and monitors "
            "paused, smaller compute allowed); production: the shared platform."
        ),
    )
    target: TargetOverlay | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    compute: dict[Name, ComputeProfile] = Field(default_factory=dict)
    endpoints: dict[str, EndpointOverlay] = Field(default_factory=dict)
    pipelines: dict[str, PipelineOverlay] = Field(default_factory=dict)
    monitors: dict[str, MonitorOverlay] = Field(default_factory=dict)


# --- the spec -----------------------------------------------------------------------------------


class Spec(Model):
    """An ML platform: registry, feature store, pipelines, endpoints and monitors on one target."""

    model_config = ConfigDict(extra="forbid", title="mlstack spec (apiVersion mlstack/v1)")

    apiVersion: Literal["mlstack/v1"]
    name: Name
    owner: str = Field(..., min_length=1, description="Team or person accountable: an e-mail or team name.")
    description: str = ""
    tags: dict[str, str] = Field(default_factory=dict)
    target: Target = Field(default_factory=Target)
    environments: dict[Name, Environment] = Field(default_factory=dict)
    compute: dict[Name, ComputeProfile] = Field(default_factory=dict)
    registry: Registry = Field(default_factory=Registry)
    feature_store: FeatureStore = Field(default_factory=FeatureStore)
    pipelines: list[Pipeline] = Field(default_factory=list)
    endpoints: list[Endpoint] = Field(default_factory=list)
    monitors: list[Monitor] = Field(default_factory=list)
    batch_jobs: list[BatchJob] = Field(default_factory=list, description="Offline scoring jobs.")
    tracking: Tracking = Field(default_factory=Tracking, description="Experiment tracking of pipeline runs.")

    def model_group(self, name: str) -> ModelGroup | None:
        return next((g for g in self.registry.model_groups if g.name == name), None)

    def endpoint(self, name: str) -> Endpoint | None:
        return next((e for e in self.endpoints if e.name == name), None)

    def pipeline(self, name: str) -> Pipeline | None:
        return next((p for p in self.pipelines if p.name == name), None)

    def batch_job(self, name: str) -> BatchJob | None:
        return next((b for b in self.batch_jobs if b.name == name), None)
