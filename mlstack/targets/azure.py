"""The Azure Machine Learning dialect."""

from __future__ import annotations

from mlstack.targets.dialect import ALL_STRATEGIES, NameRule, TargetProfile
from mlstack.targets.images import ImageTable, ServingImage

# What a private endpoint's subnet is on Azure: a subnet's ARM id.
SUBNET_ID = (
    r"/subscriptions/[0-9a-fA-F-]{36}/resourceGroups/[^/]+/providers/Microsoft\.Network/virtualNetworks/[^/]+"
    r"/subnets/[^/]+"
)
SUBNET_EXAMPLE = "/subscriptions/<id>/resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworks/vnet/subnets/ml"

# A rollout's error-rate rollback rule is a log alert over the endpoint's traffic log, evaluated every minute
# (the shortest log alert frequency). A request answered at the end of a bake reaches Log Analytics minutes
# later (ingestion latency, typically under three minutes) and is judged at the rule's next run: a rollout
# watched by such a rule keeps watching this long after each wait, so the bake's last requests count.
# Instance types Azure's managed online endpoint SKU list cautions about: "Small VM SKUs such as
# Standard_DS1_v2 and Standard_F2s_v2 may be too small for bigger models and may lead to container
# termination due to insufficient memory, not enough space on the disk, or probe failure"
# (MicrosoftDocs/azure-ai-docs reference-managed-online-endpoints-vm-sku-list.md).
SMALL_SERVING_SKUS = ("Standard_DS1_v2", "Standard_F2s_v2")
LOG_ALERT_FREQUENCY = "PT1M"
LOG_ALERT_SETTLE_SECONDS = 240  # AZURE.rollback_log_settle_seconds
# A monitoring run that fails: Azure Monitor counts the workspace's failed runs (any job: monitoring,
# training, batch) in the platform metric "Failed Runs" (namespace Microsoft.MachineLearningServices/workspaces,
# aggregation Total, dimensions Scenario, RunType, PublishedPipelineId, ComputeType, PipelineStepType,
# ExperimentName; learn.microsoft.com azure-monitor/reference/supported-metrics/
# microsoft-machinelearningservices-workspaces-metrics). None of them names the schedule a run came from (the
# experiment a monitoring schedule's runs go to is not documented), so the alert covers the whole workspace.
# Metric alert rules and action groups are global resources.
WORKSPACE_METRICS = "Microsoft.MachineLearningServices/workspaces"
FAILED_RUNS_METRIC = "Failed Runs"
FAILED_RUNS_WINDOW = "PT5M"  # evaluated every five minutes over the last five
ALERTS_LOCATION = "global"

AZURE = TargetProfile(
    batch_step="a command step invoking the Azure ML batch endpoint in the pipeline job",
    batch_service="an Azure ML batch endpoint with a model batch deployment",
    batch_schedule_gap=(
        "Azure ML schedules start pipeline jobs, not batch endpoint invocations; the schedule is not applied — "
        "run the job from a pipeline with this schedule and a step `kind: batch_scoring` naming it (an Azure ML "
        "schedule then starts it)"
    ),
    batch_monitors=(
        "monitors over a batch job are not lowered to Azure ML yet (a monitor over a registered data asset of the outputs is the closest); watch an endpoint, or run this monitor on the local emulator"
    ),
    batch_capture_gap=(
        "Azure ML batch deployments capture nothing: nothing is captured; the predictions file (every scored "
        "row) under the output is the record of what was scored"
    ),
    cloud="azure",
    required_settings="subscription_id, resource_group and workspace",
    required_settings_named="the Azure subscription, resource group and workspace "
    "(target.azure.subscription_id, resource_group, workspace)",
    data_root_example="azureml://datastores/workspaceblobstore/paths/prefix",
    price_caveat="azure figures are the Linux VM pay-as-you-go rates that Azure ML bills",
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
        **ALL_STRATEGIES,
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
    serverless_instead="Azure ML managed online endpoints keep at least one instance; the closest is an endpoint with "
    "compute and autoscaling (minimum 1 instance)",
    async_instead="Azure ML has no asynchronous online endpoints; the closest are batch endpoints (files in, results "
    "written back) or a real-time endpoint",
    schedule_rule="any",
    champion_source="declared",
    # manual approval is enforced by mlstack's deployment step (mlstack.backends.azure.deploy_job): it
    # serves only versions tagged approval=approved
    approval_gap=None,
    rollback_log_settle_seconds=LOG_ALERT_SETTLE_SECONDS,
    kms_key_pattern=r"https://[a-zA-Z0-9-]+\.vault\.azure\.net/keys/[^/]+(/[^/]+)?",
    kms_key_example="https://my-vault.vault.azure.net/keys/mlstack/0123456789abcdef",
    # "azureml:" covers datastore paths (azureml://datastores/...) and registered assets (azureml:name:version)
    artifact_schemes=("azureml:", "abfss://", "wasbs://", "https://"),
    source_schemes=("azureml:", "abfss://", "wasbs://", "https://"),
    capture_schemes=("azureml:", "abfss://", "wasbs://", "https://"),
)

WORKSPACE = 33  # Azure ML workspace names: 3-33 characters (a development copy's carries the user's prefix)

# --- serving images: what Azure ML serves a framework with when the spec names no image ---

# Azure's supported prebuilt inference images are base images (the framework-specific ones were retired);
# a model without its own image is deployed "no-code": as an MLflow model in an environment Azure builds
# from the model's dependencies, or as a Triton model on Azure's Triton server. An empty `uri`: Azure picks.
_PREBUILT = "https://learn.microsoft.com/azure/machine-learning/concept-prebuilt-docker-images-inference"
_MLFLOW = "https://learn.microsoft.com/azure/machine-learning/how-to-deploy-mlflow-models-online-endpoints"
_TRITON = "https://learn.microsoft.com/azure/machine-learning/how-to-deploy-with-triton"
_READ = "2026-12-03"
GPU_INFERENCE_BASE = "mcr.microsoft.com/azureml/minimal-ubuntu22.04-py39-cuda11.8-gpu-inference:latest"
CPU_INFERENCE_BASE = "mcr.microsoft.com/azureml/minimal-ubuntu22.04-py39-cpu-inference:latest"
NO_CODE_MLFLOW = ("sklearn", "xgboost", "pytorch", "tensorflow", "onnx")
# Azure builds a no-code deployment's environment from the MLflow model's own dependencies: PyTorch,
# TensorFlow and ONNX Runtime GPU wheels bring their CUDA libraries, so those serve on GPUs; scikit-learn and
# XGBoost models score on the CPU whatever the machine.
NO_CODE_GPU = ("pytorch", "tensorflow", "onnx")
_NO_GPU = (
    "Azure deploys it no-code as an MLflow model, which scores on the CPU: serve it on a CPU instance type, "
    f"set `image` to a scoring image built from Azure's GPU inference base ({GPU_INFERENCE_BASE}), or export "
    "it to ONNX in a Triton model repository (framework triton)"
)
_NO_CODE = "MLflow no-code deployment (environment built from the model's MLflow dependencies)"
SERVING_IMAGES = ImageTable(
    title="Azure Machine Learning",
    rows=(
        *(
            ServingImage(f, "mlflow", f in NO_CODE_GPU, "", _NO_CODE, _MLFLOW, _READ, cpu_too=f in NO_CODE_GPU)
            for f in NO_CODE_MLFLOW
        ),
        ServingImage("triton", "azureml", True, "", "NVIDIA Triton no-code deployment", _TRITON, _READ, cpu_too=True),
    ),
    no_gpu=dict.fromkeys(("sklearn", "xgboost"), _NO_GPU),
    missing={
        "custom": "without one Azure serves only MLflow and Triton models",
        "tgi": "Azure publishes no TGI image for managed online endpoints; a TGI container built on its GPU "
        f"inference base ({GPU_INFERENCE_BASE}) is the closest",
    },
)


# --- registry: promotion stages Azure models lack, kept as a version tag ---

# A version registered by a pipeline is in a group's first promotion stage; a person promotes it by tagging
# it `mlstack-stage=<stage>` (az ml model update --set tags.mlstack-stage=prod; the Activity Log records who),
# and a later stage's deploy step serves only versions tagged with its stage, as SageMaker reads
# ModelLifeCycle.Stage and Vertex the label of the same name.
STAGE_TAG = "mlstack-stage"
