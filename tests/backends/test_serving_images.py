"""The serving image tables against the catalog: every GPU SKU the resolver can pick for an endpoint gets
a GPU image or a located error, never a CPU image, on every cloud; and each row cites its vendor list."""

from __future__ import annotations

import re

import pytest

from mlstack.catalog import get_catalog
from mlstack.targets import aws, azure, gcp
from mlstack.targets.images import ServingImage
from mlstack.validate import check_file

TABLES = {"aws": aws.SERVING_IMAGES, "gcp": gcp.SERVING_IMAGES, "azure": azure.SERVING_IMAGES}
FRAMEWORKS = ("sklearn", "xgboost", "pytorch", "tensorflow", "onnx", "triton", "tgi", "custom")
REGION = {"aws": "us-east-1", "gcp": "europe-west4", "azure": "westeurope"}


@pytest.mark.parametrize("cloud", sorted(TABLES))
def test_every_gpu_sku_gets_a_gpu_image_or_an_error(cloud):
    table = TABLES[cloud]
    gpu_skus = [s for s in get_catalog().skus(cloud) if s.gpus > 0]
    assert gpu_skus, f"the catalog lists no GPU SKUs on {cloud}"
    outcomes = {"image": 0, "error": 0}
    for sku in gpu_skus:
        for framework in FRAMEWORKS:
            choice = table.choose(framework, None, gpu=bool(sku.gpus))
            if isinstance(choice, str):
                assert framework in choice, choice
                outcomes["error"] += 1
            else:
                assert choice.gpu, f"{cloud} {sku.sku} {framework}: CPU image {choice.uri}"
                outcomes["image"] += 1
    assert outcomes["image"] and outcomes["error"]


@pytest.mark.parametrize("cloud", sorted(TABLES))
def test_cpu_machines_never_get_a_gpu_only_image(cloud):
    for framework in FRAMEWORKS:
        choice = TABLES[cloud].choose(framework, None, gpu=False)
        if isinstance(choice, ServingImage):
            assert not choice.gpu or choice.cpu_too


@pytest.mark.parametrize("cloud", sorted(TABLES))
def test_rows_cite_a_vendor_list_with_a_date_and_build_a_uri(cloud):
    table = TABLES[cloud]
    for row in table.rows:
        assert row.source.startswith("https://"), row
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", row.as_of), row
        uri = table.uri(row, REGION[cloud])
        assert uri is not None and "{" not in uri


def test_uris_follow_the_region():
    assert gcp.SERVING_IMAGES.choose("pytorch", None, gpu=True).uri.startswith("{area}")
    row = gcp.SERVING_IMAGES.choose("pytorch", None, gpu=True)
    assert gcp.SERVING_IMAGES.uri(row, "europe-west4") == (
        "europe-docker.pkg.dev/vertex-ai/prediction/pytorch-gpu.2-4:latest"
    )
    row = aws.SERVING_IMAGES.choose("tensorflow", "2.18.0", gpu=True)
    assert aws.SERVING_IMAGES.uri(row, "eu-west-1") == (
        "763104351884.dkr.ecr.eu-west-1.amazonaws.com/tensorflow-inference:2.18.0-gpu"
    )
    assert aws.SERVING_IMAGES.uri(row, "af-south-1") is None


def test_closest_offer_is_named():
    message = gcp.SERVING_IMAGES.choose("xgboost", None, gpu=True)
    assert message == (
        "Vertex AI publishes no GPU serving image for xgboost (only vertex-ai/prediction/xgboost-cpu.2-1:latest); "
        + gcp.SERVING_IMAGES.no_gpu["xgboost"]
    )
    assert "machine without accelerators" in message
    assert "framework triton" in azure.SERVING_IMAGES.choose("sklearn", None, gpu=True)
    assert aws.SERVING_IMAGES.choose("tgi", None, gpu=False) == (
        "SageMaker publishes tgi serving images for GPU machines only "
        "(huggingface-pytorch-tgi-inference:2.7.0-tgi3.3.6-gpu-py311-cu124-ubuntu22.04); give the endpoint GPUs "
        "or set `image`"
    )


LOCAL = """\
apiVersion: mlstack/v1
name: shop
owner: ml@example.com
target:
  cloud: local
registry:
  model_groups:
    - name: ranker
      versions:
        - {version: 1, artifact: ranker.joblib, framework: FRAMEWORK, aliases: [champion]}
        - {version: 2, artifact: ranker.pt, framework: pytorch}
endpoints:
  - name: ranker
    model: {group: ranker, alias: champion}
    compute: {vcpus: 1}
"""


@pytest.mark.parametrize("framework", ["pytorch", "tensorflow", "onnx", "triton", "tgi"])
def test_the_emulator_says_which_frameworks_it_cannot_run_where_they_are_served(tmp_path, framework):
    spec = tmp_path / "mlstack.yaml"
    spec.write_text(LOCAL.replace("FRAMEWORK", framework))
    (error,) = check_file(spec).errors  # version 2 is not served: no error for it
    assert (error.path, error.line) == (("registry", "model_groups", 0, "versions", 0, "framework"), 10)
    assert error.message.startswith(
        f"endpoint 'ranker' serves ranker@champion, a {framework} model: the local emulator runs scikit-learn "
        "models saved with joblib, XGBoost models saved with joblib (its scikit-learn API), a Python entrypoint "
        f"in-process, no {framework} server; "
    )
    assert "framework custom" in error.message


@pytest.mark.parametrize("framework", ["sklearn", "xgboost"])
def test_the_emulator_serves_joblib_frameworks(tmp_path, framework):
    spec = tmp_path / "mlstack.yaml"
    spec.write_text(LOCAL.replace("FRAMEWORK", framework))
    assert check_file(spec).errors == []
