"""The AWS SageMaker dialect: every way SageMaker differs, as data the backend, validation, review and
migration read."""

from __future__ import annotations

from mlstack.targets.dialect import ALL_STRATEGIES, NameRule, TargetProfile
from mlstack.targets.images import ImageTable, ServingImage

AWS = TargetProfile(
    batch_step="a Transform step (Batch Transform) in the SageMaker pipeline",
    batch_service="SageMaker Batch Transform (a Transform step in a scheduled SageMaker pipeline)",
    batch_formats=("csv",),  # split by line, each row joined to its prediction
    batch_monitors=(
        "monitors over a batch job are not lowered to SageMaker yet (Model Monitor's BatchTransformInput is the closest); watch an endpoint, or run this monitor on the local emulator"
    ),
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
    asynchronous=True,
    schedule_rule="sagemaker",
    traffic_sizing="instances",
    blended_rollback_alarms=True,
    champion_source="declared",
    paused_monitor_gap="development mode creates the monitor's schedule disabled; a SageMaker Model Monitor schedule "
    "(target.aws.model_monitor) cannot be created stopped (pulumi_aws has no status for it), so it deploys the monitor "
    "without its schedule",
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
# Experiment tracking: SageMaker managed MLflow. The steps' MLflow client reaches the server by its ARN
# through the `sagemaker-mlflow` plugin (installed beside mlflow in the step image).
TRACKING_SERVER_SIZES = {"small": "Small", "medium": "Medium", "large": "Large"}
TRACKING_PREFIX = "mlflow/"  # where in the platform bucket the tracking server keeps run artifacts
# What the MLflow client calls for one step's run (mlstack.runtime.tracking.forward_to_mlflow: the
# experiment by name, created once, a run, its params, metrics and tags in batches, then its end), as
# IAM actions of the `sagemaker-mlflow` service prefix, on the tracking server's ARN.
TRACKING_ACTIONS = tuple(
    f"sagemaker-mlflow:{action}"
    for action in (
        "CreateExperiment",
        "CreateRun",
        "GetExperimentByName",
        "GetRun",
        "LogBatch",
        "LogMetric",
        "LogParam",
        "SetTag",
        "UpdateRun",
    )
)


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


# --- customer managed keys: what only the key's own policy can grant ---

# AWS services that use the platform's KMS key as themselves (a service principal, which no IAM policy of
# the stack can give rights to): the statement the key policy must hold. CloudWatch alarms and EventBridge
# rules (failed monitor runs) publishing to a KMS-encrypted SNS topic
# (https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services).
KEY_POLICY_SERVICES = {
    "alerts": (("cloudwatch.amazonaws.com", "events.amazonaws.com"), ("kms:Decrypt", "kms:GenerateDataKey*"))
}
# A Model Monitor run is a SageMaker processing job; its state change event carries the schedule it ran for.
FAILED_RUN_EVENT = "SageMaker Processing Job State Change"
# mlstack's own monitor run is a pipeline execution (detail: currentPipelineExecutionStatus, pipelineArn).
FAILED_PIPELINE_EVENT = "SageMaker Model Building Pipeline Execution Status Change"


# SageMaker Pipelines names the jobs it starts pipelines-<execution>-<step>-...: what a pipeline role may run.
PIPELINE_JOB_PREFIX = "pipelines-"


# --- monitors: mlstack's evaluator, or Model Monitor for the accounts that have it ---

# AWS docs say Model Monitor is closed to new customers (/work/shared/FACTS.md). By default every monitor
# runs mlstack's own evaluator as a scheduled one-step SageMaker pipeline (backends/aws/monitor_pipeline.py);
# `target.aws.model_monitor: true` puts the kinds Model Monitor computes natively back on it.
MODEL_MONITOR_NOTICE = (
    "runs as a SageMaker Model Monitor schedule (target.aws.model_monitor), which AWS has closed to new "
    "customers: in an account that never used Model Monitor, `pulumi up` fails at CreateMonitoringSchedule; "
    "without target.aws.model_monitor it runs mlstack's own evaluator as a scheduled SageMaker pipeline"
)
# Where mlstack's monitor job publishes: a namespace of its own (PutMetricData refuses AWS/ namespaces),
# one metric per monitor, dimensions Endpoint and Monitor.
MONITOR_NAMESPACE = "mlstack/Monitors"
# EventBridge Scheduler's universal target for an AWS API call (managing-targets-universal).
START_PIPELINE_TARGET = "arn:{partition}:scheduler:::aws-sdk:sagemaker:startPipelineExecution"

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
# Where the model-quality job finds the prediction in a captured response (CSV, prediction first). A
# binary classifier's score is a probability (XGBoost binary:logistic), so it is read as one and cut at
# 0.5; a 0/1 label reads the same. EndpointInput.ProbabilityAttribute / ProbabilityThresholdAttribute.
MODEL_QUALITY_ATTRIBUTES: dict[str, dict[str, str | float]] = {
    "binary_classification": {"probability_attribute": "0", "probability_threshold_attribute": 0.5},
    "multiclass_classification": {"inference_attribute": "0"},
    "regression": {"inference_attribute": "0"},
}
PROBLEM_TYPES = {
    "binary_classification": "BinaryClassification",
    "multiclass_classification": "MulticlassClassification",
    "regression": "Regression",
}


# --- serving images: SageMaker's prebuilt containers per framework, version and machine ---

# region: (algorithms account, deep learning containers account, model monitor account), as the SageMaker
# Python SDK lists them in image_uri_config/ (sklearn.json and xgboost.json share the algorithms account,
# the deep learning containers share theirs, model-monitor.json). Regions outside it name their images.
ACCOUNTS: dict[str, tuple[str, str, str]] = {
    "us-east-1": ("683313688378", "763104351884", "156813124566"),
    "us-east-2": ("257758044811", "763104351884", "777275614652"),
    "us-west-1": ("746614075791", "763104351884", "890145073186"),
    "us-west-2": ("246618743249", "763104351884", "159807026194"),
    "ca-central-1": ("341280168497", "763104351884", "536280801234"),
    "eu-west-1": ("141502667606", "763104351884", "468650794304"),
    "eu-west-2": ("764974769150", "763104351884", "749857270468"),
    "eu-west-3": ("659782779980", "763104351884", "680080141114"),
    "eu-central-1": ("492215442770", "763104351884", "048819808253"),
    "eu-north-1": ("662702820516", "763104351884", "895015795356"),
    "ap-northeast-1": ("354813040037", "763104351884", "574779866223"),
    "ap-northeast-2": ("366743142698", "763104351884", "709848358524"),
    "ap-south-1": ("720646828776", "763104351884", "126357580389"),
    "ap-southeast-1": ("121021644041", "763104351884", "245545462676"),
    "ap-southeast-2": ("783357654285", "763104351884", "563025443158"),
    "sa-east-1": ("737474898029", "763104351884", "539772159869"),
}


def _registries(region: str) -> dict[str, str] | None:
    if region not in ACCOUNTS:
        return None
    algorithms, dlc, monitor = ACCOUNTS[region]
    return {"algorithms": algorithms, "dlc": dlc, "monitor": monitor}


_SDK = (
    "https://github.com/aws/sagemaker-python-sdk/blob/a24812666d25/sagemaker-core/src/sagemaker/core/image_uri_config/"
)
_READ = "2026-08-21"  # the SDK commit the rows were read from
_ALGO = "{algorithms}.dkr.ecr.{region}.amazonaws.com/"
_DLC = "{dlc}.dkr.ecr.{region}.amazonaws.com/"
_TRITON = "NVIDIA Triton (SageMaker build)"
_TORCHSERVE = "TorchServe (SageMaker PyTorch inference container)"
_TF_SERVING = "TensorFlow Serving (SageMaker TensorFlow inference container)"

SERVING_IMAGES = ImageTable(
    title="SageMaker",
    registries=_registries,
    rows=(
        ServingImage(
            "sklearn",
            "1.2-1",
            False,
            _ALGO + "sagemaker-scikit-learn:1.2-1-cpu-py3",
            "scikit-learn container",
            _SDK + "sklearn.json",
            _READ,
        ),
        ServingImage(
            "xgboost",
            "1.7-1",
            True,
            _ALGO + "sagemaker-xgboost:1.7-1",
            "XGBoost container",
            _SDK + "xgboost.json",
            _READ,
            cpu_too=True,
        ),
        ServingImage(
            "xgboost",
            "3.0-5",
            True,
            _ALGO + "sagemaker-xgboost:3.0-5",
            "XGBoost container",
            _SDK + "xgboost.json",
            _READ,
            cpu_too=True,
        ),
        ServingImage(
            "pytorch",
            "2.6.0",
            True,
            _DLC + "pytorch-inference:2.6.0-gpu-py312",
            _TORCHSERVE,
            _SDK + "pytorch.json",
            _READ,
        ),
        ServingImage(
            "pytorch",
            "2.6.0",
            False,
            _DLC + "pytorch-inference:2.6.0-cpu-py312",
            _TORCHSERVE,
            _SDK + "pytorch.json",
            _READ,
        ),
        ServingImage(
            "pytorch",
            "2.5.1",
            True,
            _DLC + "pytorch-inference:2.5.1-gpu-py311",
            _TORCHSERVE,
            _SDK + "pytorch.json",
            _READ,
        ),
        ServingImage(
            "pytorch",
            "2.5.1",
            False,
            _DLC + "pytorch-inference:2.5.1-cpu-py311",
            _TORCHSERVE,
            _SDK + "pytorch.json",
            _READ,
        ),
        ServingImage(
            "tensorflow",
            "2.19.0",
            True,
            _DLC + "tensorflow-inference:2.19.0-gpu",
            _TF_SERVING,
            _SDK + "tensorflow.json",
            _READ,
        ),
        ServingImage(
            "tensorflow",
            "2.19.0",
            False,
            _DLC + "tensorflow-inference:2.19.0-cpu",
            _TF_SERVING,
            _SDK + "tensorflow.json",
            _READ,
        ),
        ServingImage(
            "tensorflow",
            "2.18.0",
            True,
            _DLC + "tensorflow-inference:2.18.0-gpu",
            _TF_SERVING,
            _SDK + "tensorflow.json",
            _READ,
        ),
        ServingImage(
            "tensorflow",
            "2.18.0",
            False,
            _DLC + "tensorflow-inference:2.18.0-cpu",
            _TF_SERVING,
            _SDK + "tensorflow.json",
            _READ,
        ),
        # SageMaker publishes no ONNX container: Triton's ONNX Runtime backend serves ONNX models.
        ServingImage(
            "triton",
            "25.09",
            True,
            _DLC + "sagemaker-tritonserver:25.09-py3",
            _TRITON,
            _SDK + "sagemaker-tritonserver.json",
            _READ,
        ),
        ServingImage(
            "triton",
            "25.09",
            False,
            _DLC + "sagemaker-tritonserver:25.09-py3-cpu",
            _TRITON,
            _SDK + "sagemaker-tritonserver.json",
            _READ,
        ),
        ServingImage(
            "onnx",
            "25.09",
            True,
            _DLC + "sagemaker-tritonserver:25.09-py3",
            _TRITON + ", ONNX Runtime backend",
            _SDK + "sagemaker-tritonserver.json",
            _READ,
        ),
        ServingImage(
            "onnx",
            "25.09",
            False,
            _DLC + "sagemaker-tritonserver:25.09-py3-cpu",
            _TRITON + ", ONNX Runtime backend",
            _SDK + "sagemaker-tritonserver.json",
            _READ,
        ),
        ServingImage(
            "tgi",
            "3.3.6",
            True,
            _DLC + "huggingface-pytorch-tgi-inference:2.7.0-tgi3.3.6-gpu-py311-cu124-ubuntu22.04",
            "Hugging Face Text Generation Inference",
            _SDK + "huggingface-llm.json",
            _READ,
        ),
    ),
    no_gpu={
        "sklearn": "the scikit-learn container is CPU-only: serve it on a CPU instance, or export the model to "
        "ONNX (framework onnx) for the Triton GPU image",
    },
)
# Code steps without an image run in the scikit-learn container, which has Python, pandas and sklearn.
STEP_IMAGE = _ALGO + "sagemaker-scikit-learn:1.2-1-cpu-py3"
MONITOR_ANALYZER_IMAGE = "{monitor}.dkr.ecr.{region}.amazonaws.com/sagemaker-model-monitor-analyzer:latest"
