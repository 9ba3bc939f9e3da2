"""The jobs against what the AWS backend plans for them (Pulumi's mocks): the monitor job run with the
monitor pipeline's own command line and environment publishes exactly the metric its alarm watches;
the deployment step's arguments are the deploy job's, and every call the job makes is allowed by the
pipeline role's policy."""

from __future__ import annotations

import importlib.util
import json
from datetime import UTC, datetime, timedelta
from fnmatch import fnmatchcase
from pathlib import Path

import boto3
import pandas as pd
from conftest import FIXTURES, REGION
from job_captures import write_captures

from mlstack.jobs import deploy, monitor
from mlstack.plan import plan
from mlstack.resolve import resolve
from mlstack.spec import load, loads

SPECS = Path(__file__).resolve().parents[2] / "specs"
SCHEDULE = "aws:sagemaker/monitoringSchedule:MonitoringSchedule"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
PIPELINE = "aws:sagemaker/pipeline:Pipeline"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
SPEC = """\
apiVersion: mlstack/v1
name: shop
owner: ml@example.com
target:
  cloud: aws
  region: us-east-1
  aws:
    account_id: "123456789012"
compute:
  cpu:
    instance_type: ml.m5.large
registry:
  model_groups:
    - name: ranker
      versions:
        - version: 1
          artifact: s3://models/ranker/1/model.tar.gz
          framework: xgboost
          aliases: [champion]
endpoints:
  - name: ranker
    model: {group: ranker, alias: champion}
    compute: cpu
    data_capture:
      sampling_percent: 50
monitors:
  - name: drift
    kind: data_drift
    endpoint: ranker
    baseline: s3://platform-data/baselines/train.csv
    features: [amount, merchant]
    metric: jensen_shannon
    threshold: 0.2
    actions: [{type: alert, to: [ops@example.com]}]
"""


def _planned(resources, typ: str) -> list:
    return [r for r in resources if r.type == typ]


def test_the_monitor_job_publishes_the_metric_its_alarm_watches(tmp_path, aws):
    resources = plan(resolve(loads(SPEC, target="aws")))
    (pipeline,) = _planned(resources, PIPELINE)
    (alarm,) = _planned(resources, ALARM)
    (step,) = json.loads(pipeline.inputs["pipelineDefinition"])["Steps"]
    job = step["Arguments"]
    app = job["AppSpecification"]
    assert app["ContainerEntrypoint"][:2] == ["python3", "-m"]
    assert importlib.util.find_spec(app["ContainerEntrypoint"][2]) is not None

    environment = job["Environment"]
    s3 = boto3.client("s3")
    bucket, key = environment["MLSTACK_BASELINE"].removeprefix("s3://").split("/", 1)
    s3.create_bucket(Bucket=bucket)
    baseline = pd.read_csv(FIXTURES / "baseline.csv")
    s3.put_object(Bucket=bucket, Key=key, Body=baseline.to_csv(index=False).encode())
    # the captures, where SageMaker writes them for the endpoint (the prefix the plan passes)
    arguments = app["ContainerArguments"]
    captures = arguments[arguments.index("--captures") + 1]
    platform, prefix = captures.removeprefix("s3://").split("/", 1)
    s3.create_bucket(Bucket=platform)
    start = datetime(2026, 11, 22, 10, tzinfo=UTC)
    shifted = [(start + timedelta(minutes=i), f"{9 + i}.0,{i % 9},d", "0.5") for i in range(40)]
    for path in write_captures(tmp_path / "endpointdata", shifted).rglob("*.jsonl"):
        relative = path.relative_to(tmp_path / "endpointdata" / "ranker").as_posix()
        s3.put_object(Bucket=platform, Key=f"{prefix}{relative}", Body=path.read_bytes())
    # the run Scheduler starts at 11:00 passes its scheduled time as WindowEnd; /opt/ml/processing/output is local
    output = job["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["LocalPath"]
    argv = [
        "2026-11-22T11:00:00Z" if a == {"Get": "Parameters.WindowEnd"} else str(tmp_path / "out") if a == output else a
        for a in arguments
    ]

    assert monitor.main(argv, environment) == 0

    cloudwatch = boto3.client("cloudwatch")
    dimensions = [{"Name": k, "Value": v} for k, v in alarm.inputs["dimensions"].items()]
    now = datetime.now(UTC)
    points = cloudwatch.get_metric_statistics(
        Namespace=alarm.inputs["namespace"],
        MetricName=alarm.inputs["metricName"],
        Dimensions=dimensions,
        StartTime=now - timedelta(minutes=10),
        EndTime=now + timedelta(minutes=10),
        Period=60,
        Statistics=[alarm.inputs["statistic"]],
    )["Datapoints"]
    report = json.loads((tmp_path / "out" / "mlstack_report.json").read_text())
    assert report["captured"]["rows"] == 40
    assert [p[alarm.inputs["statistic"]] for p in points] == [report["worst"]["value"]]
    assert report["worst"]["value"] > alarm.inputs["threshold"]  # the alarm would fire
    assert [r["column"] for r in report["results"]] == ["amount", "merchant"]


def _allowed(policy: dict, action: str, resource: str) -> bool:
    return any(
        statement["Effect"] == "Allow"
        and action in statement["Action"]
        and any(fnmatchcase(resource, pattern) for pattern in statement["Resource"])
        for statement in policy["Statement"]
    )


def _resource(operation: str, params: dict) -> str:
    arn = f"arn:aws:sagemaker:{REGION}:123456789012"
    if "ResourceArn" in params:
        return params["ResourceArn"]
    if "ModelPackageName" in params:
        return params["ModelPackageName"]
    if operation in ("CreateModel", "DescribeModel"):
        return f"{arn}:model/{params['ModelName']}"
    if operation in ("CreateEndpointConfig", "DescribeEndpointConfig"):
        return f"{arn}:endpoint-config/{params['EndpointConfigName']}"
    return f"{arn}:endpoint/{params['EndpointName']}"


def test_the_deployment_step_runs_the_deploy_job_within_the_pipeline_roles_policy(aws):
    resources = plan(resolve(load(SPECS / "fraud-detection.yaml", target="aws")))
    (pipeline,) = [p for p in _planned(resources, PIPELINE) if p.name == "train-fraud"]
    steps = json.loads(pipeline.inputs["pipelineDefinition"])["Steps"]
    found = [s for s in steps if s["Name"] == "deploy"]
    while not found:  # the deployment runs inside the evaluation gate's IfSteps
        steps = [inner for s in steps for inner in s["Arguments"].get("IfSteps", [])]
        found = [s for s in steps if s["Name"] == "deploy"]
    app = found[0]["Arguments"]["AppSpecification"]
    assert app["ContainerEntrypoint"] == ["python3", "-m", "mlstack.deploy_job"]
    assert importlib.util.find_spec("mlstack.deploy_job") is not None
    (policy,) = [
        json.loads(r.inputs["policy"]) for r in _planned(resources, ROLE_POLICY) if r.name.startswith("pipeline-")
    ]

    sagemaker = boto3.client("sagemaker", region_name=REGION)
    sagemaker.create_model_package_group(ModelPackageGroupName="fraud-model")
    package = sagemaker.create_model_package(
        ModelPackageGroupName="fraud-model",
        ModelApprovalStatus="Approved",
        InferenceSpecification={
            "Containers": [{"Image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
    )["ModelPackageArn"]
    arguments = [package if isinstance(a, dict) else a for a in app["ContainerArguments"]]
    args = deploy.parser().parse_args(arguments)
    role = "arn:aws:iam::123456789012:role/fraud-detection-endpoint"
    sagemaker.create_model(
        ModelName="fraud-scorer-primary-0a1b2c3d", ExecutionRoleArn=role, PrimaryContainer={"Image": "i"}
    )
    sagemaker.create_endpoint_config(
        EndpointConfigName="fraud-scorer-config-4e5f6a7b",
        ProductionVariants=[
            {
                "VariantName": "primary",
                "ModelName": "fraud-scorer-primary-0a1b2c3d",
                "InitialInstanceCount": 2,
                "InstanceType": "ml.g4dn.xlarge",
            }
        ],
    )
    sagemaker.create_endpoint(EndpointName=args.endpoint, EndpointConfigName="fraud-scorer-config-4e5f6a7b")
    calls: list[tuple[str, dict]] = []
    sagemaker.meta.events.register(
        "provide-client-params.sagemaker.*",
        lambda params, model, **_: calls.append((model.name, dict(params))),
    )

    rollout = deploy.prepare(sagemaker, args.endpoint, args.model_package, args.variant)

    assert isinstance(rollout, deploy.Rollout)
    update = ("UpdateEndpoint", {"EndpointName": rollout.endpoint, "EndpointConfigName": rollout.config})
    made = {op for op, _ in calls}
    assert {"CreateModel", "CreateEndpointConfig", "DescribeModelPackage", "ListTags"} <= made
    for operation, params in [*calls, update]:
        resource = _resource(operation, params)
        assert _allowed(policy, f"sagemaker:{operation}", resource), f"the pipeline role may not {operation} {resource}"
    assert _allowed(policy, "iam:PassRole", role)  # CreateModel passes the serving model's role
