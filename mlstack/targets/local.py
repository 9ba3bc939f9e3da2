"""The local emulator's dialect: everything the spec says, as it says it."""

from __future__ import annotations

from mlstack.targets.dialect import ALL_METRICS, ALL_STRATEGIES, TargetProfile

LOCAL = TargetProfile(
    cloud="local",
    needs_region=False,
    emulated=True,
    serves_unregistered_versions=True,
    batch_from_feature_views=True,
    batch_step="the emulator's batch runner, inside the pipeline run",
    batch_service="the emulator's batch runner (mlstack batch run, and its scheduler)",
    title="the local emulator",
    names={},
    strategies=dict(ALL_STRATEGIES),
    unsupported_strategies={},
    max_canary_percent=99,
    max_shadow_percent=100,
    metrics=dict(ALL_METRICS),
    custom_metrics=frozenset(),
    serverless=True,
    asynchronous=True,
    schedule_rule="any",
    kms_key_pattern=r".+",
    kms_key_example="any key id (the emulator records it)",
)


# --- serving: what the emulator runs in-process (mlstack.emulator.predictors) ---

IN_PROCESS = {
    "sklearn": "scikit-learn models saved with joblib",
    "xgboost": "XGBoost models saved with joblib (its scikit-learn API)",
    "custom": "a Python entrypoint",
}
# what the emulator offers instead for a framework it cannot run
INSTEAD = {
    "pytorch": "wrap the model in a Python entrypoint (framework custom) that loads it with torch",
    "tensorflow": "wrap the model in a Python entrypoint (framework custom) that loads it with tensorflow",
    "onnx": "wrap the model in a Python entrypoint (framework custom) that runs it with onnxruntime",
    "triton": "there is no Triton server here: serve the model's ONNX or PyTorch form from a Python entrypoint "
    "(framework custom)",
    "tgi": "there is no text-generation server here: a Python entrypoint (framework custom) can stand in for it",
}
