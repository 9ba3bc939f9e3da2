"""`mlstack import --from aws` against moto: a SageMaker platform built with boto3, imported, and planned
back with the aws backend; the plan must have the same endpoints, variants, weights, instance types,
feature definitions and schedules.

moto lacks some of SageMaker (FACTS.md): it stores no shadow variants and no deployment config, and has
no feature groups or monitoring schedules. Those answers come from botocore's Stubber, which checks
both the request and the canned response against SageMaker's service model; everything else is moto."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from mlstack.migrate.importer import import_sagemaker
from mlstack.migrate.importer.reader import Clients
from mlstack.plan import plan
from mlstack.resolve import resolve
from mlstack.runtime.images import step_image
from mlstack.spec import loads

REGION = "us-east-1"
ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/sagemaker"
ECR = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
SERVE = f"{ECR}/fraud-serve:1"
TRAIN = f"{ECR}/fraud-train:1"
ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}"


class Routed:
    """A SageMaker client that answers some calls from Stubber (validated) and the rest from moto."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.fake = boto3.client("sagemaker", region_name=REGION)
        self.stubber = Stubber(self.fake)
        self.stubber.activate()
        self.answers: dict[tuple[str, tuple], dict[str, Any]] = {}

    def answer(self, method: str, response: dict[str, Any], **params: Any) -> None:
        self.answers[(method, tuple(sorted(params.items())))] = response

    def can_paginate(self, method: str) -> bool:
        return self.real.can_paginate(method) and not any(m == method for m, _ in self.answers)

    def __getattr__(self, method: str) -> Any:
        def call(**params: Any) -> Any:
            response = self.answers.get((method, tuple(sorted(params.items()))))
            if response is None:
                return getattr(self.real, method)(**params)
            self.stubber.add_response(method, response, params)
            return getattr(self.fake, method)(**params)

        return call if not method.startswith("get_paginator") else getattr(self.real, method)


DEFINITION = {
    "Version": "2020-12-01",
    "Parameters": [{"Name": "learning_rate", "Type": "Float", "DefaultValue": 0.05}],
    "Steps": [
        {
            "Name": "build-features",
            "Type": "Processing",
            "Arguments": {
                "ProcessingResources": {
                    "ClusterConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30}
                },
                "AppSpecification": {"ImageUri": TRAIN, "ContainerEntrypoint": ["python3", "fraud/features.py"]},
                "RoleArn": ROLE,
                "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
                "ProcessingInputs": [
                    {
                        "InputName": "data",
                        "S3Input": {
                            "S3Uri": "s3://fraud-data/raw/",
                            "LocalPath": "/opt/ml/processing/input/data",
                            "S3DataType": "S3Prefix",
                            "S3InputMode": "File",
                        },
                    }
                ],
            },
        },
        {
            "Name": "train",
            "Type": "Training",
            "DependsOn": ["build-features"],
            "Arguments": {
                "AlgorithmSpecification": {
                    "TrainingImage": TRAIN,
                    "TrainingInputMode": "File",
                    "ContainerEntrypoint": ["python3", "fraud/train.py"],
                },
                "ResourceConfig": {"InstanceType": "ml.g4dn.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30},
                "StoppingCondition": {"MaxRuntimeInSeconds": 7200},
                "HyperParameters": {"max_depth": "6"},
            },
        },
        {
            "Name": "evaluate",
            "Type": "Processing",
            "DependsOn": ["train"],
            "PropertyFiles": [
                {"PropertyFileName": "EvaluationReport", "OutputName": "evaluation", "FilePath": "evaluation.json"}
            ],
            "Arguments": {
                "ProcessingResources": {
                    "ClusterConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30}
                },
                "AppSpecification": {"ImageUri": TRAIN, "ContainerEntrypoint": ["python3", "fraud/evaluate.py"]},
                "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
            },
        },
        {
            "Name": "evaluate-gates",
            "Type": "Condition",
            "DependsOn": ["evaluate"],
            "Arguments": {
                "Conditions": [
                    {
                        "Type": "GreaterThanOrEqualTo",
                        "LeftValue": {
                            "Std:JsonGet": {
                                "PropertyFile": {"Get": "Steps.evaluate.PropertyFiles.EvaluationReport"},
                                "Path": "metrics.auc",
                            }
                        },
                        "RightValue": 0.9,
                    }
                ],
                "IfSteps": [
                    {
                        "Name": "register",
                        "Type": "RegisterModel",
                        "Arguments": {
                            "ModelPackageGroupName": "fraud-model",
                            "ModelApprovalStatus": "PendingManualApproval",
                            "InferenceSpecification": {
                                "Containers": [
                                    {
                                        "Image": SERVE,
                                        "ModelDataUrl": {"Get": "Steps.train.ModelArtifacts.S3ModelArtifacts"},
                                    }
                                ]
                            },
                        },
                    }
                ],
                "ElseSteps": [{"Name": "gates-failed", "Type": "Fail", "Arguments": {"ErrorMessage": "auc below 0.9"}}],
            },
        },
        {
            "Name": "notify",
            "Type": "Lambda",
            "DependsOn": ["evaluate-gates"],
            "FunctionArn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:notify",
            "Arguments": {},
        },
    ],
}


def _package(sm: Any, version: int) -> str:
    return sm.create_model_package(
        ModelPackageGroupName="fraud-model",
        ModelApprovalStatus="Approved",
        InferenceSpecification={
            "Containers": [
                {
                    "Image": SERVE,
                    "ModelDataUrl": f"s3://fraud-models/fraud-model/{version}/model.tar.gz",
                    "Framework": "XGBOOST",
                }
            ],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
    )["ModelPackageArn"]


def _alarms(cw: Any) -> None:
    def stat(name: str, dims: dict[str, str], period: int = 300, stat: str = "Sum") -> dict[str, Any]:
        return {
            "Metric": {
                "Namespace": "AWS/SageMaker",
                "MetricName": name,
                "Dimensions": [{"Name": k, "Value": v} for k, v in dims.items()],
            },
            "Period": period,
            "Stat": stat,
        }

    scorer = {"EndpointName": "fraud-scorer", "VariantName": "primary"}
    cw.put_metric_alarm(
        AlarmName="fraud-scorer-errors",
        ComparisonOperator="GreaterThanThreshold",
        EvaluationPeriods=1,
        Threshold=0.02,
        Metrics=[
            {"Id": "errors", "MetricStat": stat("Invocation5XXErrors", scorer), "ReturnData": False},
            {"Id": "invocations", "MetricStat": stat("Invocations", scorer), "ReturnData": False},
            {"Id": "error_rate", "Expression": "IF(invocations > 0, errors / invocations, 0)", "ReturnData": True},
        ],
    )
    cw.put_metric_alarm(
        AlarmName="fraud-scorer-latency",
        ComparisonOperator="GreaterThanThreshold",
        EvaluationPeriods=1,
        Threshold=250000,
        Namespace="AWS/SageMaker",
        MetricName="ModelLatency",
        ExtendedStatistic="p99",
        Period=300,
        Dimensions=[{"Name": k, "Value": v} for k, v in scorer.items()],
    )
    drift = {"Endpoint": "fraud-scorer", "MonitoringSchedule": "feature-drift"}
    cw.put_metric_alarm(
        AlarmName="feature-drift-alarm",
        ComparisonOperator="GreaterThanThreshold",
        EvaluationPeriods=1,
        Threshold=0.1,
        AlarmActions=[f"arn:aws:sns:{REGION}:{ACCOUNT}:fraud-oncall"],
        Metrics=[
            {
                "Id": f"m{i}",
                "MetricStat": {
                    **stat(f"feature_baseline_drift_{f}", drift, 3600, "Maximum"),
                    "Metric": {
                        **stat(f"feature_baseline_drift_{f}", drift)["Metric"],
                        "Namespace": "aws/sagemaker/Endpoints/data-metrics",
                    },
                },
                "ReturnData": False,
            }
            for i, f in enumerate(("txn_count_24h", "txn_amount_mean_7d"))
        ]
        + [{"Id": "worst", "Expression": "MAX([m0, m1])", "ReturnData": True}],
    )
    cw.put_metric_alarm(
        AlarmName="scorer-accuracy-alarm",
        ComparisonOperator="LessThanThreshold",
        EvaluationPeriods=1,
        Threshold=0.9,
        Namespace="aws/sagemaker/Endpoints/model-metrics",
        MetricName="accuracy",
        Statistic="Minimum",
        Period=86400,
        Dimensions=[
            {"Name": "Endpoint", "Value": "fraud-scorer"},
            {"Name": "MonitoringSchedule", "Value": "scorer-accuracy"},
        ],
    )


CANARY = {
    "BlueGreenUpdatePolicy": {
        "TrafficRoutingConfiguration": {
            "Type": "CANARY",
            "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 10},
            "WaitIntervalInSeconds": 600,
        },
        "TerminationWaitInSeconds": 300,
    },
    "AutoRollbackConfiguration": {
        "Alarms": [{"AlarmName": n} for n in ("fraud-scorer-errors", "fraud-scorer-latency", "scorer-accuracy-alarm")]
    },
}
SHADOW = {
    "VariantName": "shadow",
    "ModelName": "challenger",
    "InstanceType": "ml.m5.large",
    "InitialInstanceCount": 1,
    "InitialVariantWeight": 0.25,
}
FEATURES = [
    ("customer_id", "Integral"),
    ("event_ts", "Fractional"),
    ("txn_count_24h", "Integral"),
    ("txn_amount_mean_7d", "Fractional"),
]


def build_platform(sm: Routed, clients: dict[str, Any]) -> None:
    """The platform: registry, three endpoints (canary, ab, shadow), autoscaling, alarms, a scheduled
    pipeline, a feature group and two monitoring schedules."""
    real = sm.real
    real.create_model_package_group(
        ModelPackageGroupName="fraud-model", ModelPackageGroupDescription="Fraud classifier."
    )
    champion, challenger = _package(real, 1), _package(real, 2)
    for name, container in (
        ("champion", {"ModelPackageName": champion}),
        ("challenger", {"ModelPackageName": challenger}),
        ("rules", {"Image": SERVE, "ModelDataUrl": "s3://fraud-models/rules/model.tar.gz"}),
    ):
        network = {"VpcConfig": {"SecurityGroupIds": ["sg-1"], "Subnets": ["subnet-1"]}} if name == "rules" else {}
        real.create_model(ModelName=name, ExecutionRoleArn=ROLE, PrimaryContainer=container, **network)
    capture = {
        "EnableCapture": True,
        "InitialSamplingPercentage": 20,
        "DestinationS3Uri": "s3://fraud-capture/",
        "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
    }
    configs = {
        "scorer-config": [
            {
                "VariantName": "primary",
                "ModelName": "champion",
                "InstanceType": "ml.g4dn.xlarge",
                "InitialInstanceCount": 2,
                "InitialVariantWeight": 1.0,
            }
        ],
        "ab-config": [
            {
                "VariantName": "boosted",
                "ModelName": "champion",
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": 1,
                "InitialVariantWeight": 0.8,
            },
            {
                "VariantName": "rules",
                "ModelName": "rules",
                "InstanceType": "ml.c5.xlarge",
                "InitialInstanceCount": 1,
                "InitialVariantWeight": 0.2,
            },
        ],
        "shadow-config": [
            {
                "VariantName": "primary",
                "ModelName": "champion",
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": 1,
                "InitialVariantWeight": 1.0,
            }
        ],
    }
    for name, variants in configs.items():
        extra = {"ShadowProductionVariants": [SHADOW]} if name == "shadow-config" else {}
        real.create_endpoint_config(
            EndpointConfigName=name, ProductionVariants=variants, DataCaptureConfig=capture, **extra
        )
    _alarms(clients["cloudwatch"])
    for endpoint, config in (
        ("fraud-scorer", "scorer-config"),
        ("fraud-ab", "ab-config"),
        ("fraud-shadow", "shadow-config"),
    ):
        extra = {"DeploymentConfig": CANARY} if endpoint == "fraud-scorer" else {}
        real.create_endpoint(EndpointName=endpoint, EndpointConfigName=config, **extra)
    # what moto drops: the shadow variant and the deployment config, answered as SageMaker would
    shadow = real.describe_endpoint_config(EndpointConfigName="shadow-config")
    sm.answer(
        "describe_endpoint_config",
        {**_plain(shadow), "ShadowProductionVariants": [SHADOW]},
        EndpointConfigName="shadow-config",
    )
    scorer = real.describe_endpoint(EndpointName="fraud-scorer")
    keep = (
        "EndpointName",
        "EndpointArn",
        "EndpointConfigName",
        "ProductionVariants",
        "EndpointStatus",
        "CreationTime",
        "LastModifiedTime",
    )
    sm.answer(
        "describe_endpoint",
        {**{k: scorer[k] for k in keep}, "LastDeploymentConfig": CANARY},
        EndpointName="fraud-scorer",
    )

    aas = clients["autoscaling"]
    resource = "endpoint/fraud-scorer/variant/primary"
    aas.register_scalable_target(
        ServiceNamespace="sagemaker",
        ResourceId=resource,
        ScalableDimension="sagemaker:variant:DesiredInstanceCount",
        MinCapacity=2,
        MaxCapacity=6,
    )
    aas.put_scaling_policy(
        PolicyName="scorer-invocations",
        ServiceNamespace="sagemaker",
        ResourceId=resource,
        ScalableDimension="sagemaker:variant:DesiredInstanceCount",
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": 200.0,
            "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"},
            "ScaleInCooldown": 300,
            "ScaleOutCooldown": 60,
        },
    )
    real.create_pipeline(PipelineName="train-fraud", PipelineDefinition=json.dumps(DEFINITION), RoleArn=ROLE)
    clients["scheduler"].create_schedule(
        Name="train-fraud-weekly",
        ScheduleExpression="cron(0 3 ? * MON *)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": f"{ARN}:pipeline/train-fraud", "RoleArn": ROLE},
    )
    _feature_group(sm)
    _monitoring(sm)


def _plain(response: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in response.items() if k != "ResponseMetadata"}


def _feature_group(sm: Routed) -> None:
    arn = f"{ARN}:feature-group/customer-txn-stats"
    created = "2026-11-01T00:00:00Z"
    sm.answer(
        "list_feature_groups",
        {
            "FeatureGroupSummaries": [
                {"FeatureGroupName": "customer-txn-stats", "FeatureGroupArn": arn, "CreationTime": created}
            ]
        },
    )
    sm.answer(
        "describe_feature_group",
        {
            "FeatureGroupArn": arn,
            "FeatureGroupName": "customer-txn-stats",
            "RecordIdentifierFeatureName": "customer_id",
            "EventTimeFeatureName": "event_ts",
            "CreationTime": created,
            "NextToken": "",
            "FeatureDefinitions": [{"FeatureName": n, "FeatureType": t} for n, t in FEATURES],
            "OnlineStoreConfig": {"EnableOnlineStore": True, "TtlDuration": {"Unit": "Days", "Value": 7}},
            "OfflineStoreConfig": {"S3StorageConfig": {"S3Uri": "s3://fraud-features/offline/"}},
        },
        FeatureGroupName="customer-txn-stats",
    )
    sm.answer("list_tags", {"Tags": [{"Key": "team", "Value": "risk"}]}, ResourceArn=arn)


def _monitoring(sm: Routed) -> None:
    created = "2026-11-01T00:00:00Z"
    schedules = {
        "feature-drift": ("DataQuality", "cron(0 * ? * * *)", "feature-drift-job"),
        "scorer-accuracy": ("ModelQuality", "cron(0 4 ? * * *)", "scorer-accuracy-job"),
    }
    sm.answer(
        "list_monitoring_schedules",
        {
            "MonitoringScheduleSummaries": [
                {
                    "MonitoringScheduleName": n,
                    "MonitoringScheduleArn": f"{ARN}:monitoring-schedule/{n}",
                    "CreationTime": created,
                    "LastModifiedTime": created,
                    "MonitoringScheduleStatus": "Scheduled",
                    "EndpointName": "fraud-scorer",
                    "MonitoringType": t,
                }
                for n, (t, _, _) in schedules.items()
            ]
        },
    )
    for name, (kind, expression, job) in schedules.items():
        arn = f"{ARN}:monitoring-schedule/{name}"
        sm.answer(
            "describe_monitoring_schedule",
            {
                "MonitoringScheduleArn": arn,
                "MonitoringScheduleName": name,
                "MonitoringScheduleStatus": "Scheduled",
                "MonitoringType": kind,
                "CreationTime": created,
                "LastModifiedTime": created,
                "EndpointName": "fraud-scorer",
                "MonitoringScheduleConfig": {
                    "ScheduleConfig": {"ScheduleExpression": expression},
                    "MonitoringJobDefinitionName": job,
                    "MonitoringType": kind,
                },
            },
            MonitoringScheduleName=name,
        )
        sm.answer("list_tags", {"Tags": []}, ResourceArn=arn)
    common = {
        "CreationTime": created,
        "RoleArn": ROLE,
        "JobResources": {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 20}},
    }
    endpoint_input = {"EndpointName": "fraud-scorer", "LocalPath": "/opt/ml/processing/input/endpoint"}
    output = {
        "MonitoringOutputs": [
            {"S3Output": {"S3Uri": "s3://fraud-monitoring/reports", "LocalPath": "/opt/ml/processing/output"}}
        ]
    }
    sm.answer(
        "describe_data_quality_job_definition",
        {
            **common,
            "JobDefinitionArn": f"{ARN}:data-quality-job-definition/feature-drift-job",
            "JobDefinitionName": "feature-drift-job",
            "DataQualityAppSpecification": {
                "ImageUri": "156813124566.dkr.ecr.us-east-1.amazonaws.com/sagemaker-model-monitor-analyzer"
            },
            "DataQualityBaselineConfig": {
                "StatisticsResource": {"S3Uri": "s3://fraud-monitoring/baseline/statistics.json"}
            },
            "DataQualityJobInput": {"EndpointInput": endpoint_input},
            "DataQualityJobOutputConfig": output,
        },
        JobDefinitionName="feature-drift-job",
    )
    sm.answer(
        "describe_model_quality_job_definition",
        {
            **common,
            "JobDefinitionArn": f"{ARN}:model-quality-job-definition/scorer-accuracy-job",
            "JobDefinitionName": "scorer-accuracy-job",
            "ModelQualityAppSpecification": {
                "ImageUri": "156813124566.dkr.ecr.us-east-1.amazonaws.com/sagemaker-model-monitor-analyzer",
                "ProblemType": "BinaryClassification",
            },
            "ModelQualityJobInput": {
                "EndpointInput": {**endpoint_input, "InferenceAttribute": "0"},
                "GroundTruthS3Input": {"S3Uri": "s3://fraud-labels/"},
            },
            "ModelQualityJobOutputConfig": output,
        },
        JobDefinitionName="scorer-accuracy-job",
    )


@pytest.fixture(scope="module")
def imported() -> tuple[str, Any]:
    with mock_aws():
        real = boto3.client("sagemaker", region_name=REGION)
        sm = Routed(real)
        clients = {
            name: boto3.client(service, region_name=REGION)
            for name, service in (
                ("autoscaling", "application-autoscaling"),
                ("cloudwatch", "cloudwatch"),
                ("scheduler", "scheduler"),
                ("sts", "sts"),
            )
        }
        build_platform(sm, clients)
        result = import_sagemaker(
            name="fraud", owner="risk@example.com", clients=Clients(sagemaker=sm, region=REGION, **clients)
        )
        sm.stubber.assert_no_pending_responses()
    return result.text, result.report


def planned(text: str) -> dict[str, dict[str, Any]]:
    resources = plan(resolve(loads(text, file="imported.yaml")))
    return {f"{r.type}::{r.name}": r.inputs for r in resources}


def of(resources: dict[str, dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {key.split("::")[1]: inputs for key, inputs in resources.items() if key.startswith(f"aws:sagemaker/{kind}:")}


def test_the_imported_spec_validates_and_reports_what_did_not_map(imported):
    text, report = imported
    spec = loads(text, file="imported.yaml").spec
    assert report.valid, report.errors
    assert spec.target.cloud == "aws" and spec.target.region == REGION and spec.target.aws.account_id == ACCOUNT
    unsupported = {c.what for c in report.changes if c.grade == "unsupported"}
    assert "Lambda step notify" in unsupported
    assert "endpoint fraud-ab: model rules VpcConfig" in unsupported  # settings the spec lacks are named
    approximate = {c.what for c in report.changes if c.grade == "approximate"}
    assert "model rules is not in the registry" in approximate
    assert "source of customer-txn-stats" in approximate


def test_endpoints_variants_weights_and_instance_types_plan_back(imported):
    resources = planned(imported[0])
    endpoints = of(resources, "endpoint")
    assert set(endpoints) == {"fraud-scorer", "fraud-ab", "fraud-shadow"}
    configs = of(resources, "endpointConfiguration")

    def variants(config: dict[str, Any], key: str = "productionVariants") -> list[tuple[str, str, int, float]]:
        found = [
            (v["variantName"], v["instanceType"], v["initialInstanceCount"], v["initialVariantWeight"])
            for v in config.get(key) or []
        ]
        total = sum(w for *_, w in found) or 1
        return [(n, t, c, round(w / total, 6)) for n, t, c, w in found]

    assert variants(configs["fraud-scorer-config"]) == [("primary", "ml.g4dn.xlarge", 2, 1.0)]
    assert variants(configs["fraud-ab-config"]) == [
        ("boosted", "ml.m5.large", 1, 0.8),
        ("rules", "ml.c5.xlarge", 1, 0.2),
    ]
    shadow = configs["fraud-shadow-config"]
    assert variants(shadow) == [("primary", "ml.m5.large", 1, 1.0)]
    mirrored = shadow["shadowProductionVariants"][0]
    assert (
        mirrored["instanceType"],
        mirrored["initialVariantWeight"] / shadow["productionVariants"][0]["initialVariantWeight"],
    ) == ("ml.m5.large", 0.25)
    assert configs["fraud-scorer-config"]["dataCaptureConfig"]["initialSamplingPercentage"] == 20
    routing = endpoints["fraud-scorer"]["deploymentConfig"]["blueGreenUpdatePolicy"]
    # CAPACITY_PERCENT 10 of two instances is one instance on SageMaker; the spec's canary 10% plans back as that
    # one instance, stated in instances (mlstack.resolve.rollout)
    assert routing["trafficRoutingConfiguration"]["canarySize"] == {"type": "INSTANCE_COUNT", "value": 1}
    assert (routing["trafficRoutingConfiguration"]["waitIntervalInSeconds"], routing["terminationWaitInSeconds"]) == (
        600,
        300,
    )
    assert len(endpoints["fraud-scorer"]["deploymentConfig"]["autoRollbackConfiguration"]["alarms"]) == 3
    models = of(resources, "model")
    containers = {(m["primaryContainer"]["image"], m["primaryContainer"].get("modelDataUrl")) for m in models.values()}
    assert containers == {
        (SERVE, "s3://fraud-models/fraud-model/1/model.tar.gz"),
        (SERVE, "s3://fraud-models/fraud-model/2/model.tar.gz"),
        (SERVE, "s3://fraud-models/rules/model.tar.gz"),
    }
    target = next(v for k, v in resources.items() if k.startswith("aws:appautoscaling/target:Target::fraud-scorer"))
    assert (target["minCapacity"], target["maxCapacity"]) == (2, 6)
    policy = next(v for k, v in resources.items() if k.startswith("aws:appautoscaling/policy:Policy::fraud-scorer"))
    assert policy["targetTrackingScalingPolicyConfiguration"]["targetValue"] == 200


def test_feature_definitions_plan_back(imported):
    groups = of(planned(imported[0]), "featureGroup")
    group = groups["customer-txn-stats"]
    assert {(d["featureName"], d["featureType"]) for d in group["featureDefinitions"]} == set(FEATURES)
    assert (group["recordIdentifierFeatureName"], group["eventTimeFeatureName"]) == ("customer_id", "event_ts")
    assert group["onlineStoreConfig"]["ttlDuration"] == {"unit": "Weeks", "value": 1}  # 7 days, as SageMaker takes it


def test_pipeline_and_monitoring_schedules_plan_back(imported):
    resources = planned(imported[0])
    schedule = next(v for k, v in resources.items() if k.startswith("aws:scheduler/schedule:Schedule::train-fraud"))
    assert schedule["scheduleExpression"] == "cron(0 3 ? * MON *)"
    definition = json.loads(of(resources, "pipeline")["train-fraud"]["pipelineDefinition"])

    def steps(listing: list[dict[str, Any]]) -> list[tuple[str, str]]:
        found = []
        for step in listing:
            found.append((step["Name"], step["Type"]))
            found += steps(step["Arguments"].get("IfSteps", []))
        return found

    assert [s for s in steps(definition["Steps"]) if s[1] != "Condition"] == [
        ("build-features", "Processing"),
        ("train", "Training"),
        ("evaluate", "Processing"),
        ("register", "RegisterModel"),
    ]
    train = next(s for s in definition["Steps"] if s["Name"] == "train")["Arguments"]
    assert train["ResourceConfig"]["InstanceType"] == "ml.g4dn.xlarge"
    # the imported training image, with mlstack's step adapter added by the stack
    assert f":{step_image(TRAIN).key}-" in train["AlgorithmSpecification"]["TrainingImage"]
    monitors = of(resources, "monitoringSchedule")
    expressions = {
        name: m["monitoringScheduleConfig"]["scheduleConfig"]["scheduleExpression"] for name, m in monitors.items()
    }
    assert expressions == {
        "feature-drift-schedule": "cron(0 * ? * * *)",
        "scorer-accuracy-schedule": "cron(0 4 ? * * *)",
    }
    types = {name: m["monitoringScheduleConfig"]["monitoringType"] for name, m in monitors.items()}
    assert types == {"feature-drift-schedule": "DataQuality", "scorer-accuracy-schedule": "ModelQuality"}
