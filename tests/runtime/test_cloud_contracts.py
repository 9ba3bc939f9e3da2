"""The runtime under each cloud's conventions, from a freshly built wheel.

The wheel of this mlstack (mlstack.runtime.wheel, what the stack copies into its images) is installed
into a new virtualenv. That environment's `mlstack plan specs/fraud-detection.yaml --target T --json`
gives each cloud's plan, and every code step of the fraud pipeline is run as the plan starts it: the
SageMaker processing/training job's entrypoint, arguments, hyperparameters file and /opt/ml layout; the
Vertex task's command and args with KFP's placeholders filled; the Azure ML command with its
`${{inputs.*}}`/`${{outputs.*}}` bound. Each step's outputs feed the steps after it the way the
platform moves them (SageMaker packs a training job's /opt/ml/model into model.tar.gz). The gates then
read the evaluation's metrics.json as each plan says: the SageMaker Condition step's JsonGet paths, the
Vertex gate task (mlstack's runtime against the aiplatform fakes), the Azure command's own check.

Only the image is left out: the container is this machine, its working directory a copy of specs/
(where the step files live), `/opt/ml` and `/gcs` are folders under a temporary root."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from mlstack.runtime import wheel

ROOT = Path(__file__).resolve().parents[2]
SPECS = ROOT / "specs"
SPEC = SPECS / "fraud-detection.yaml"
DATA = SPECS / "fraud" / "transactions.csv"
GCP_FAKES = ROOT / "tests" / "backends" / "gcp"
CLOUDS = ("aws", "gcp", "azure")
PIPELINE = "train-fraud"
CODE_STEPS = ["validate-data", "build-features", "train", "evaluate"]


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtualenv with the wheel installed (system site-packages only for the heavy dependencies)."""
    base = tmp_path_factory.mktemp("runtime-venv")
    built = wheel.build(base / "dist")
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(base / "venv")], check=True)
    python = base / "venv" / "bin" / "python"
    subprocess.run(
        [
            python,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            "--disable-pip-version-check",
            built.path,
        ],
        check=True,
        env=_clean_env(),
    )
    where = subprocess.run(
        [python, "-c", "import mlstack, mlstack.paths as p; print(mlstack.__file__); print(p.TEMPLATES)"],
        check=True,
        capture_output=True,
        text=True,
        env=_clean_env(),
        cwd=base,
    ).stdout.split()
    assert all(Path(w).is_relative_to(base / "venv") for w in where), where  # the wheel's mlstack, not the checkout
    return base / "venv" / "bin"


@pytest.fixture(scope="module")
def plans(venv: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    """`mlstack plan --json` of the fraud spec per cloud, by the wheel's own CLI."""
    cwd = tmp_path_factory.mktemp("plans")

    def one(cloud: str) -> list[dict[str, Any]]:
        done = subprocess.run(
            [venv / "mlstack", "plan", str(SPEC), "--target", cloud, "--json"],
            capture_output=True,
            text=True,
            env=_clean_env(),
            cwd=cwd,
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    with ThreadPoolExecutor(len(CLOUDS)) as pool:
        return dict(zip(CLOUDS, pool.map(one, CLOUDS), strict=True))


@pytest.fixture
def image_dir(tmp_path: Path) -> Path:
    """The step image's working directory: the spec's folder, where `fraud/*.py` are."""
    target = tmp_path / "image"
    shutil.copytree(SPECS / "fraud", target / "fraud", ignore=shutil.ignore_patterns("__pycache__", "*.csv"))
    return target


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "MLSTACK_"))}
    return env


def _run(argv: list[str], venv: Path, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """A container command with the virtualenv's python first on PATH (the image's python3)."""
    full = {**_clean_env(), **(env or {}), "PATH": f"{venv}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(argv, cwd=cwd, env=full, capture_output=True, text=True)
    assert done.returncode == 0, f"{argv}\n{done.stdout}\n{done.stderr}"
    return done


def _one(plan: list[dict[str, Any]], type_: str, name: str) -> dict[str, Any]:
    found = [r for r in plan if r["type"] == type_ and r["name"] == name]
    assert len(found) == 1, f"{type_} {name} not in the plan"
    return found[0]["inputs"]


# --- SageMaker -------------------------------------------------------------------------------------


def _aws_value(expr: Any, parameters: dict[str, Any]) -> Any:
    """A SageMaker Pipelines expression as its value in one execution with default parameters."""
    if isinstance(expr, dict) and "Get" in expr:
        path = expr["Get"]
        if path.startswith("Parameters."):
            return parameters[path.removeprefix("Parameters.")]
        if path == "Execution.PipelineExecutionId":
            return "execution-1"
        raise AssertionError(f"unexpected expression {path}")
    if isinstance(expr, dict) and "Std:Join" in expr:
        join = expr["Std:Join"]
        return join["On"].join(str(_aws_value(v, parameters)) for v in join["Values"])
    return expr


def _aws_steps(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    flat = []
    for step in steps:
        flat.append(step)
        if step["Type"] == "Condition":
            flat += _aws_steps(step["Arguments"]["IfSteps"])
    return flat


def _aws_producer(uri: Any) -> str | None:
    match = re.match(r"Steps\.([^.]+)\.", uri["Get"]) if isinstance(uri, dict) and "Get" in uri else None
    return match.group(1) if match else None


def _fill(target: Path, source: Path) -> None:
    """What SageMaker downloads for an S3 prefix: a file, or a folder's files."""
    target.mkdir(parents=True, exist_ok=True)
    if source.is_file():
        shutil.copy(source, target / source.name)
    else:
        shutil.copytree(source, target, dirs_exist_ok=True)


def test_sagemaker_runs_the_steps_and_its_condition_reads_the_flat_metrics(plans, venv, image_dir, tmp_path):
    definition = json.loads(_one(plans["aws"], "aws:sagemaker/pipeline:Pipeline", PIPELINE)["pipelineDefinition"])
    parameters = {p["Name"]: p["DefaultValue"] for p in definition["Parameters"]}
    produced: dict[str, Path] = {}  # step -> what its S3 output holds
    ran = []
    for step in _aws_steps(definition["Steps"]):
        args, root = step["Arguments"], tmp_path / "aws" / step["Name"]

        def local(arg: str, root: Path = root) -> str:
            """A container path (alone, or in NAME=PATH) under this step's root."""
            return re.sub(r"(^|=)/opt/ml", lambda m: f"{m.group(1)}{root}/opt/ml", arg)

        def source(uri: Any) -> Path:
            producer = _aws_producer(uri)
            return produced[producer] if producer else DATA  # the only other input is the pipeline's data

        if step["Type"] == "Processing" and step["Name"] in CODE_STEPS:
            for item in args.get("ProcessingInputs", []):
                _fill(Path(local(item["S3Input"]["LocalPath"])), source(item["S3Input"]["S3Uri"]))
            app = args["AppSpecification"]
            argv = [
                local(str(_aws_value(a, parameters))) for a in [*app["ContainerEntrypoint"], *app["ContainerArguments"]]
            ]
            env = {k: str(_aws_value(v, parameters)) for k, v in args["Environment"].items()}
            _run(argv, venv, image_dir, env)
            (out,) = args["ProcessingOutputConfig"]["Outputs"]
            produced[step["Name"]] = Path(local(out["S3Output"]["LocalPath"]))
        elif step["Type"] == "Training":
            config = root / "opt/ml/input/config"
            config.mkdir(parents=True)
            hyper = {k: str(_aws_value(v, parameters)) for k, v in args["HyperParameters"].items()}
            (config / "hyperparameters.json").write_text(json.dumps(hyper))
            for channel in args.get("InputDataConfig", []):
                uri = channel["DataSource"]["S3DataSource"]["S3Uri"]
                _fill(root / "opt/ml/input/data" / channel["ChannelName"], source(uri))
            argv = [local(a) for a in args["AlgorithmSpecification"]["ContainerEntrypoint"]]
            env = {k: str(_aws_value(v, parameters)) for k, v in args["Environment"].items()}
            _run(argv, venv, image_dir, env)
            # S3ModelArtifacts: SageMaker uploads /opt/ml/model as one model.tar.gz
            packed = root / "artifacts" / "model.tar.gz"
            packed.parent.mkdir()
            with tarfile.open(packed, "w:gz") as tar:
                tar.add(root / "opt/ml/model", arcname=".")
            produced[step["Name"]] = packed
        elif step["Type"] == "Condition":
            evaluated = step["DependsOn"][0]
            holder = next(s for s in _aws_steps(definition["Steps"]) if s["Name"] == evaluated)
            (report,) = holder["PropertyFiles"]
            metrics = json.loads((produced[evaluated] / report["FilePath"]).read_text())
            for condition in args["Conditions"]:
                left = metrics[condition["LeftValue"]["Std:JsonGet"]["Path"]]  # a flat file: the path is the name
                right = float(_aws_value(condition["RightValue"], parameters))
                assert {"GreaterThanOrEqualTo": left >= right, "LessThanOrEqualTo": left <= right}[condition["Type"]], (
                    f"{condition} with {metrics}"
                )
        else:
            continue
        ran.append(step["Name"])
    assert ran == [*CODE_STEPS, "evaluate-gates"]
    assert (produced["validate-data"] / "report.json").is_file()


# --- Vertex AI -------------------------------------------------------------------------------------


def _kfp_tasks(spec: dict[str, Any]) -> list[tuple[str, dict[str, Any], list[str]]]:
    """(task, container, dependencies) in an order that respects dependentTasks."""
    tasks = spec["root"]["dag"]["tasks"]
    order, seen = [], set()

    def visit(name: str) -> None:
        if name in seen:
            return
        seen.add(name)
        deps = tasks[name].get("dependentTasks", [])
        for dep in deps:
            visit(dep)
        executor = spec["components"][tasks[name]["componentRef"]["name"]]["executorLabel"]
        order.append((name, spec["deploymentSpec"]["executors"][executor]["container"], deps))

    for name in sorted(tasks):
        visit(name)
    return order


def test_vertex_runs_the_steps_and_its_gate_task_reads_the_flat_metrics(plans, venv, image_dir, tmp_path):
    schedule = _one(plans["gcp"], "gcp:colab/schedule:Schedule", f"{PIPELINE}-schedule")
    spec = json.loads(schedule["createPipelineJobRequest"]["pipelineJob"]["pipelineSpec"])
    parameters = {k: v["defaultValue"] for k, v in spec["root"]["inputDefinitions"]["parameters"].items()}
    root = tmp_path / "gcp"
    outputs: dict[str, Path] = {}
    ran = []
    for name, container, _ in _kfp_tasks(spec):
        if not (name in CODE_STEPS or name.endswith("-gates")):
            continue  # registration and deployment call Vertex itself: tests/backends/gcp covers them
        outputs[name] = root / name / "output"

        def fill(text: str, outputs: dict[str, Path] = outputs, name: str = name) -> str:
            text = text.replace("{{$.outputs.artifacts['output'].path}}", str(outputs[name]))
            text = text.replace("{{$.pipeline_job_name}}", "train-fraud-job-1")
            text = re.sub(r"\{\{\$\.inputs\.artifacts\['([^']+)'\]\.path\}\}", lambda m: str(outputs[m.group(1)]), text)
            text = re.sub(r"\{\{\$\.inputs\.parameters\['([^']+)'\]\}\}", lambda m: str(parameters[m.group(1)]), text)
            assert "{{$" not in text, text
            return text.replace("/gcs/", f"{root}/gcs/")  # Cloud Storage FUSE

        argv = [fill(a) for a in [*container["command"], *container["args"]]]
        if name in CODE_STEPS:
            assert ":step-" in container["image"]  # the step's image with mlstack added, built by the stack
            data = next((a.split("=", 1)[1] for a in argv if a.startswith("--data=")), None)
            if data:
                Path(data).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(DATA, data)
            _run(argv, venv, image_dir)
        else:
            assert argv[:3] == ["python3", "-m", "mlstack.backends.gcp.runtime"] and ":runtime-" in container["image"]
            # mlstack's runtime against the aiplatform fakes (no champion registered: bounds only)
            launcher = (
                "import runpy, sys; sys.path.insert(0, sys.argv.pop(1)); from gcp_fakes import Vertex; "
                "from google.cloud import aiplatform_v1; fake = Vertex(); "
                "[setattr(aiplatform_v1, n, f) for n, f in fake.clients().items()]; "
                "sys.argv = ['runtime', *sys.argv[1:]]; runpy.run_module('mlstack.backends.gcp.runtime', run_name='__main__')"
            )
            done = _run(["python3", "-c", launcher, str(GCP_FAKES), *argv[3:]], venv, tmp_path)
            assert "quality gates passed" in done.stdout + done.stderr
        ran.append(name)
    assert ran == [*CODE_STEPS, "evaluate-gates"]
    assert json.loads((outputs["evaluate"] / "metrics.json").read_text())["auc"] > 0.9


# --- Azure ML --------------------------------------------------------------------------------------


def test_azure_runs_the_commands_and_their_gate_check(plans, venv, image_dir, tmp_path):
    plan = plans["azure"]
    schedule = _one(plan, "azure-native:machinelearningservices:Schedule", f"{PIPELINE}-schedule")
    job = schedule["properties"]["action"]["jobDefinition"]
    pipeline_inputs = {k: v.get("value", v.get("uri")) for k, v in (job.get("inputs") or {}).items()}
    components = {
        r["inputs"]["name"]: r["inputs"]["properties"]["componentSpec"]
        for r in plan
        if r["type"] == "azure-native:machinelearningservices:ComponentVersion"
    }
    root = tmp_path / "azure"
    outputs: dict[str, Path] = {}
    ran = []
    registered = root / "registered-model"  # the register node's mlflow_model output
    for step in [*CODE_STEPS, "register"]:
        node = job["jobs"][step.replace("-", "_")]
        command = components[node["componentId"].split("/components/")[1].split("/")[0]]["command"]
        outputs[step] = root / step
        outputs[step].mkdir(parents=True)
        bound: dict[str, str] = {}
        for key, value in node["inputs"].items():
            text = str(value.get("value", value.get("uri", value.get("path", ""))))
            if match := re.fullmatch(r"\$\{\{parent\.jobs\.([^.]+)\.outputs\.output\}\}", text):
                bound[key] = str(outputs[match.group(1).replace("_", "-")])
            elif match := re.fullmatch(r"\$\{\{parent\.inputs\.([^}]+)\}\}", text):
                bound[key] = str(DATA) if match.group(1) == "data" else str(pipeline_inputs[match.group(1)])
            else:
                bound[key] = text
        text = command.replace("${{outputs.output}}", str(outputs[step])).replace("${{outputs.model}}", str(registered))
        text = re.sub(r"\$\{\{inputs\.([^}]+)\}\}", lambda m, bound=bound: bound[m.group(1)], text)
        assert "${{" not in text, text
        env = {k: str(v) for k, v in (node.get("environment_variables") or {}).items()}
        assert env["MLSTACK_STEP"] == step
        _run(["sh", "-c", text], venv, image_dir, env)
        ran.append(step)
    assert ran == [*CODE_STEPS, "register"]
    assert json.loads((outputs["evaluate"] / "metrics.json").read_text())["auc"] > 0.9
    # the registered model is an MLflow model that MLflow's pyfunc loader (what Azure's no-code deployment
    # scores with) loads and that predicts what the trained model predicts
    import joblib
    import mlflow.pyfunc
    import pandas as pd

    served = mlflow.pyfunc.load_model(str(registered))
    trained = joblib.load(outputs["train"] / "model.joblib")
    rows = pd.read_csv(outputs["train"] / "test.csv")[list(trained.feature_names_in_)]
    assert (served.predict(rows) == trained.predict(rows)).all()
    assert "scikit-learn==" in (registered / "requirements.txt").read_text()


# --- SageMaker monitors ----------------------------------------------------------------------------

WINDOW_END = "2026-11-22T11:00:00Z"  # the scheduled time Scheduler passes as the pipeline parameter
MONITORS = ("feature-drift", "score-drift", "input-quality", "scorer-accuracy")  # all four kinds


@pytest.fixture(scope="module")
def fraud_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The flagship's synthetic baselines (specs/fraud/generate.py)."""
    out = tmp_path_factory.mktemp("fraud-data")
    subprocess.run([sys.executable, str(SPECS / "fraud" / "generate.py"), "--out", str(out)], check=True)
    return out


@pytest.fixture
def moto_aws():
    """moto's S3 and CloudWatch as a server on 127.0.0.1: the wheel's job, in its own process, reaches it."""
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    env = {
        "AWS_ENDPOINT_URL": f"http://{host}:{port}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }

    def client(service: str):
        return boto3.client(
            service,
            region_name="us-east-1",
            endpoint_url=env["AWS_ENDPOINT_URL"],
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    try:
        yield env, client
    finally:
        server.stop()


def _put(s3: Any, uri: str, body: bytes) -> None:
    bucket, key = uri.removeprefix("s3://").split("/", 1)
    if bucket not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
        s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key=key, Body=body)


def _capture(index: int, minute: int, request: str, response: str) -> str:
    """One record as SageMaker's data capture writes it."""
    sides = {
        "endpointInput": {"observedContentType": "text/csv", "mode": "INPUT", "data": request, "encoding": "CSV"},
        "endpointOutput": {"observedContentType": "text/csv", "mode": "OUTPUT", "data": response, "encoding": "CSV"},
    }
    metadata = {"eventId": f"event-{index:04d}", "inferenceTime": f"2026-11-22T10:{minute:02d}:00Z"}
    return json.dumps({"captureData": sides, "eventMetadata": metadata, "eventVersion": "0"})


def test_sagemaker_runs_every_monitor_kind_and_publishes_what_its_alarm_watches(
    plans, venv, fraud_data, moto_aws, tmp_path
):
    """Each fraud monitor's pipeline step (python3 -m mlstack.monitor_job in the runtime image) run from
    the wheel as the plan gives it, against moto's S3 and CloudWatch: captures of one hour where SageMaker
    files them, the baselines, SageMaker-format labels; each publishes the datum its alarm watches."""
    env, client = moto_aws
    s3, cloudwatch = client("s3"), client("cloudwatch")
    plan = plans["aws"]
    training = (fraud_data / "baselines" / "training.csv").read_text().splitlines()
    predictions = (fraud_data / "baselines" / "predictions.csv").read_text().splitlines()[1:]
    rows = 200
    steps = {}
    for name in MONITORS:
        definition = json.loads(_one(plan, "aws:sagemaker/pipeline:Pipeline", f"{name}-pipeline")["pipelineDefinition"])
        (step,) = definition["Steps"]
        steps[name] = step["Arguments"]
        baseline = step["Arguments"]["Environment"].get("MLSTACK_BASELINE")
        if baseline:
            _put(s3, baseline, (fraud_data / "baselines" / baseline.rsplit("/", 1)[1]).read_bytes())
    arguments = steps["feature-drift"]["AppSpecification"]["ContainerArguments"]
    captures = arguments[arguments.index("--captures") + 1]
    assert all(s["AppSpecification"]["ContainerArguments"][3] == captures for s in steps.values())
    lines = [_capture(i, i % 60, training[1 + i], predictions[i]) for i in range(rows)]
    _put(s3, f"{captures}primary/2026/11/22/10/capture-0.jsonl", "\n".join(lines).encode())
    # labels for every answer: the prediction, wrong for the first 10 of 200, so accuracy is 0.95
    wrong = 10
    labels = [
        json.dumps(
            {
                "groundTruthData": {"data": str(1 - int(float(p)) if i < wrong else int(float(p))), "encoding": "CSV"},
                "eventMetadata": {"eventId": f"event-{i:04d}"},
                "eventVersion": "0",
            }
        )
        for i, p in enumerate(predictions[:rows])
    ]
    ground_truth = steps["scorer-accuracy"]["Environment"]["MLSTACK_GROUND_TRUTH"]
    _put(s3, f"{ground_truth}2026/11/22/12/labels.jsonl", "\n".join(labels).encode())

    published = {}
    for name, job in steps.items():
        app = job["AppSpecification"]
        output = job["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["LocalPath"]
        local = tmp_path / name
        argv = [
            WINDOW_END if a == {"Get": "Parameters.WindowEnd"} else str(local) if a == output else a
            for a in [*app["ContainerEntrypoint"], *app["ContainerArguments"]]
        ]
        assert all(isinstance(a, str) for a in argv), argv
        done = _run(argv, venv, tmp_path, {**env, **job["Environment"]})
        report = json.loads((local / "mlstack_report.json").read_text())
        alarm = _one(plan, "aws:cloudwatch/metricAlarm:MetricAlarm", f"{name}-alarm")
        points = cloudwatch.get_metric_statistics(
            Namespace=alarm["namespace"],
            MetricName=alarm["metricName"],
            Dimensions=[{"Name": k, "Value": v} for k, v in alarm["dimensions"].items()],
            StartTime="2020-01-01T00:00:00Z",
            EndTime="2100-01-01T00:00:00Z",
            Period=86400 * 365,
            Statistics=[alarm["statistic"]],
        )["Datapoints"]
        assert [p[alarm["statistic"]] for p in points] == [report["worst"]["value"]], (name, done.stdout)
        published[name] = report["worst"]["value"]
    assert published["scorer-accuracy"] == pytest.approx(1 - wrong / rows)
    assert all(isinstance(v, float) and v == v for v in published.values()), published


def test_every_image_the_plans_run_is_built_by_the_stack_or_a_vendors(plans):
    """No `pip install mlstack` anywhere, and each image mlstack's jobs run is one a docker-build resource
    of the same plan pushes."""
    for cloud, plan in plans.items():
        text = json.dumps(plan)
        assert not re.search(r"pip install[^\"]*mlstack", text), cloud
        assert "az extension add" not in json.dumps([r for r in plan if "docker-build" not in r["type"]])
        pushed = {tag for r in plan if r["type"] == "docker-build:index:Image" for tag in r["inputs"]["tags"]}
        for r in plan:
            if r["type"] == "docker-build:index:Image":
                dockerfile = r["inputs"]["dockerfile"]["inline"]
                assert "COPY mlstack-" in dockerfile or "mlstack" not in dockerfile.split("FROM", 1)[1], dockerfile
        runtime = set(re.findall(r"[\w.\-/]+:(?:runtime|step-[0-9a-f]{8}|deploy)-[0-9a-f]{16}", text))
        assert runtime and runtime <= pushed, (cloud, runtime - pushed)
