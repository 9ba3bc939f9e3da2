"""A monitor as a one-step SageMaker pipeline: a Processing step running mlstack's monitor job
(`python3 -m mlstack.monitor_job`, mlstack/jobs/monitor.py) in the stack-built runtime image, started on
the monitor's schedule by an EventBridge Scheduler universal target (StartPipelineExecution).

This is how monitors run on SageMaker unless `target.aws.model_monitor` says the account has Model
Monitor, which AWS has closed to new customers: the job needs only Processing, Pipelines, S3 and
CloudWatch. It reads the endpoint's data capture of one window, the baseline and the labels from S3
itself, and publishes one CloudWatch datum that the monitor's alarm watches, so alerts, retraining and
rollback act as they would on Model Monitor's metrics.

The window is the `hours` of the monitor's schedule before the run's scheduled time, which Scheduler
passes as the pipeline parameter `WindowEnd` (`<aws.scheduler.scheduled-time>`, a context attribute it
fills in the target's Input); a run started by hand leaves it empty and covers the hours before now.

Pure data (json only): tests check the step against botocore's CreateProcessingJob and the Input
against StartPipelineExecution."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from mlstack.backends.aws.pipeline_definition import TRIGGER_PARAMETER
from mlstack.spec.models import Monitor

STEP = "evaluate"
WINDOW_END = "WindowEnd"
OUTPUT_PATH = "/opt/ml/processing/output"
MONITOR_JOB = ["python3", "-m", "mlstack.monitor_job"]
INSTANCE_TYPE = "ml.m5.xlarge"
VOLUME_GB = 20
MAX_RUNTIME = 1800  # below the length of the shortest (hourly) schedule
# Scheduler's context attributes (managing-schedule-context-attributes), filled in the Input per run.
SCHEDULED_TIME = "<aws.scheduler.scheduled-time>"
EXECUTION_ID = "<aws.scheduler.execution-id>"


@dataclass(frozen=True)
class Job:
    """What the plan knows about one monitor's run, once its Outputs have resolved."""

    monitor: Monitor
    threshold: float | None
    image: str
    role_arn: str
    captures: str  # s3:// prefix of the endpoint's data capture
    reports: str  # s3:// prefix the reports are uploaded under, one folder per execution
    hours: int
    namespace: str
    metric_name: str
    dimensions: dict[str, str]
    region: str
    kms_key: str | None = None
    network: dict[str, list[str]] | None = None  # subnets, security_groups


def environment(job: Job) -> dict[str, str]:
    monitor = job.monitor
    env = {
        "MLSTACK_MONITOR": monitor.name,
        "MLSTACK_KIND": monitor.kind,
        "MLSTACK_METRIC": monitor.metric,
        "MLSTACK_FEATURES": ",".join(monitor.features),
        "MLSTACK_CLOUDWATCH_NAMESPACE": job.namespace,
        "MLSTACK_CLOUDWATCH_METRIC": job.metric_name,
        "MLSTACK_CLOUDWATCH_DIMENSIONS": json.dumps(job.dimensions, sort_keys=True),
        # boto3 in the job reads the region from here: the platform's, whatever the container sets
        "AWS_DEFAULT_REGION": job.region,
    }
    if monitor.kind == "model_quality":
        assert monitor.ground_truth is not None and monitor.problem_type is not None  # spec rules
        env["MLSTACK_GROUND_TRUTH"] = monitor.ground_truth
        env["MLSTACK_PROBLEM_TYPE"] = monitor.problem_type
    else:
        assert monitor.baseline is not None  # spec rules: every other kind has one
        env["MLSTACK_BASELINE"] = monitor.baseline
    if job.threshold is not None:
        env["MLSTACK_THRESHOLD"] = repr(job.threshold)
    return env


def processing_arguments(job: Job) -> dict[str, Any]:
    """CreateProcessingJob without its name (SageMaker Pipelines names each run's job)."""
    cluster: dict[str, Any] = {"InstanceType": INSTANCE_TYPE, "InstanceCount": 1, "VolumeSizeInGB": VOLUME_GB}
    output: dict[str, Any] = {
        "Outputs": [
            {
                "OutputName": "reports",
                "AppManaged": False,
                "S3Output": {
                    "S3Uri": {
                        "Std:Join": {"On": "/", "Values": [job.reports, {"Get": "Execution.PipelineExecutionId"}]}
                    },
                    "LocalPath": OUTPUT_PATH,
                    "S3UploadMode": "EndOfJob",
                },
            }
        ]
    }
    if job.kms_key:
        cluster["VolumeKmsKeyId"] = job.kms_key
        output["KmsKeyId"] = job.kms_key
    arguments: dict[str, Any] = {
        "ProcessingResources": {"ClusterConfig": cluster},
        "AppSpecification": {
            "ImageUri": job.image,
            "ContainerEntrypoint": MONITOR_JOB,
            "ContainerArguments": [
                "--monitor",
                job.monitor.name,
                "--captures",
                job.captures,
                "--output",
                OUTPUT_PATH,
                "--hours",
                str(job.hours),
                "--end",
                {"Get": f"Parameters.{WINDOW_END}"},
            ],
        },
        "RoleArn": job.role_arn,
        "StoppingCondition": {"MaxRuntimeInSeconds": MAX_RUNTIME},
        "Environment": environment(job),
        "ProcessingOutputConfig": output,
    }
    if job.network:
        arguments["NetworkConfig"] = {
            "EnableNetworkIsolation": False,
            "EnableInterContainerTrafficEncryption": True,
            "VpcConfig": {"SecurityGroupIds": job.network["security_groups"], "Subnets": job.network["subnets"]},
        }
    return arguments


def definition(job: Job) -> str:
    """The pipeline definition (schema 2020-12-01), compact with sorted keys."""
    document = {
        "Version": "2020-12-01",
        "Metadata": {},
        "Parameters": [
            {"Name": WINDOW_END, "Type": "String", "DefaultValue": ""},
            {"Name": TRIGGER_PARAMETER, "Type": "String", "DefaultValue": "manual"},
        ],
        "PipelineExperimentConfig": {
            "ExperimentName": {"Get": "Execution.PipelineName"},
            "TrialName": {"Get": "Execution.PipelineExecutionId"},
        },
        "Steps": [{"Name": STEP, "Type": "Processing", "Arguments": processing_arguments(job)}],
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":"))


def start_input(pipeline_name: str) -> str:
    """The StartPipelineExecution request Scheduler sends per run. ClientRequestToken is required (32-128
    characters): the scheduled time (20) and the attempt's execution id make each attempt its own."""
    return json.dumps(
        {
            "PipelineName": pipeline_name,
            "ClientRequestToken": f"mlstack-{SCHEDULED_TIME}-{EXECUTION_ID}",
            "PipelineParameters": [
                {"Name": WINDOW_END, "Value": SCHEDULED_TIME},
                {"Name": TRIGGER_PARAMETER, "Value": "schedule"},
            ],
        },
        sort_keys=True,
    )
