"""Batch jobs on aws: a one-step SageMaker pipeline whose Transform step is a CreateTransformJob request
(checked by botocore's service model), the model it scores with, its schedule and the grants it needs."""

from __future__ import annotations

import json

import aws_requests
import pytest
from aws_plans import KEY, MODEL, PIPELINE, ROLE_POLICY, SCHEDULE, SPECS, Plan, plan_text

from mlstack.errors import SpecInvalid
from mlstack.plan import plan
from mlstack.resolve import resolve
from mlstack.spec import load

JOBS = """\
apiVersion: mlstack/v1
name: shop
owner: ml@example.com
target:
  cloud: aws
  region: us-east-1
  kms_key: {key}
  aws: {{account_id: "111122223333"}}
compute:
  cpu: {{vcpus: 4, memory_gb: 16}}
registry:
  model_groups:
    - name: ranker
      versions:
        - version: 1
          artifact: s3://models/ranker/1/
          framework: xgboost
          aliases: [champion]
batch_jobs:
  - name: nightly
    model: {{group: ranker, alias: champion}}
    input: {{uri: "s3://data/users/"}}
    output: s3://scores/nightly/
    format: {format}
    compute: cpu
    instance_count: 3
    schedule: "{schedule}"
    data_capture: {{sampling_percent: 100}}
"""


def jobs(format: str = "csv", schedule: str = "30 2 * * *") -> str:
    return JOBS.format(key=KEY, format=format, schedule=schedule)


def test_the_example_plans_a_transform_pipeline_with_its_model_and_schedule():
    planned = Plan(tuple(plan(resolve(load(SPECS / "batch-scoring.yaml", target="aws")))))
    definition = json.loads(planned.inputs(PIPELINE, "nightly-scores-batch")["pipelineDefinition"])
    (step,) = definition["Steps"]
    assert step["Type"] == "Transform"
    args = step["Arguments"]
    source = args["TransformInput"]["DataSource"]["S3DataSource"]
    assert source == {"S3DataType": "S3Prefix", "S3Uri": "s3://fraud-platform-data/baselines/training.csv"}
    assert args["TransformOutput"]["S3OutputPath"]["Std:Join"]["Values"][0] == (
        "s3://fraud-platform-data/batch-output/nightly-scores"
    )
    # the catalog's cheapest SKU with 4 vCPUs and 16 GiB, two of them
    assert args["TransformResources"] == {"InstanceCount": 2, "InstanceType": "ml.m5.xlarge"}
    assert args["ModelName"] == planned.inputs(MODEL)["name"]
    schedule = planned.inputs(SCHEDULE)
    assert schedule["scheduleExpression"] == "cron(0 2 * * ? *)"
    assert schedule["target"]["sagemakerPipelineParameters"]["pipelineParameters"] == [
        {"name": "MlstackTrigger", "value": "schedule"}
    ]


def test_the_transform_step_and_model_are_valid_api_requests():
    planned = plan_text(jobs())
    definition = json.loads(planned.inputs(PIPELINE)["pipelineDefinition"])
    operation, request = aws_requests.step_request(definition["Steps"][0])
    checked = aws_requests.validate("sagemaker", operation, request)
    assert checked["TransformResources"]["VolumeKmsKeyId"] == KEY
    assert checked["TransformOutput"]["KmsKeyId"] == KEY
    assert checked["DataCaptureConfig"] == {
        "DestinationS3Uri": "s3://scores/nightly-capture/",
        "GenerateInferenceId": True,
        "KmsKeyId": KEY,
    }
    assert checked["DataProcessing"]["JoinSource"] == "Input"
    model = aws_requests.validate("sagemaker", "CreateModel", aws_requests.model(planned.inputs(MODEL)))
    assert model["PrimaryContainer"]["ModelDataSource"]["S3DataSource"]["S3Uri"] == "s3://models/ranker/1/"


def test_grants_cover_reading_the_input_and_writing_output_and_capture():
    planned = plan_text(jobs())
    model_policy = json.loads(planned.inputs(ROLE_POLICY, "batch-nightly-policy")["policy"])
    resources = {
        (tuple(s["Action"]) if isinstance(s["Action"], list) else (s["Action"],), r)
        for s in model_policy["Statement"]
        for r in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])
    }
    assert (("s3:GetObject",), "arn:aws:s3:::data/users/*") in resources
    written = {r for actions, r in resources if "s3:PutObject" in actions}
    assert written == {"arn:aws:s3:::scores/nightly/*", "arn:aws:s3:::scores/nightly-capture/*"}
    pipeline_policy = json.loads(planned.inputs(ROLE_POLICY, "pipeline-batch-nightly-policy")["policy"])
    actions = {a for s in pipeline_policy["Statement"] for a in s["Action"]}
    assert {"sagemaker:CreateTransformJob", "iam:PassRole"} <= actions


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (jobs(format="parquet"), "batch_jobs[0].format: SageMaker Batch Transform splits its input by line"),
        (jobs().replace("s3://scores/nightly/", "gs://scores/"), "batch_jobs[0].output: Batch Transform reads and"),
    ],
)
def test_what_batch_transform_cannot_do_is_refused_located(text, fragment):
    with pytest.raises(SpecInvalid) as info:
        plan_text(text)
    assert any(fragment in e.render() for e in info.value.errors), [e.render() for e in info.value.errors]


def test_a_batch_scoring_step_is_the_jobs_transform_inside_the_pipeline():
    planned = Plan(tuple(plan(resolve(load(SPECS / "batch-scoring.yaml", target="aws")))))
    definition = json.loads(planned.inputs(PIPELINE, "checked-scores")["pipelineDefinition"])
    check, score = definition["Steps"]
    assert (check["Type"], score["Type"], score["DependsOn"]) == ("Processing", "Transform", ["check-input"])
    # the same CreateTransformJob as the job's own pipeline: its model, input, output, SKU and capture
    own = json.loads(planned.inputs(PIPELINE, "nightly-scores-batch")["pipelineDefinition"])["Steps"][0]
    assert score["Arguments"] == own["Arguments"]
    assert score["Arguments"]["ModelName"] == planned.inputs(MODEL)["name"]
    operation, request = aws_requests.step_request(score)
    checked = aws_requests.validate("sagemaker", operation, request)
    assert checked["TransformResources"] == {"InstanceCount": 2, "InstanceType": "ml.m5.xlarge"}
    # the whole definition is a valid CreatePipeline request, and the pipeline may start transform jobs
    aws_requests.validate("sagemaker", "CreatePipeline", aws_requests.pipeline(planned.inputs(PIPELINE, "checked-scores")))
    policy = json.loads(planned.inputs(ROLE_POLICY, "pipeline-checked-scores-policy")["policy"])
    granted = {(a, r) for s in policy["Statement"] for a in s["Action"] for r in s["Resource"]}
    assert ("sagemaker:CreateTransformJob", "arn:aws:sagemaker:us-east-1:123456789012:transform-job/pipelines-*") in granted
