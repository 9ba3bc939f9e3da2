"""The Azure Machine Learning dialect."""

from __future__ import annotations

from mlstack.targets.dialect import ALL_STRATEGIES, NameRule, TargetProfile

AZURE = TargetProfile(
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
