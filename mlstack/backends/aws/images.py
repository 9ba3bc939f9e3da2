"""AWS-published container images the backend falls back on, per region.

The registry accounts are those the SageMaker Python SDK lists in `image_uri_config/` (sklearn.json and
xgboost.json share the algorithms account; pytorch/tensorflow deep learning containers share the DLC
account; model-monitor.json for the Model Monitor analyzer). Only regions where all three are known are
listed: elsewhere the spec must name its images."""

from __future__ import annotations

from dataclasses import dataclass

# region: (algorithms account, deep learning containers account, model monitor account)
_ACCOUNTS: dict[str, tuple[str, str, str]] = {
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
REGIONS = tuple(_ACCOUNTS)


@dataclass(frozen=True)
class _Image:
    account: int  # index into the region's accounts
    repository: str
    cpu_tag: str
    gpu_tag: str


_SERVING = {
    "sklearn": _Image(0, "sagemaker-scikit-learn", "1.2-1-cpu-py3", "1.2-1-cpu-py3"),
    "xgboost": _Image(0, "sagemaker-xgboost", "1.7-1", "1.7-1"),
    "pytorch": _Image(1, "pytorch-inference", "2.1-cpu-py310", "2.1-gpu-py310"),
    "tensorflow": _Image(1, "tensorflow-inference", "2.13-cpu", "2.13-gpu"),
}
# Code steps without an image run in the scikit-learn container, which has Python, pandas and sklearn.
_STEP = _SERVING["sklearn"]
_MONITOR = _Image(2, "sagemaker-model-monitor-analyzer", "latest", "latest")

# Environment the framework containers need to find the user's inference script inside model.tar.gz
# (the SageMaker convention: code/inference.py next to the model files).
SCRIPT_MODE_ENV = {"SAGEMAKER_PROGRAM": "inference.py", "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code"}
SCRIPT_MODE_FRAMEWORKS = frozenset({"sklearn", "pytorch"})


def has_default(framework: str) -> bool:
    return framework in _SERVING


def _uri(image: _Image, region: str, gpu: bool) -> str:
    account = _ACCOUNTS[region][image.account]
    tag = image.gpu_tag if gpu else image.cpu_tag
    return f"{account}.dkr.ecr.{region}.amazonaws.com/{image.repository}:{tag}"


def serving_image(framework: str, region: str, gpu: bool) -> str:
    return _uri(_SERVING[framework], region, gpu)


def step_image(region: str) -> str:
    return _uri(_STEP, region, False)


def monitor_analyzer_image(region: str) -> str:
    return _uri(_MONITOR, region, False)


def ecr_repository(image: str) -> tuple[str, str, str] | None:
    """(account, region, repository) of an Amazon ECR image URI, or None for any other registry."""
    host, _, path = image.partition("/")
    parts = host.split(".")
    if len(parts) < 6 or parts[1:3] != ["dkr", "ecr"] or not path:
        return None
    head, _, last = path.split("@", 1)[0].rpartition("/")
    name = last.split(":", 1)[0]
    return parts[0], parts[3], f"{head}/{name}" if head else name
