"""specs/fraud-detection.yaml on the aws target: the inputs of every resource the plan holds."""

from __future__ import annotations

import json
import re
from pathlib import Path

from aws_plans import (
    ALARM,
    BUCKET,
    CONFIG,
    ENDPOINT,
    ENDPOINT_YAML,
    EVENT_RULE,
    EVENT_TARGET,
    FEATURE_GROUP,
    KEY,
    MODEL,
    MODEL_QUALITY_JOB,
    MONITORING_SCHEDULE,
    PACKAGE_GROUP,
    PIPELINE,
    ROLE,
    ROLE_POLICY,
    SCALING_POLICY,
    SCALING_RELEASE,
    SCALING_TARGET,
    SCHEDULE,
    SUBSCRIPTION,
    TOPIC,
    TRACKING_SERVER,
    fraud,
    plan_text,
    spec_text,
)

from mlstack.plan import to_json

SPECS = Path(__file__).resolve().parents[3] / "specs"

BUCKET_NAME = "mlstack-fraud-detection-123456789012-us-east-1"
PROD_KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
TAGS = {"team": "risk", "cost-center": "cc-1234", "managed-by": "mlstack", "mlstack-spec": "fraud-detection"}
ANALYZER = "156813124566.dkr.ecr.us-east-1.amazonaws.com/sagemaker-model-monitor-analyzer:latest"
XGBOOST = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
SKLEARN = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"


class _Matches:
    """Equal to any text the pattern matches in full (content tags are digests)."""

    def __init__(self, pattern: str) -> None:
        self.pattern = re.compile(pattern)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and self.pattern.fullmatch(other) is not None

    def __repr__(self) -> str:
        return f"<matching {self.pattern.pattern}>"


# mlstack's runtime image as the stack builds and pushes it: its repository, tagged by content
RUNTIME = _Matches(
    re.escape("123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud-detection-mlstack") + r":runtime-[0-9a-f]{16}"
)
DATA = "s3://fraud-platform-data"  # target.aws.data_root: the spec's relative paths live under it


def prefix_source(uri: str) -> dict:
    return {"s3DataSources": [{"s3Uri": uri, "s3DataType": "S3Prefix", "compressionType": "None"}]}


def test_every_resource_kind_of_the_plan_is_one_this_module_checks():
    kinds = {r.type for r in fraud().resources}
    checked = {
        ALARM, BUCKET, CONFIG, ENDPOINT, EVENT_RULE, EVENT_TARGET, FEATURE_GROUP, MODEL,
        PACKAGE_GROUP, PIPELINE, ROLE, ROLE_POLICY, SCALING_POLICY, SCALING_RELEASE, SCALING_TARGET, SCHEDULE,
        SUBSCRIPTION, TOPIC, TRACKING_SERVER,
        "aws:s3/bucketPolicy:BucketPolicy", "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "aws:s3/bucketVersioning:BucketVersioning", "aws:sns/topicPolicy:TopicPolicy",
        "aws:ecr/repository:Repository", "aws:glue/catalogDatabase:CatalogDatabase", "docker-build:index:Image",
        "pulumi:providers:aws",
        "mlstack:platform:Platform", "mlstack:registry:Registry", "mlstack:feature_view:FeatureView",
        "mlstack:pipeline:Pipeline", "mlstack:endpoint:Endpoint", "mlstack:monitor:Monitor",
    }  # fmt: skip
    assert kinds == checked


def test_one_component_per_spec_object_with_the_cloud_resources_under_it():
    plan = fraud()
    components = {r.key for r in plan.resources if r.type.startswith("mlstack:")}
    assert components == {
        "mlstack:platform:Platform::fraud-detection",
        "mlstack:registry:Registry::fraud-model",
        "mlstack:registry:Registry::fraud-rules-model",
        "mlstack:feature_view:FeatureView::customer-txn-stats",
        "mlstack:feature_view:FeatureView::merchant-risk",
        "mlstack:pipeline:Pipeline::train-fraud",
        "mlstack:endpoint:Endpoint::fraud-scorer",
        "mlstack:endpoint:Endpoint::fraud-shadow",
        "mlstack:endpoint:Endpoint::fraud-ab",
        "mlstack:monitor:Monitor::feature-drift",
        "mlstack:monitor:Monitor::score-drift",
        "mlstack:monitor:Monitor::input-quality",
        "mlstack:monitor:Monitor::scorer-accuracy",
    }
    for resource in plan.resources:
        if resource.custom and not resource.type.startswith("pulumi:providers"):
            assert resource.parent in components, resource.key
    assert plan.one(ENDPOINT, "fraud-scorer").parent == "mlstack:endpoint:Endpoint::fraud-scorer"
    assert plan.one(FEATURE_GROUP, "merchant-risk").parent == "mlstack:feature_view:FeatureView::merchant-risk"


def test_plan_json_is_stable_between_runs():
    from aws_plans import SPECS

    from mlstack.plan import plan
    from mlstack.resolve import resolve
    from mlstack.spec import load

    again = plan(resolve(load(SPECS / "fraud-detection.yaml", target="aws")))
    assert to_json(again) == to_json(list(fraud().resources))


def test_platform_bucket_is_private_versioned_and_encrypted():
    plan = fraud()
    assert plan.inputs(BUCKET) == {"bucket": BUCKET_NAME, "forceDestroy": False, "tags": TAGS}
    block = plan.inputs("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert all(block[k] is True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls"))
    assert block["restrictPublicBuckets"] is True
    assert plan.inputs("aws:s3/bucketVersioning:BucketVersioning")["versioningConfiguration"] == {"status": "Enabled"}
    rules = plan.inputs("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
    assert rules["rules"] == [
        {"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}, "bucketKeyEnabled": False}
    ]
    prod = fraud("prod").inputs(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    )
    assert prod["rules"] == [
        {
            "applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": PROD_KEY},
            "bucketKeyEnabled": True,
        }
    ]
    (deny,) = json.loads(plan.inputs("aws:s3/bucketPolicy:BucketPolicy")["policy"])["Statement"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert deny["Resource"] == [f"arn:aws:s3:::{BUCKET_NAME}", f"arn:aws:s3:::{BUCKET_NAME}/*"]


def test_model_package_groups():
    plan = fraud()
    assert plan.inputs(PACKAGE_GROUP, "fraud-model") == {
        "modelPackageGroupName": "fraud-model",
        "modelPackageGroupDescription": "Gradient-boosted fraud classifier.",
        "tags": {**TAGS, "owner": "risk", "mlstack-approval": "manual"},
    }
    assert plan.inputs(PACKAGE_GROUP, "fraud-rules-model")["tags"]["mlstack-approval"] == "auto"
    assert fraud("dev").inputs(PACKAGE_GROUP, "fraud-model")["modelPackageGroupName"] == "fraud-model-dev"


def test_feature_groups():
    plan = fraud()
    customer = plan.inputs(FEATURE_GROUP, "customer-txn-stats")
    assert customer["featureGroupName"] == "customer-txn-stats"
    assert customer["recordIdentifierFeatureName"] == "customer_id"
    assert customer["eventTimeFeatureName"] == "event_ts"
    assert customer["featureDefinitions"] == [
        {"featureName": "customer_id", "featureType": "Integral"},
        {"featureName": "event_ts", "featureType": "Fractional"},
        {"featureName": "txn_count_24h", "featureType": "Integral"},
        {"featureName": "txn_amount_mean_7d", "featureType": "Fractional"},
        {"featureName": "distinct_merchants_7d", "featureType": "Integral"},
    ]
    assert customer["onlineStoreConfig"] == {"enableOnlineStore": True, "ttlDuration": {"unit": "Weeks", "value": 1}}
    assert customer["offlineStoreConfig"] == {
        "s3StorageConfig": {"s3Uri": f"s3://{BUCKET_NAME}/features/"},
        "dataCatalogConfig": {
            "catalog": "AwsDataCatalog",
            "database": "fraud_detection_features",
            "tableName": "customer_txn_stats",
        },
        "disableGlueTableCreation": False,
    }
    assert customer["roleArn"] == "arn:aws:iam::123456789012:role/fraud-detection-feature-store"
    merchant = plan.inputs(FEATURE_GROUP, "merchant-risk")
    assert merchant["recordIdentifierFeatureName"] == "merchant_id"
    assert {"featureName": "merchant_id", "featureType": "String"} in merchant["featureDefinitions"]
    assert merchant["onlineStoreConfig"]["ttlDuration"] == {"unit": "Days", "value": 30}
    prod = fraud("prod").inputs(FEATURE_GROUP, "merchant-risk")
    assert prod["onlineStoreConfig"]["securityConfig"] == {"kmsKeyId": PROD_KEY}
    assert prod["offlineStoreConfig"]["s3StorageConfig"]["kmsKeyId"] == PROD_KEY
    assert plan.inputs("aws:glue/catalogDatabase:CatalogDatabase")["name"] == "fraud_detection_features"


def test_models_serve_the_declared_versions_with_framework_images():
    plan = fraud()
    scorer = plan.inputs(MODEL, "fraud-scorer-primary-model")
    assert scorer["primaryContainer"] == {
        "image": XGBOOST,
        "modelDataSource": prefix_source(f"{DATA}/models/fraud-model/3/"),  # a prefix: uncompressed files
    }
    assert scorer["executionRoleArn"] == "arn:aws:iam::123456789012:role/fraud-detection-endpoint"
    assert scorer["name"].startswith("fraud-scorer-primary-") and len(scorer["name"]) <= 63
    challenger = plan.inputs(MODEL, "fraud-shadow-shadow-model")["primaryContainer"]
    assert challenger["modelDataSource"] == prefix_source(f"{DATA}/models/fraud-model/4/")
    rules = plan.inputs(MODEL, "fraud-ab-rules-model")["primaryContainer"]
    assert rules == {
        "image": SKLEARN,
        "modelDataSource": prefix_source(f"{DATA}/models/fraud-rules-model/1/"),
        "environment": {"SAGEMAKER_PROGRAM": "inference.py", "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code"},
    }


def test_canary_scorer_with_capture_rollback_alarms_and_autoscaling():
    plan = fraud()
    config = plan.inputs(CONFIG, "fraud-scorer-config")
    model = plan.inputs(MODEL, "fraud-scorer-primary-model")["name"]
    assert config["productionVariants"] == [
        {
            "variantName": "primary",
            "modelName": model,
            "instanceType": "ml.c5.large",
            "initialInstanceCount": 2,
            "initialVariantWeight": 100,
        }
    ]
    assert config["dataCaptureConfig"] == {
        "enableCapture": True,
        "initialSamplingPercentage": 20,
        "destinationS3Uri": f"s3://{BUCKET_NAME}/capture/fraud-scorer/",
        "captureOptions": [{"captureMode": "Input"}, {"captureMode": "Output"}],
        "captureContentTypeHeader": {"csvContentTypes": ["text/csv"], "jsonContentTypes": ["application/json"]},
    }
    endpoint = plan.inputs(ENDPOINT, "fraud-scorer")
    assert endpoint["name"] == "fraud-scorer" and endpoint["endpointConfigName"] == config["name"]
    assert endpoint["deploymentConfig"] == {
        "blueGreenUpdatePolicy": {
            "trafficRoutingConfiguration": {
                "type": "CANARY",
                # canary 10% of two instances: the nearest SageMaker can do is one instance (validate warns)
                "canarySize": {"type": "INSTANCE_COUNT", "value": 1},
                "waitIntervalInSeconds": 600,
            },
            "terminationWaitInSeconds": 300,
            "maximumExecutionTimeoutInSeconds": 600 + 300 + 1800,
        },
        "autoRollbackConfiguration": {
            "alarms": [
                {"alarmName": "fraud-detection-fraud-scorer-error-rate"},
                {"alarmName": "fraud-detection-fraud-scorer-p99-latency"},
                {"alarmName": "fraud-detection-scorer-accuracy"},  # the monitor whose action is rollback
            ]
        },
    }
    latency = plan.inputs(ALARM, "fraud-scorer-p99-latency")
    assert (latency["metricName"], latency["extendedStatistic"], latency["threshold"]) == (
        "ModelLatency",
        "p99",
        250000,
    )
    assert latency["dimensions"] == {"EndpointName": "fraud-scorer", "VariantName": "primary"}
    assert latency["period"] == 300 and latency["unit"] == "Microseconds"
    errors = plan.inputs(ALARM, "fraud-scorer-error-rate")
    assert errors["threshold"] == 0.02 and errors["comparisonOperator"] == "GreaterThanThreshold"
    assert [q.get("metric", {}).get("metricName") for q in errors["metricQueries"]] == [
        "Invocation5XXErrors",
        "Invocations",
        None,
    ]
    assert errors["metricQueries"][2]["expression"] == "IF(invocations > 0, errors / invocations, 0)"
    target = plan.inputs(SCALING_TARGET)
    assert (target["minCapacity"], target["maxCapacity"]) == (2, 6)
    assert target["resourceId"] == "endpoint/fraud-scorer/variant/primary"
    policy = plan.inputs(SCALING_POLICY)["targetTrackingScalingPolicyConfiguration"]
    assert policy == {
        "targetValue": 200,
        "predefinedMetricSpecification": {"predefinedMetricType": "SageMakerVariantInvocationsPerInstance"},
        "scaleInCooldown": 300,
        "scaleOutCooldown": 60,
    }


def test_shadow_and_ab_endpoints():
    plan = fraud()
    shadow = plan.inputs(CONFIG, "fraud-shadow-config")
    assert [(v["variantName"], v["initialVariantWeight"]) for v in shadow["productionVariants"]] == [("primary", 100)]
    assert [(v["variantName"], v["initialVariantWeight"]) for v in shadow["shadowProductionVariants"]] == [
        ("shadow", 25)
    ]
    assert shadow["shadowProductionVariants"][0]["modelName"] == plan.inputs(MODEL, "fraud-shadow-shadow-model")["name"]
    ab = plan.inputs(CONFIG, "fraud-ab-config")
    assert [(v["variantName"], v["initialVariantWeight"], v["instanceType"]) for v in ab["productionVariants"]] == [
        ("boosted", 80, "ml.c5.large"),
        ("rules", 20, "ml.c5.large"),
    ]
    assert "shadowProductionVariants" not in ab
    for name in ("fraud-shadow", "fraud-ab"):
        assert "deploymentConfig" not in plan.inputs(ENDPOINT, name)  # SageMaker's default blue/green


def test_dev_overrides_apply():
    plan = fraud("dev")
    config = plan.inputs(CONFIG, "fraud-scorer-config")
    assert config["productionVariants"][0]["instanceType"] == "ml.c5.large"  # dev overrides only the GPU
    assert config["productionVariants"][0]["initialInstanceCount"] == 1
    endpoint = plan.inputs(ENDPOINT, "fraud-scorer")
    assert endpoint["name"] == "fraud-scorer-dev"
    # all_at_once with only a monitor's rollback alarm: blue/green all at once, guarded by it
    assert endpoint["deploymentConfig"]["blueGreenUpdatePolicy"]["trafficRoutingConfiguration"] == {
        "type": "ALL_AT_ONCE",
        "waitIntervalInSeconds": 0,
    }
    assert endpoint["deploymentConfig"]["autoRollbackConfiguration"] == {
        "alarms": [{"alarmName": "fraud-detection-dev-scorer-accuracy"}]
    }
    assert {a.name for a in plan.all(ALARM)} == {  # no strategy rollback in dev: only the monitors' alarms
        "feature-drift-alarm",
        "score-drift-alarm",
        "input-quality-alarm",
        "scorer-accuracy-alarm",
    }
    assert (plan.inputs(SCALING_TARGET)["minCapacity"], plan.inputs(SCALING_TARGET)["maxCapacity"]) == (1, 2)
    assert plan.inputs(SCHEDULE, "train-fraud-schedule")["scheduleExpression"] == "cron(0 6 * * ? *)"


def test_prod_encrypts_with_the_key_except_volumes_of_instances_with_local_storage():
    plan = fraud("prod")
    scorer = plan.inputs(CONFIG, "fraud-scorer-config")
    assert scorer["dataCaptureConfig"]["kmsKeyId"] == PROD_KEY
    assert scorer["kmsKeyArn"] == PROD_KEY  # ml.c5.large
    assert plan.inputs(CONFIG, "fraud-shadow-config")["kmsKeyArn"] == PROD_KEY  # ml.c5.large
    assert plan.inputs(TOPIC)["kmsMasterKeyId"] == PROD_KEY
    assert plan.inputs("aws:ecr/repository:Repository")["encryptionConfigurations"] == [
        {"encryptionType": "KMS", "kmsKey": PROD_KEY}
    ]
    job = _monitor_step(plan, "scorer-accuracy")
    assert job["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"] == PROD_KEY
    assert job["ProcessingOutputConfig"]["KmsKeyId"] == PROD_KEY
    assert plan.inputs(SCHEDULE, "scorer-accuracy-schedule")["kmsKeyArn"] == PROD_KEY


def test_the_stack_builds_the_runtime_and_step_images_from_the_installed_mlstack():
    plan = fraud()
    builds = {r.name: r.inputs for r in plan.all("docker-build:index:Image")}
    runtime_name, step_name = sorted(builds)  # one step image: every code step runs fraud-train:1.4.0
    assert runtime_name == "runtime-image" and step_name.startswith("step-")
    runtime = builds["runtime-image"]
    assert runtime["tags"] == [RUNTIME] and runtime["push"] is True and runtime["platforms"] == ["linux/amd64"]
    assert runtime["registries"][0]["address"] == "123456789012.dkr.ecr.us-east-1.amazonaws.com"
    dockerfile = runtime["dockerfile"]["inline"]
    # mlstack from the wheel in the build context, with the cloud's and the jobs' dependencies
    assert "FROM python:3.11-slim" in dockerfile and 'mlstack-0.1.0-py3-none-any.whl[aws,runtime]"' in dockerfile
    step = builds[step_name]
    assert "FROM 123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud-train:1.4.0" in step["dockerfile"]["inline"]
    assert "--no-deps" in step["dockerfile"]["inline"]


def _monitor_step(plan, monitor: str) -> dict:
    (step,) = json.loads(plan.inputs(PIPELINE, f"{monitor}-pipeline")["pipelineDefinition"])["Steps"]
    return step["Arguments"]


def test_monitors_run_mlstacks_evaluator_with_alarms():
    """All four kinds run mlstack's evaluator as a scheduled pipeline (Model Monitor is closed to new
    customers); the alarms watch what it publishes."""
    plan = fraud()
    assert not plan.all(MONITORING_SCHEDULE) and not plan.all(MODEL_QUALITY_JOB)
    drift = _monitor_step(plan, "feature-drift")
    assert drift["AppSpecification"]["ImageUri"] == RUNTIME
    assert drift["AppSpecification"]["ContainerArguments"][:6] == [
        "--monitor",
        "feature-drift",
        "--captures",
        f"s3://{BUCKET_NAME}/capture/fraud-scorer/fraud-scorer/",
        "--output",
        "/opt/ml/processing/output",
    ]
    assert drift["Environment"]["MLSTACK_FEATURES"] == "txn_count_24h,txn_amount_mean_7d,distinct_merchants_7d"
    assert drift["Environment"]["MLSTACK_BASELINE"] == f"{DATA}/baselines/training.csv"
    assert drift["RoleArn"] == "arn:aws:iam::123456789012:role/fraud-detection-monitoring"
    schedules = {s.name: s.inputs["scheduleExpression"] for s in plan.all(SCHEDULE)}
    assert schedules["feature-drift-schedule"] == "cron(0 * * * ? *)"
    assert schedules["score-drift-schedule"] == "cron(0 0,6,12,18 * * ? *)"
    assert schedules["scorer-accuracy-schedule"] == "cron(0 4 * * ? *)"
    hours = {
        m: _monitor_step(plan, m)["AppSpecification"]["ContainerArguments"][7]
        for m in ("score-drift", "scorer-accuracy")
    }
    assert hours == {"score-drift": "6", "scorer-accuracy": "24"}  # each run covers the time since the last
    accuracy = _monitor_step(plan, "scorer-accuracy")["Environment"]
    assert (accuracy["MLSTACK_GROUND_TRUTH"], accuracy["MLSTACK_PROBLEM_TYPE"]) == (
        f"{DATA}/labels/",
        "binary_classification",
    )
    alarm = plan.inputs(ALARM, "feature-drift-alarm")
    assert (alarm["metricName"], alarm["threshold"], alarm["comparisonOperator"]) == (
        "mlstack_jensen_shannon",
        0.1,
        "GreaterThanThreshold",
    )
    assert alarm["namespace"] == "mlstack/Monitors"
    assert alarm["dimensions"] == {"Endpoint": "fraud-scorer", "Monitor": "feature-drift"}
    assert alarm["alarmActions"] == ["arn:aws:sns:us-east-1:123456789012:fraud-detection-alerts"]
    accuracy_alarm = plan.inputs(ALARM, "scorer-accuracy-alarm")
    assert (accuracy_alarm["namespace"], accuracy_alarm["metricName"]) == ("mlstack/Monitors", "mlstack_accuracy")
    assert (accuracy_alarm["comparisonOperator"], accuracy_alarm["period"]) == ("LessThanThreshold", 86400)
    assert fraud("prod").inputs(ALARM, "feature-drift-alarm")["threshold"] == 0.08  # prod overlay


def test_with_model_monitor_the_kinds_it_computes_run_on_it():
    text = (SPECS / "fraud-detection.yaml").read_text()
    aws_root = "    data_root: s3://fraud-platform-data\n"
    assert aws_root in text
    plan = plan_text(text.replace(aws_root, aws_root + "    model_monitor: true\n", 1))
    accuracy = plan.inputs(MONITORING_SCHEDULE, "scorer-accuracy-schedule")["monitoringScheduleConfig"]
    assert accuracy == {
        "monitoringType": "ModelQuality",
        "monitoringJobDefinitionName": plan.inputs(MODEL_QUALITY_JOB)["jobDefinitionName"],
        "scheduleConfig": {"scheduleExpression": "cron(0 4 ? * * *)"},
    }
    quality = plan.inputs(MODEL_QUALITY_JOB)
    assert quality["modelQualityAppSpecification"]["problemType"] == "BinaryClassification"
    assert quality["modelQualityAppSpecification"]["imageUri"] == ANALYZER
    assert quality["modelQualityJobInput"]["groundTruthS3Input"] == {"s3Uri": f"{DATA}/labels/"}
    accuracy_alarm = plan.inputs(ALARM, "scorer-accuracy-alarm")
    assert (accuracy_alarm["namespace"], accuracy_alarm["metricName"]) == (
        "aws/sagemaker/Endpoints/model-metrics",
        "accuracy",
    )
    # what Model Monitor cannot compute (jensen_shannon, null_rate over all columns) stays on mlstack's evaluator
    assert {p.name for p in plan.all(PIPELINE)} >= {
        "feature-drift-pipeline",
        "score-drift-pipeline",
        "input-quality-pipeline",
    }


def test_alerts_reach_one_subscription_filtered_to_the_alarms_that_name_it():
    plan = fraud()
    assert plan.inputs(TOPIC)["name"] == "fraud-detection-alerts"
    subscription = plan.inputs(SUBSCRIPTION)
    assert (subscription["protocol"], subscription["endpoint"]) == ("email", "fraud-oncall@example.com")
    assert subscription["filterPolicyScope"] == "MessageBody"
    assert json.loads(subscription["filterPolicy"]) == {
        "AlarmName": [
            "fraud-detection-feature-drift",
            "fraud-detection-input-quality",
            "fraud-detection-score-drift",
        ]
    }


def test_pipeline_schedule_and_drift_trigger():
    plan = fraud()
    pipeline = plan.inputs(PIPELINE, "train-fraud")
    assert (pipeline["pipelineName"], pipeline["roleArn"]) == (
        "train-fraud",
        "arn:aws:iam::123456789012:role/fraud-detection-pipeline",
    )
    schedule = plan.inputs(SCHEDULE, "train-fraud-schedule")
    assert schedule["scheduleExpression"] == "cron(0 3 ? * MON *)"  # '0 3 * * 1': Monday is 2 on AWS
    assert schedule["scheduleExpressionTimezone"] == "UTC"
    assert schedule["target"] == {
        "arn": "arn:aws:sagemaker:us-east-1:123456789012:pipeline/train-fraud",
        "roleArn": "arn:aws:iam::123456789012:role/fraud-detection-pipeline-starter",
        "sagemakerPipelineParameters": {"pipelineParameters": [{"name": "MlstackTrigger", "value": "schedule"}]},
    }
    # the pipeline's trigger and the monitor's retrain action are one link (the other rules alert on failed runs)
    rule = plan.one(EVENT_RULE, "train-fraud-on-feature-drift")
    assert json.loads(rule.inputs["eventPattern"]) == {
        "source": ["aws.cloudwatch"],
        "detail-type": ["CloudWatch Alarm State Change"],
        "resources": ["arn:aws:cloudwatch:us-east-1:123456789012:alarm:fraud-detection-feature-drift"],
        "detail": {"state": {"value": ["ALARM"]}},
    }
    target = plan.inputs(EVENT_TARGET, "train-fraud-on-feature-drift-start")
    assert target["rule"] == rule.inputs["name"] and target["arn"] == schedule["target"]["arn"]
    assert target["sagemakerPipelineTarget"] == {
        "pipelineParameterLists": [{"name": "MlstackTrigger", "value": "alert:feature-drift"}]
    }


def test_nothing_is_deleted_before_its_replacement_exists():
    # but a scalable target: a new registration of the same variant, whose old one its release already
    # deregistered (mlstack.backends.aws.scaling_release); it serves nothing
    for env in (None, "dev", "prod"):
        for resource in fraud(env).resources:
            expected = resource.type == SCALING_TARGET
            assert resource.options.get("deleteBeforeReplace", False) is expected, resource.key


def test_instances_with_local_storage_get_no_volume_key():
    gpu = spec_text(ENDPOINT_YAML.replace("compute: cpu", "compute: gpu"), target_extra=f"  kms_key: {KEY}\n")
    config = plan_text(gpu).inputs(CONFIG, "ranker-config")
    assert config["productionVariants"][0]["instanceType"] == "ml.g4dn.xlarge"
    assert "kmsKeyArn" not in config  # NVMe instance storage: SageMaker refuses a volume key
    assert plan_text(spec_text(target_extra=f"  kms_key: {KEY}\n")).inputs(CONFIG, "ranker-config")["kmsKeyArn"] == KEY
