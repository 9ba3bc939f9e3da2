"""The second, independent check: planned resources as the AWS API requests they become, validated by
botocore against the services' own models.

Pulumi's inputs are camelCase and shaped by the provider; the API's are PascalCase. The conversion is
driven by the service model (a structure member matches a key case-insensitively, map keys stay as
they are) after a few explicit reshapings where the provider's shape differs from the API's (tags as a
map, single objects the API takes as lists, alarm metric queries). A key with no counterpart in the
model fails the conversion.

Validation is twofold: botocore.stub.Stubber on a real client (botocore's parameter validation and
serialisation; nothing leaves the process), and a walk over the same shapes for what botocore's
validator leaves out: enums, maximum lengths and values, and patterns."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import boto3
import botocore.session
from botocore.model import Shape
from botocore.stub import Stubber

Request = dict[str, Any]


@cache
def _model(service: str) -> Any:
    return botocore.session.get_session().get_service_model(service)


def input_shape(service: str, operation: str) -> Shape:
    return _model(service).operation_model(operation).input_shape


def convert(value: Any, shape: Shape, where: str = "") -> Any:
    """Pulumi-style keys to the API's member names, following the shape."""
    if shape.type_name == "structure":
        assert isinstance(value, dict), f"{where}: expected an object, got {value!r}"
        members = {name.lower(): name for name in shape.members}
        out = {}
        for key, item in value.items():
            if item is None:
                continue
            member = members.get(key.lower())
            assert member is not None, f"{where}.{key} has no counterpart in {shape.name}: {sorted(shape.members)}"
            out[member] = convert(item, shape.members[member], f"{where}.{member}")
        return out
    if shape.type_name == "list":
        assert isinstance(value, list), f"{where}: expected a list, got {value!r}"
        return [convert(item, shape.member, f"{where}[{i}]") for i, item in enumerate(value)]
    if shape.type_name == "map":
        return {key: convert(item, shape.value, f"{where}[{key}]") for key, item in value.items()}
    if shape.type_name in ("integer", "long") and isinstance(value, float) and value.is_integer():
        return int(value)
    if shape.type_name in ("float", "double") and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def strict_problems(value: Any, shape: Shape, where: str = "") -> list[str]:
    """Enum, length, range and pattern violations botocore's validator does not report."""
    problems: list[str] = []
    meta = shape.metadata
    if shape.type_name == "structure":
        for key, item in value.items():
            problems += strict_problems(item, shape.members[key], f"{where}.{key}")
    elif shape.type_name == "list":
        if "max" in meta and len(value) > meta["max"]:
            problems.append(f"{where}: {len(value)} items, at most {meta['max']}")
        for i, item in enumerate(value):
            problems += strict_problems(item, shape.member, f"{where}[{i}]")
    elif shape.type_name == "map":
        for key, item in value.items():
            problems += strict_problems(key, shape.key, f"{where} key")
            problems += strict_problems(item, shape.value, f"{where}[{key}]")
    elif shape.type_name == "string":
        if shape.enum and value not in shape.enum:
            problems.append(f"{where}: {value!r} is not one of {shape.name}'s values")
        if "max" in meta and len(value) > meta["max"]:
            problems.append(f"{where}: {len(value)} characters, at most {meta['max']}")
        pattern = _pattern(meta.get("pattern"))
        if pattern is not None and not pattern.fullmatch(value):
            problems.append(f"{where}: {value!r} does not match {meta['pattern']}")
    elif shape.type_name in ("integer", "long", "float", "double"):
        if "max" in meta and value > meta["max"]:
            problems.append(f"{where}: {value} is above {meta['max']}")
        if "min" in meta and value < meta["min"]:
            problems.append(f"{where}: {value} is below {meta['min']}")
    return problems


@cache
def _pattern(pattern: str | None) -> re.Pattern[str] | None:
    if not pattern:
        return None
    try:  # the models' patterns are Java regexes; the few Python cannot read are skipped
        return re.compile(pattern, re.DOTALL)
    except re.error:
        return None


@cache
def client(service: str) -> Any:
    return boto3.client(service, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")


def validate(service: str, operation: str, params: Request) -> Request:
    """Convert and validate `params` for `operation`; returns the API request."""
    shape = input_shape(service, operation)
    request = convert(params, shape, operation)
    problems = strict_problems(request, shape, operation)
    assert not problems, "\n".join(problems)
    api = client(service)
    method = _snake(operation)
    output = _model(service).operation_model(operation).output_shape
    with Stubber(api) as stub:
        stub.add_response(method, _minimal(output) if output else {}, expected_params=request)
        getattr(api, method)(**request)  # botocore validates and serialises the request here
        stub.assert_no_pending_responses()
    return request


def _minimal(shape: Shape) -> Any:
    """The smallest response the output shape accepts, for the stub to answer with."""
    if shape.type_name == "structure":
        return {name: _minimal(shape.members[name]) for name in shape.required_members}
    if shape.type_name == "list":
        return []
    if shape.type_name == "map":
        return {}
    if shape.type_name in ("integer", "long"):
        return 0
    if shape.type_name in ("float", "double"):
        return 0.0
    if shape.type_name == "boolean":
        return False
    return "x" * max(1, shape.metadata.get("min", 1))


def _snake(operation: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower()


# --- reshaping Pulumi inputs into API parameters ---------------------------------------------------


def tag_list(tags: dict[str, str] | None) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in sorted((tags or {}).items())]


def without(inputs: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in inputs.items() if k not in keys}


def endpoint_config(inputs: dict[str, Any]) -> Request:
    return {
        **without(inputs, "name", "tags", "kmsKeyArn"),
        "EndpointConfigName": inputs["name"],
        "KmsKeyId": inputs.get("kmsKeyArn"),
        "Tags": tag_list(inputs.get("tags")),
    }


def endpoint(inputs: dict[str, Any]) -> Request:
    return {**without(inputs, "name", "tags"), "EndpointName": inputs["name"], "Tags": tag_list(inputs.get("tags"))}


def update_endpoint(inputs: dict[str, Any]) -> Request:
    """The request a strategy rollout is: UpdateEndpoint to a new configuration with the deployment config."""
    return {**without(inputs, "name", "tags"), "EndpointName": inputs["name"]}


def model(inputs: dict[str, Any]) -> Request:
    container = dict(inputs["primaryContainer"])
    if "modelDataSource" in container:  # the provider's one-item list is the API's single S3DataSource
        (source,) = container.pop("modelDataSource")["s3DataSources"]
        container["ModelDataSource"] = {"S3DataSource": source}
    return {
        **without(inputs, "name", "tags", "primaryContainer"),
        "ModelName": inputs["name"],
        "PrimaryContainer": container,
        "Tags": tag_list(inputs.get("tags")),
    }


def tracking_server(inputs: dict[str, Any]) -> Request:
    return {**without(inputs, "tags"), "Tags": tag_list(inputs.get("tags"))}


def feature_group(inputs: dict[str, Any]) -> Request:
    return {**without(inputs, "tags"), "Tags": tag_list(inputs.get("tags"))}


def _job_definition(definition: dict[str, Any]) -> dict[str, Any]:
    """The provider's inline monitoring job definition as the API's MonitoringJobDefinition."""
    app = dict(definition["monitoringAppSpecification"])
    if "containerEntrypoints" in app:
        app["ContainerEntrypoint"] = app.pop("containerEntrypoints")
    output = dict(definition["monitoringOutputConfig"])
    output["monitoringOutputs"] = [output["monitoringOutputs"]]
    found = {
        **without(definition, "monitoringAppSpecification", "monitoringInputs", "monitoringOutputConfig"),
        "MonitoringAppSpecification": app,
        "MonitoringInputs": [definition["monitoringInputs"]],
        "MonitoringOutputConfig": output,
    }
    if "stoppingConditions" in found:
        (found["StoppingCondition"],) = found.pop("stoppingConditions")
    return found


def monitoring_schedule(inputs: dict[str, Any]) -> Request:
    config = dict(inputs["monitoringScheduleConfig"])
    if "monitoringJobDefinition" in config:
        config["monitoringJobDefinition"] = _job_definition(config["monitoringJobDefinition"])
    return {
        "MonitoringScheduleName": inputs["name"],
        "MonitoringScheduleConfig": config,
        "Tags": tag_list(inputs.get("tags")),
    }


def data_quality_job(inputs: dict[str, Any]) -> Request:
    output = dict(inputs["dataQualityJobOutputConfig"])
    output["monitoringOutputs"] = [output["monitoringOutputs"]]
    return {
        **without(inputs, "name", "tags", "dataQualityJobOutputConfig"),
        "JobDefinitionName": inputs["name"],
        "DataQualityJobOutputConfig": output,
        "Tags": tag_list(inputs.get("tags")),
    }


def model_quality_job(inputs: dict[str, Any]) -> Request:
    # pulumi_aws_native names the endpoint at the top too (a CloudFormation-only property).
    return without(inputs, "endpointName")


def metric_alarm(inputs: dict[str, Any]) -> Request:
    def dimensions(found: dict[str, str] | None) -> list[dict[str, str]] | None:
        return [{"Name": k, "Value": v} for k, v in sorted(found.items())] if found else None

    request = {
        **without(inputs, "name", "tags", "dimensions", "metricQueries"),
        "AlarmName": inputs["name"],
        "Dimensions": dimensions(inputs.get("dimensions")),
        "Tags": tag_list(inputs.get("tags")),
    }
    if "metricQueries" in inputs:
        queries = []
        for query in inputs["metricQueries"]:
            query = dict(query)
            metric = query.pop("metric", None)
            if metric:
                query["MetricStat"] = {
                    "Metric": {
                        "Namespace": metric["namespace"],
                        "MetricName": metric["metricName"],
                        "Dimensions": dimensions(metric.get("dimensions")),
                    },
                    "Period": metric["period"],
                    "Stat": metric["stat"],
                }
            queries.append(query)
        request["Metrics"] = queries
    return request


def scalable_target(inputs: dict[str, Any]) -> Request:
    return dict(inputs)


def scaling_policy(inputs: dict[str, Any]) -> Request:
    return {**without(inputs, "name"), "PolicyName": inputs["name"]}


def schedule(inputs: dict[str, Any]) -> Request:
    target = dict(inputs["target"])
    parameters = target.pop("sagemakerPipelineParameters", None)
    if parameters:
        target["SageMakerPipelineParameters"] = {"PipelineParameterList": parameters["pipelineParameters"]}
    return {**without(inputs, "target"), "Target": target}


def event_rule(inputs: dict[str, Any]) -> Request:
    return {**without(inputs, "tags"), "Tags": tag_list(inputs.get("tags"))}


def event_targets(inputs: dict[str, Any], target_id: str) -> Request:
    target = {"Id": target_id, "Arn": inputs["arn"]}
    if "roleArn" in inputs:  # an SNS target publishes under the topic's policy, without a role
        target["RoleArn"] = inputs["roleArn"]
    if "inputTransformer" in inputs:
        transformer = inputs["inputTransformer"]
        target["InputTransformer"] = {
            "InputPathsMap": transformer["inputPaths"],
            "InputTemplate": transformer["inputTemplate"],
        }
    if "sagemakerPipelineTarget" in inputs:
        target["SageMakerPipelineParameters"] = {
            "PipelineParameterList": inputs["sagemakerPipelineTarget"]["pipelineParameterLists"]
        }
    return {"Rule": inputs["rule"], "Targets": [target]}


def pipeline(inputs: dict[str, Any]) -> Request:
    return {
        **without(inputs, "tags"),
        "ClientRequestToken": "mlstack-plan-check-0000000000000000000000",
        "Tags": tag_list(inputs.get("tags")),
    }


# --- pipeline steps --------------------------------------------------------------------------------

PLACEHOLDER = "s3://placeholder/resolved-at-run-time"
STEP_OPERATIONS = {
    "Processing": ("CreateProcessingJob", "ProcessingJobName"),
    "Training": ("CreateTrainingJob", "TrainingJobName"),
    "RegisterModel": ("CreateModelPackage", None),
    "Transform": ("CreateTransformJob", "TransformJobName"),
}


def resolve_expressions(value: Any) -> Any:
    """Pipeline expressions ({"Get": ...}, {"Std:Join": ...}, {"Std:JsonGet": ...}) as the strings they
    evaluate to at run time."""
    if isinstance(value, dict):
        if set(value) & {"Get", "Std:Join", "Std:JsonGet"}:
            return PLACEHOLDER
        return {k: resolve_expressions(v) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_expressions(v) for v in value]
    return value


def step_request(step: dict[str, Any]) -> tuple[str, Request]:
    operation, name_field = STEP_OPERATIONS[step["Type"]]
    request = resolve_expressions(step["Arguments"])
    if name_field:
        request[name_field] = f"pipelines-check-{step['Name']}"[:63]
    return operation, request
