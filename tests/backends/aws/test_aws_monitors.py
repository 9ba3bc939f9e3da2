"""Each monitor kind on its engine (mlstack's evaluator as a scheduled SageMaker pipeline by default;
SageMaker's analyzer or model-quality job with target.aws.model_monitor), its schedule, its alarm and its
actions."""

from __future__ import annotations

import json
import re

import aws_requests as api
import pulumi.runtime.config as pulumi_config
import pytest
from aws_plans import (
    ALARM,
    DATA_QUALITY_JOB,
    ENDPOINT,
    EVENT_RULE,
    EVENT_TARGET,
    MODEL_QUALITY_JOB,
    MONITORING_SCHEDULE,
    PIPELINE,
    ROLE_POLICY,
    SCHEDULE,
    SUBSCRIPTION,
    TOPIC,
    plan_text,
    spec_text,
)

BUCKET = "mlstack-shop-111122223333-us-east-1"
ANALYZER = "156813124566.dkr.ecr.us-east-1.amazonaws.com/sagemaker-model-monitor-analyzer:latest"


class _Matches:
    """Equal to any text the pattern matches in full (content tags are digests)."""

    def __init__(self, pattern: str) -> None:
        self.pattern = re.compile(pattern)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and self.pattern.fullmatch(other) is not None

    def __repr__(self) -> str:
        return f"<matching {self.pattern.pattern}>"


# mlstack's runtime image as the stack builds and pushes it: its repository, tagged by content
RUNTIME = _Matches(re.escape("111122223333.dkr.ecr.us-east-1.amazonaws.com/shop-mlstack") + r":runtime-[0-9a-f]{16}")
NATIVE = "  model_monitor: true\n"  # an account that has SageMaker Model Monitor
RETRAIN = """\
pipelines:
  - name: retrain
    image: 111122223333.dkr.ecr.us-east-1.amazonaws.com/train:1
    steps:
      - name: train
        kind: training
        entrypoint: train.py
"""


def psi_drift(actions: str) -> str:
    """A drift monitor on mlstack's container with these actions (YAML list items)."""
    return (
        "  - name: drift\n    kind: data_drift\n    endpoint: ranker\n    baseline: s3://data/train.csv\n"
        "    metric: psi\n    actions:\n" + actions
    )


def monitors(body: str, rest: str = "", target_extra: str = ""):
    return plan_text(spec_text(rest=rest + "monitors:\n" + body, target_extra=target_extra))


def schedule_config(plan) -> dict:
    return plan.inputs(MONITORING_SCHEDULE)["monitoringScheduleConfig"]


def monitor_step(plan) -> dict:
    """The one Processing step of the monitor's pipeline."""
    definition = json.loads(plan.inputs(PIPELINE)["pipelineDefinition"])
    (step,) = definition["Steps"]
    assert step["Type"] == "Processing"
    return step["Arguments"]


def test_linf_drift_on_named_features_runs_sagemakers_analyzer():
    plan = monitors(
        """\
  - name: drift
    kind: data_drift
    endpoint: ranker
    baseline: s3://data/train.csv
    features: [price, clicks]
    metric: l_infinity
    threshold: 0.2
    schedule: "0 2 * * *"
""",
        target_extra=NATIVE,
    )
    job = plan.inputs(DATA_QUALITY_JOB)
    assert re.fullmatch(r"drift-job-[0-9a-f]{8}", job["name"])
    assert job["dataQualityAppSpecification"] == {
        "imageUri": ANALYZER,
        "environment": {"publish_cloudwatch_metrics": "Enabled"},
    }
    assert job["dataQualityBaselineConfig"] == {
        "constraintsResource": {"s3Uri": f"s3://{BUCKET}/monitoring/drift/baseline/constraints.json"},
        "statisticsResource": {"s3Uri": f"s3://{BUCKET}/monitoring/drift/baseline/statistics.json"},
    }
    assert job["dataQualityJobInput"] == {
        "endpointInput": {
            "endpointName": "ranker",
            "localPath": "/opt/ml/processing/input/endpoint",
            "s3DataDistributionType": "FullyReplicated",
            "s3InputMode": "File",
        }
    }
    assert job["dataQualityJobOutputConfig"]["monitoringOutputs"]["s3Output"]["s3Uri"] == (
        f"s3://{BUCKET}/monitoring/drift/reports"
    )
    assert job["jobResources"] == {
        "clusterConfig": {"instanceCount": 1, "instanceType": "ml.m5.xlarge", "volumeSizeInGb": 20}
    }
    assert job["roleArn"] == "arn:aws:iam::111122223333:role/shop-monitoring"
    assert schedule_config(plan) == {
        "monitoringType": "DataQuality",
        "monitoringJobDefinitionName": job["name"],
        "scheduleConfig": {"scheduleExpression": "cron(0 2 ? * * *)"},
    }
    alarm = plan.inputs(ALARM, "drift-alarm")
    assert alarm["comparisonOperator"] == "GreaterThanThreshold" and alarm["threshold"] == 0.2
    queries = alarm["metricQueries"]
    assert [q["metric"]["period"] for q in queries[:2]] == [86400, 86400]  # one datapoint a day
    assert [q["metric"]["metricName"] for q in queries[:2]] == [
        "feature_baseline_drift_price",
        "feature_baseline_drift_clicks",
    ]
    assert all(q["metric"]["namespace"] == "aws/sagemaker/Endpoints/data-metrics" for q in queries[:2])
    assert all(q["metric"]["dimensions"] == {"Endpoint": "ranker", "MonitoringSchedule": "drift"} for q in queries[:2])
    assert queries[2] == {"id": "worst", "expression": "MAX([m0, m1])", "label": "worst", "returnData": True}


def test_null_rate_alarm_watches_the_least_complete_feature():
    plan = monitors(
        """\
  - name: nulls
    kind: data_quality
    endpoint: ranker
    baseline: s3://data/train.csv
    features: [price]
    metric: null_rate
    threshold: 0.1
""",
        target_extra=NATIVE,
    )
    assert plan.all(DATA_QUALITY_JOB)
    alarm = plan.inputs(ALARM)
    assert (alarm["metricName"], alarm["statistic"]) == ("feature_non_null_price", "Minimum")
    assert alarm["comparisonOperator"] == "LessThanThreshold" and alarm["threshold"] == pytest.approx(0.9)
    assert schedule_config(plan)["scheduleConfig"]["scheduleExpression"] == "cron(0 * ? * * *)"


@pytest.mark.parametrize(
    ("kind", "metric", "extra", "threshold", "comparison", "statistic"),
    [
        ("data_drift", "psi", "features: [price]", 0.1, "GreaterThanThreshold", "Maximum"),
        ("data_drift", "l_infinity", "features: [price]", 0.1, "GreaterThanThreshold", "Maximum"),
        (
            "data_quality",
            "null_rate",
            "features: [price]\n    threshold: 0.05",
            0.05,
            "GreaterThanThreshold",
            "Maximum",
        ),
        ("prediction_drift", "ks", "features: []", 0.05, "LessThanThreshold", "Minimum"),  # a p-value: low is drift
        ("data_quality", "out_of_range_rate", "features: [price]", None, None, None),  # no default: no alarm
        (
            "model_quality",
            "accuracy",
            "problem_type: binary_classification\n    ground_truth: s3://labels/ranker/\n    threshold: 0.9",
            0.9,
            "LessThanThreshold",
            "Minimum",
        ),
    ],
)
def test_every_monitor_runs_mlstacks_evaluator_as_a_scheduled_pipeline(
    kind, metric, extra, threshold, comparison, statistic
):
    """No Model Monitor (closed to new customers, audit A1): a one-step pipeline runs the monitor job in
    the stack-built runtime image, EventBridge Scheduler starts it with the scheduled time as the window's
    end, and the job publishes the metric the alarm watches."""
    baseline = "" if kind == "model_quality" else "    baseline: s3://data/train.csv\n"
    plan = monitors(
        f"""\
  - name: watch
    kind: {kind}
    endpoint: ranker
{baseline}    {extra}
    metric: {metric}
    schedule: "0 */4 * * *"
"""
    )
    assert not plan.all(MONITORING_SCHEDULE) and not plan.all(DATA_QUALITY_JOB) and not plan.all(MODEL_QUALITY_JOB)
    pipeline = plan.inputs(PIPELINE)
    assert pipeline["pipelineName"] == "monitor-watch"
    assert pipeline["roleArn"] == "arn:aws:iam::111122223333:role/shop-monitoring"
    step = monitor_step(plan)
    app = step["AppSpecification"]
    assert app["ImageUri"] == RUNTIME and app["ContainerEntrypoint"] == ["python3", "-m", "mlstack.monitor_job"]
    assert app["ContainerArguments"] == [
        "--monitor",
        "watch",
        "--captures",
        f"s3://{BUCKET}/capture/ranker/ranker/",  # SageMaker files captures under <destination>/<endpoint>/
        "--output",
        "/opt/ml/processing/output",
        "--hours",
        "4",
        "--end",
        {"Get": "Parameters.WindowEnd"},
    ]
    env = step["Environment"]
    assert (env["MLSTACK_KIND"], env["MLSTACK_METRIC"]) == (kind, metric)
    if kind == "model_quality":
        assert (env["MLSTACK_GROUND_TRUTH"], env["MLSTACK_PROBLEM_TYPE"]) == (
            "s3://labels/ranker/",
            "binary_classification",
        )
        assert "MLSTACK_BASELINE" not in env
    else:
        assert env["MLSTACK_BASELINE"] == "s3://data/train.csv"
    assert step["RoleArn"] == pipeline["roleArn"] and step["StoppingCondition"] == {"MaxRuntimeInSeconds": 1800}
    assert step["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"] == {
        "Std:Join": {
            "On": "/",
            "Values": [f"s3://{BUCKET}/monitoring/watch/reports", {"Get": "Execution.PipelineExecutionId"}],
        }
    }
    api.validate("sagemaker", *api.step_request({"Name": "evaluate", "Type": "Processing", "Arguments": step}))

    schedule = plan.inputs(SCHEDULE)
    assert (
        schedule["scheduleExpression"] == "cron(0 0,4,8,12,16,20 * * ? *)"
        and schedule["scheduleExpressionTimezone"] == "UTC"
    )
    target = schedule["target"]
    assert target["arn"] == "arn:aws:scheduler:::aws-sdk:sagemaker:startPipelineExecution"
    assert target["roleArn"] == "arn:aws:iam::111122223333:role/shop-pipeline-starter"
    start = json.loads(target["input"])
    assert start["PipelineParameters"] == [
        {"Name": "WindowEnd", "Value": "<aws.scheduler.scheduled-time>"},
        {"Name": "MlstackTrigger", "Value": "schedule"},
    ]
    # what Scheduler sends once it has filled its context attributes (documented example values)
    sent = json.loads(
        target["input"]
        .replace("<aws.scheduler.scheduled-time>", "2026-11-22T12:00:00Z")
        .replace("<aws.scheduler.execution-id>", "d32c5kddcf5bb8c3")
    )
    api.validate("sagemaker", "StartPipelineExecution", sent)
    assert sent["PipelineName"] == pipeline["pipelineName"]
    repository = plan.inputs("aws:ecr/repository:Repository")
    assert (repository["name"], repository["imageTagMutability"]) == ("shop-mlstack", "IMMUTABLE")
    if threshold is None:
        assert "MLSTACK_THRESHOLD" not in env and not plan.all(ALARM)
        return
    assert env["MLSTACK_THRESHOLD"] == repr(threshold)
    alarm = plan.inputs(ALARM)
    assert (alarm["metricName"], alarm["namespace"]) == (f"mlstack_{metric}", "mlstack/Monitors")
    assert (env["MLSTACK_CLOUDWATCH_METRIC"], env["MLSTACK_CLOUDWATCH_NAMESPACE"]) == (
        alarm["metricName"],
        alarm["namespace"],
    )
    assert (
        json.loads(env["MLSTACK_CLOUDWATCH_DIMENSIONS"])
        == alarm["dimensions"]
        == {
            "Endpoint": "ranker",
            "Monitor": "watch",
        }
    )
    assert (alarm["comparisonOperator"], alarm["statistic"], alarm["threshold"]) == (comparison, statistic, threshold)
    assert alarm["period"] == 4 * 3600


def test_the_monitoring_role_may_do_what_the_job_does_and_no_more():
    """Least privilege: read the baseline and the endpoint's captures, write the monitor's reports, publish
    into mlstack's namespace only, pull the runtime image, and run the pipeline's job as itself; the
    schedule's role may only start this pipeline."""
    plan = monitors(psi_drift("      - type: alert\n        to: [ops@example.com]\n"))
    statements = json.loads(plan.inputs(ROLE_POLICY, "monitor-drift-policy")["policy"])["Statement"]
    granted = {(a, r) for s in statements for a in s["Action"] for r in s["Resource"]}
    platform = f"arn:aws:s3:::{BUCKET}"
    assert granted == {
        *((a, f"{platform}/monitoring/drift/*") for a in ("s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject")),
        ("s3:ListBucket", platform),  # under the prefixes of the conditions below
        ("s3:GetObject", "arn:aws:s3:::data/train.csv"),
        ("s3:GetObject", f"{platform}/capture/ranker/*"),
        *(
            (a, "arn:aws:logs:us-east-1:111122223333:log-group:/aws/sagemaker/ProcessingJobs:*")
            for a in ("logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents")
        ),
        ("cloudwatch:PutMetricData", "*"),
        ("ecr:GetAuthorizationToken", "*"),
        *(
            (a, "arn:aws:ecr:us-east-1:111122223333:repository/shop-mlstack")
            for a in ("ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer")
        ),
        *(
            (f"sagemaker:{a}", "arn:aws:sagemaker:us-east-1:111122223333:processing-job/pipelines-*")
            for a in ("AddTags", "CreateProcessingJob", "DescribeProcessingJob", "StopProcessingJob")
        ),
        ("iam:PassRole", "arn:aws:iam::111122223333:role/shop-monitoring"),
    }
    conditions = {a: s.get("Condition") for s in statements for a in s["Action"] if s.get("Condition")}
    assert conditions["cloudwatch:PutMetricData"] == {"StringEquals": {"cloudwatch:namespace": ["mlstack/Monitors"]}}
    assert conditions["iam:PassRole"] == {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}
    listed = [s["Condition"]["StringLike"]["s3:prefix"] for s in statements if s["Action"] == ["s3:ListBucket"]]
    assert listed == [["monitoring/drift/*"], ["capture/ranker/*"]]
    start = json.loads(plan.inputs(ROLE_POLICY, "start-monitor-drift-policy")["policy"])["Statement"]
    assert start == [
        {
            "Effect": "Allow",
            "Action": ["sagemaker:StartPipelineExecution"],
            "Resource": ["arn:aws:sagemaker:us-east-1:111122223333:pipeline/monitor-drift"],
        }
    ]


def test_the_runtime_image_comes_from_the_stack_config_when_set():
    image = "999999999999.dkr.ecr.us-east-1.amazonaws.com/mlstack:2.0"
    pulumi_config.set_config("mlstack:runtimeImage", image)
    try:
        plan = monitors(
            "  - name: watch\n    kind: data_drift\n    endpoint: ranker\n"
            "    baseline: s3://data/train.csv\n    metric: psi\n"
        )
    finally:
        pulumi_config.set_all_config({})
    assert monitor_step(plan)["AppSpecification"]["ImageUri"] == image
    assert not plan.all("aws:ecr/repository:Repository")
    statements = json.loads(plan.inputs(ROLE_POLICY, "monitor-watch-policy")["policy"])["Statement"]
    pull = next(s for s in statements if "ecr:BatchGetImage" in s["Action"])
    assert pull["Resource"] == ["arn:aws:ecr:us-east-1:999999999999:repository/mlstack"]


@pytest.mark.parametrize(
    ("problem_type", "metric", "api_metric", "comparison"),
    [
        ("binary_classification", "auc", "auc", "LessThanThreshold"),
        ("multiclass_classification", "f1", "weighted_f1", "LessThanThreshold"),
        ("regression", "rmse", "rmse", "GreaterThanThreshold"),
    ],
)
def test_model_quality_uses_the_native_job_definition(problem_type, metric, api_metric, comparison):
    plan = monitors(
        f"""\
  - name: quality
    kind: model_quality
    endpoint: ranker
    problem_type: {problem_type}
    ground_truth: s3://labels/ranker/
    metric: {metric}
    threshold: 0.7
    schedule: "0 5 * * *"
""",
        target_extra=NATIVE,
    )
    job = plan.inputs(MODEL_QUALITY_JOB)
    assert re.fullmatch(r"quality-job-[0-9a-f]{8}", job["jobDefinitionName"])
    assert (
        job["modelQualityAppSpecification"]["problemType"]
        == {
            "binary_classification": "BinaryClassification",
            "multiclass_classification": "MulticlassClassification",
            "regression": "Regression",
        }[problem_type]
    )
    assert job["modelQualityJobInput"]["groundTruthS3Input"] == {"s3Uri": "s3://labels/ranker/"}
    # The captured response's first column: a binary classifier's score read as a probability cut at 0.5
    # (accuracy would otherwise compare probabilities with 0/1 labels), other problems' as the prediction.
    endpoint_input = job["modelQualityJobInput"]["endpointInput"]
    attributes = {k: v for k, v in endpoint_input.items() if k.endswith("Attribute")}
    if problem_type == "binary_classification":
        assert attributes == {"probabilityAttribute": "0", "probabilityThresholdAttribute": 0.5}
    else:
        assert attributes == {"inferenceAttribute": "0"}
    # No baseline constraints: nothing writes them, and a job pointing at a missing key fails every run.
    assert "modelQualityBaselineConfig" not in job
    assert {"key": "mlstack-spec", "value": "shop"} in job["tags"]
    assert schedule_config(plan) == {
        "monitoringType": "ModelQuality",
        "monitoringJobDefinitionName": job["jobDefinitionName"],
        "scheduleConfig": {"scheduleExpression": "cron(0 5 ? * * *)"},
    }
    alarm = plan.inputs(ALARM)
    assert (alarm["namespace"], alarm["metricName"]) == ("aws/sagemaker/Endpoints/model-metrics", api_metric)
    assert (alarm["comparisonOperator"], alarm["threshold"]) == (comparison, 0.7)


@pytest.mark.parametrize("native", [False, True])
def test_a_failed_monitor_run_alerts_the_monitors_recipients(native):
    """A failed run publishes no metric and the alarm treats missing data as fine: an EventBridge rule on the
    run's failure (a failed execution of the monitor's pipeline; with Model Monitor, a failed processing job
    of its schedule) publishes to the alert topic, named as the monitor's alarm so the same subscriptions
    deliver it (audit A14)."""
    body = psi_drift("      - type: alert\n        to: [ops@example.com]\n")
    if native:  # l_infinity on named features: SageMaker's analyzer
        body = body.replace("metric: psi", "features: [price]\n    metric: l_infinity")
    plan = monitors(body, target_extra=NATIVE if native else "")
    rule = plan.inputs(EVENT_RULE, "drift-failed")
    pattern = json.loads(rule["eventPattern"])
    if native:
        name = plan.one(MONITORING_SCHEDULE).inputs["name"]
        assert pattern == {
            "source": ["aws.sagemaker"],
            "detail-type": ["SageMaker Processing Job State Change"],
            "detail": {
                "ProcessingJobStatus": ["Failed"],
                "MonitoringScheduleArn": [f"arn:aws:sagemaker:us-east-1:123456789012:monitoring-schedule/{name}"],
            },
        }
    else:
        assert pattern == {
            "source": ["aws.sagemaker"],
            "detail-type": ["SageMaker Model Building Pipeline Execution Status Change"],
            "detail": {
                "currentPipelineExecutionStatus": ["Failed"],
                "pipelineArn": ["arn:aws:sagemaker:us-east-1:111122223333:pipeline/monitor-drift"],
            },
        }
    target = plan.inputs(EVENT_TARGET, "drift-failed-alert")
    assert target["inputTransformer"]["inputPaths"] == {
        "run": "$.detail.ProcessingJobName" if native else "$.detail.pipelineExecutionArn"
    }
    (topic,) = plan.all(TOPIC)
    assert target["arn"] == f"arn:aws:sns:us-east-1:111122223333:{topic.inputs['name']}" and "roleArn" not in target
    message = json.loads(target["inputTransformer"]["inputTemplate"].replace("<run>", "run-1"))
    alarm = plan.inputs(ALARM)["name"]
    # the e-mail subscription's filter lets it through: it names the monitor's alarm
    assert message["AlarmName"] == alarm
    assert json.loads(plan.inputs(SUBSCRIPTION)["filterPolicy"]) == {"AlarmName": [alarm]}
    (policy,) = [d for where, d in plan.policies() if where.startswith("aws:sns/topicPolicy")]
    (events,) = [s for s in policy["Statement"] if s["Principal"] == {"Service": "events.amazonaws.com"}]
    assert events["Condition"] == {
        "ArnLike": {"aws:SourceArn": [f"arn:aws:events:us-east-1:111122223333:rule/{rule['name']}"]},
        "StringEquals": {"aws:SourceAccount": "111122223333"},
    }
    # without an alert action there is nobody to tell
    quiet = monitors(psi_drift("      - type: rollback\n"))
    assert not quiet.all(EVENT_RULE)


def test_alert_to_an_existing_topic_and_a_webhook():
    topic = "arn:aws:sns:us-east-1:111122223333:oncall"
    plan = monitors(
        psi_drift(
            "      - type: alert\n        to: [arn:aws:sns:us-east-1:111122223333:team, https://hooks.example.com/ml]\n"
        ),
        target_extra=f"  alarm_topic: {topic}\n",
    )
    assert not plan.all(TOPIC)  # target.aws.alarm_topic is used instead
    assert plan.inputs(ALARM)["alarmActions"] == [topic, "arn:aws:sns:us-east-1:111122223333:team"]
    subscription = plan.inputs(SUBSCRIPTION)
    assert subscription["topic"] == topic
    assert (subscription["protocol"], subscription["endpoint"]) == ("https", "https://hooks.example.com/ml")
    assert json.loads(subscription["filterPolicy"]) == {"AlarmName": ["shop-drift"]}


def test_retrain_action_starts_the_pipeline_on_alarm():
    plan = monitors(psi_drift("      - type: retrain\n        pipeline: retrain\n"), rest=RETRAIN)
    assert plan.inputs(ALARM)["alarmActions"] == []
    rule = plan.inputs(EVENT_RULE, "retrain-on-drift")
    assert json.loads(rule["eventPattern"])["resources"] == [
        "arn:aws:cloudwatch:us-east-1:111122223333:alarm:shop-drift"
    ]
    target = plan.inputs(EVENT_TARGET, "retrain-on-drift-start")
    assert target["arn"] == "arn:aws:sagemaker:us-east-1:111122223333:pipeline/retrain"
    assert target["roleArn"] == "arn:aws:iam::111122223333:role/shop-pipeline-starter"
    assert target["sagemakerPipelineTarget"]["pipelineParameterLists"] == [
        {"name": "MlstackTrigger", "value": "alert:drift"}
    ]


def test_rollback_action_guards_the_endpoints_rollouts():
    plan = monitors(
        """\
  - name: quality
    kind: model_quality
    endpoint: ranker
    problem_type: regression
    ground_truth: s3://labels/
    metric: mae
    threshold: 3
    actions:
      - type: rollback
"""
    )
    config = plan.inputs(ENDPOINT)["deploymentConfig"]
    assert config["autoRollbackConfiguration"] == {"alarms": [{"alarmName": "shop-quality"}]}
    assert config["blueGreenUpdatePolicy"]["trafficRoutingConfiguration"]["type"] == "ALL_AT_ONCE"
    endpoint = plan.one(ENDPOINT)
    assert endpoint.parent == "mlstack:endpoint:Endpoint::ranker"
    assert plan.one(ALARM).parent == "mlstack:monitor:Monitor::quality"


def test_a_changed_job_definition_is_a_new_one_the_schedule_moves_to():
    body = (
        "  - name: drift\n    kind: data_drift\n    endpoint: ranker\n    baseline: s3://data/train.csv\n"
        "    features: [price]\n    metric: l_infinity\n    threshold: 0.2\n"
    )
    before = monitors(body, target_extra=NATIVE)
    rebased = monitors(body.replace("train.csv", "train-2.csv"), target_extra=NATIVE)
    retuned = monitors(body.replace("threshold: 0.2", "threshold: 0.3"), target_extra=NATIVE)
    names = [p.inputs(DATA_QUALITY_JOB)["name"] for p in (before, rebased, retuned)]
    assert names[0] != names[1] and names[0] == names[2]  # the threshold lives in the alarm, not the job
    assert schedule_config(rebased)["monitoringJobDefinitionName"] == names[1]
    assert before.one(DATA_QUALITY_JOB).name == rebased.one(DATA_QUALITY_JOB).name == "drift-job"
    for plan in (before, rebased):
        assert all("deleteBeforeReplace" not in r.options for r in plan.resources)
