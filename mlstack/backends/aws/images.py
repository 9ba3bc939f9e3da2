"""AWS-published container images the backend falls back on, per region: the dialect's tables
(mlstack.targets.aws) turned into URIs."""

from __future__ import annotations

from mlstack.targets.aws import ACCOUNTS, MONITOR_ANALYZER_IMAGE, SERVING_IMAGES, STEP_IMAGE

REGIONS = tuple(ACCOUNTS)
TABLE = SERVING_IMAGES

# Environment the framework containers need to find the user's inference script inside model.tar.gz
# (the SageMaker convention: code/inference.py next to the model files); TGI loads the model from there.
SCRIPT_MODE_ENV = {"SAGEMAKER_PROGRAM": "inference.py", "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code"}
FRAMEWORK_ENV = {
    "sklearn": SCRIPT_MODE_ENV,
    "pytorch": SCRIPT_MODE_ENV,
    "tgi": {"HF_MODEL_ID": "/opt/ml/model"},
}


def has_default(framework: str) -> bool:
    return bool(TABLE.versions(framework))


def _uri(template: str, region: str) -> str:
    algorithms, dlc, monitor = ACCOUNTS[region]
    return template.format(region=region, algorithms=algorithms, dlc=dlc, monitor=monitor)


def step_image(region: str) -> str:
    return _uri(STEP_IMAGE, region)


def monitor_analyzer_image(region: str) -> str:
    return _uri(MONITOR_ANALYZER_IMAGE, region)


def ecr_repository(image: str) -> tuple[str, str, str] | None:
    """(account, region, repository) of an Amazon ECR image URI, or None for any other registry."""
    host, _, path = image.partition("/")
    parts = host.split(".")
    if len(parts) < 6 or parts[1:3] != ["dkr", "ecr"] or not path:
        return None
    head, _, last = path.split("@", 1)[0].rpartition("/")
    name = last.split(":", 1)[0]
    return parts[0], parts[3], f"{head}/{name}" if head else name
