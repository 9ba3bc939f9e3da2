"""The pipeline job rendered from templates/azureml/pipeline_job.yaml.j2: azure-ai-ml loads and validates
every component and the job, every reference between steps resolves, and the generated commands run."""

from __future__ import annotations

import io
import json
import re
import subprocess
import textwrap
from pathlib import Path

import pytest
import yaml
from azure.ai.ml import load_component, load_job
from azure_plans import FRAUD, ROOT

from mlstack.backends.azure.context import Azure
from mlstack.backends.azure.endpoints import Deployment
from mlstack.backends.azure.pipelines import RUNTIME, PipelineJob, job_id, render, template_context
from mlstack.resolve import resolve
from mlstack.spec import load, loads

ENV_ID = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws/environments/{}/versions/1"
COMPUTE_ID = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws/computes/{}"
REF = re.compile(r"\$\{\{parent\.jobs\.(\w+)\.outputs\.(\w+)\}\}")


def slug(image: str) -> str:
    return re.sub(r"\W", "-", image)


def rendered(resolved, pipeline_name: str) -> PipelineJob:
    ctx = Azure(resolved, resolved.spec.target.azure, resolved.region)
    pipeline = resolved.spec.pipeline(pipeline_name)
    images = {s.image or pipeline.image for s in pipeline.steps} | {RUNTIME}
    skus = {resolved.step_sku(pipeline.name, s.name) for s in pipeline.steps} - {None}
    deployments = {}
    for plan in resolved.endpoints:
        deployments[plan.endpoint.name] = {v.name: Deployment(v, f"{v.name}-abc123", None) for v in plan.variants}
    target = next((s.endpoint for s in pipeline.steps if s.kind == "deployment"), None)
    context = template_context(
        ctx,
        pipeline,
        environments={image: ENV_ID.format(slug(image)) for image in images},
        computes={sku.sku: COMPUTE_ID.format(sku.machine_type.lower()) for sku in skus},
        deployments=deployments.get(target or "", {}),
        feature_sets={v: f"{v}:1" for v in pipeline.feature_views},
    )
    return render(ctx, pipeline, context)


@pytest.fixture(scope="module")
def fraud_job() -> PipelineJob:
    return rendered(resolve(load(FRAUD, target="azure")), "train-fraud")


def test_every_component_loads_and_validates_with_azure_ai_ml(fraud_job):
    assert len(fraud_job.components) == 6
    for name, spec in fraud_job.components.items():
        component = load_component(io.StringIO(yaml.safe_dump(spec)))
        assert component.name == name
        assert component._validate().passed, component._validate()


def test_the_job_loads_validates_and_every_reference_resolves(fraud_job):
    job = load_job(io.StringIO(yaml.safe_dump(fraud_job.job)))
    assert job._validate().passed, job._validate()
    nodes = fraud_job.job["jobs"]
    assert list(nodes) == ["validate_data", "build_features", "train", "evaluate", "register", "deploy"]
    for name, node in nodes.items():
        component = fraud_job.components[node["component"].split("/components/")[1].split("/")[0]]
        # every component input is bound, and nothing else
        assert set(node["inputs"]) == set(component["inputs"]), name
        for binding in node["inputs"].values():
            for upstream, output in REF.findall(str(binding)):
                assert output in nodes[upstream]["outputs"], (name, upstream, output)
                assert list(nodes).index(upstream) < list(nodes).index(name)
    # an MLflow model, which the endpoint's no-code deployment can serve (Z6)
    assert nodes["register"]["outputs"]["model"] == {"type": "mlflow_model", "name": "fraud-model"}
    assert nodes["train"]["limits"]["timeout"] == 7200
    assert nodes["deploy"]["identity"] == {"type": "managed"}
    assert (
        nodes["build_features"]["environment_variables"]["MLSTACK_FEATURE_SETS"]
        == "customer-txn-stats:1,merchant-risk:1"
    )


def test_the_deployment_step_runs_mlstacks_deploy_job_in_the_runtime_image(fraud_job):
    command = fraud_job.components["fraud_detection_train_fraud_deploy"]["command"]
    assert command.startswith("python -m mlstack.backends.azure.deploy_job --endpoint-id ")
    assert "online-deployment update" not in command and "az " not in command
    assert "--variant primary --approval manual" in command
    assert (
        fraud_job.components["fraud_detection_train_fraud_deploy"]["environment"]
        == f"azureml:{ENV_ID.format(slug(RUNTIME))}"
    )


def _shell(command: str, tmp_path: Path, values: dict[str, str]) -> subprocess.CompletedProcess:
    for key, value in values.items():
        command = command.replace("${{" + key + "}}", value)
    assert "${{" not in command, command
    return subprocess.run(["bash", "-c", command], cwd=tmp_path, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(("auc", "passes"), [(0.95, True), (0.9395, True), (0.935, False), (0.85, False)])
def test_the_evaluation_gates_run_after_the_entrypoint(fraud_job, tmp_path, auc, passes):
    component = fraud_job.components["fraud_detection_train_fraud_evaluate"]
    (tmp_path / "fraud").mkdir()
    (tmp_path / "fraud" / "evaluate.py").write_text(
        textwrap.dedent(
            f"""\
            import json, os, sys
            json.dump({{"auc": {auc}}}, open(os.environ["MLSTACK_METRICS_FILE"], "w"))
            json.dump(sys.argv[1:], open(os.environ["MLSTACK_OUTPUT_DIR"] + "/args.json", "w"))
            """
        )
    )
    out = tmp_path / "out"
    out.mkdir()
    (tmp_path / "data.csv").write_text("amount\n1\n")
    inputs = {
        f"inputs.{name}": "0.05" if name in ("learning_rate", "max_depth") else str(tmp_path)
        for name in component["inputs"]
    } | {"inputs.data": str(tmp_path / "data.csv")}
    result = _shell(component["command"], tmp_path, {**inputs, "outputs.output": str(out)})
    assert (result.returncode == 0) is passes, result.stderr
    if not passes:
        assert "quality gates failed" in result.stderr and '"metric": "auc"' in result.stderr
    # the step adapter hands the parameters on as --name=value (the step contract)
    assert json.loads((out / "args.json").read_text()) == ["--learning_rate=0.05", "--max_depth=0.05"]


def test_a_module_function_entrypoint_runs_with_its_arguments(tmp_path):
    text = FRAUD.read_text().replace("entrypoint: fraud/features.py", "entrypoint: fraudjobs.features:main")
    job = rendered(resolve(loads(text, file=str(FRAUD), target="azure")), "train-fraud")
    component = job.components["fraud_detection_train_fraud_build_features"]
    (tmp_path / "fraudjobs").mkdir()
    (tmp_path / "fraudjobs" / "__init__.py").write_text("")
    (tmp_path / "fraudjobs" / "features.py").write_text(
        "import json, os, sys\n\ndef main():\n    json.dump([sys.argv, os.environ['MLSTACK_OUTPUT_DIR']], open('argv.json', 'w'))\n"
    )
    values = {f"inputs.{n}": "x" for n in component["inputs"]} | {"outputs.output": str(tmp_path)}
    # the image has mlstack installed; here the checkout stands in for it
    result = _shell(f"PYTHONPATH={tmp_path}:{ROOT} " + component["command"], tmp_path, values)
    assert result.returncode == 0, result.stderr
    argv, output = json.loads((tmp_path / "argv.json").read_text())
    assert argv[1:3] == ["fraudjobs.features", "main"] and output == str(tmp_path)


def test_the_template_lives_where_the_backend_reads_it():
    assert (ROOT / "templates" / "azureml" / "pipeline_job.yaml.j2").is_file()


def test_job_ids_are_azure_node_names():
    assert job_id("validate-data") == "validate_data"
