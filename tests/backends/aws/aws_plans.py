"""Planning specs on the aws target under Pulumi's mocks, and finding resources in the plan."""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from mlstack.plan import PlannedResource, plan
from mlstack.resolve import resolve
from mlstack.spec import load, loads

SPECS = Path(__file__).resolve().parents[3] / "specs"

MODEL = "aws:sagemaker/model:Model"
CONFIG = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
ENDPOINT = "aws:sagemaker/endpoint:Endpoint"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
SCALING_TARGET = "aws:appautoscaling/target:Target"
SCALING_POLICY = "aws:appautoscaling/policy:Policy"
SCALING_RELEASE = "pulumi-python:dynamic/sagemaker:ScalingRelease"
FEATURE_GROUP = "aws:sagemaker/featureGroup:FeatureGroup"
MONITORING_SCHEDULE = "aws:sagemaker/monitoringSchedule:MonitoringSchedule"
DATA_QUALITY_JOB = "aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition"
MODEL_QUALITY_JOB = "aws-native:sagemaker:ModelQualityJobDefinition"
PIPELINE = "aws:sagemaker/pipeline:Pipeline"
SCHEDULE = "aws:scheduler/schedule:Schedule"
EVENT_RULE = "aws:cloudwatch/eventRule:EventRule"
EVENT_TARGET = "aws:cloudwatch/eventTarget:EventTarget"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
BUCKET = "aws:s3/bucket:Bucket"
TOPIC = "aws:sns/topic:Topic"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
PACKAGE_GROUP = "aws:sagemaker/modelPackageGroup:ModelPackageGroup"
PACKAGE_GROUP_POLICY = "aws:sagemaker/modelPackageGroupPolicy:ModelPackageGroupPolicy"
TRACKING_SERVER = "aws:sagemaker/mlflowTrackingServer:MlflowTrackingServer"

ACCOUNT = "111122223333"
KEY = "arn:aws:kms:us-east-1:111122223333:key/0e5b2c3a-1111-2222-3333-444455556666"

# A small platform the tests vary: one model group with a CPU and a GPU profile, one endpoint.
BASE = """\
apiVersion: mlstack/v1
name: shop
owner: ml@example.com
target:
  cloud: aws
  region: us-east-1
  aws:
    account_id: "111122223333"
{target_extra}
compute:
  cpu:
    instance_type: ml.m5.large
  gpu:
    instance_type: ml.g4dn.xlarge
registry:
  model_groups:
    - name: ranker
      versions:
        - version: 1
          artifact: s3://models/ranker/1/model.tar.gz
          framework: xgboost
          aliases: [champion]
          metrics:
            auc: 0.9
        - version: 2
          artifact: s3://models/ranker/2/model.tar.gz
          framework: pytorch
          aliases: [challenger]
endpoints:
{endpoints}
{rest}
"""

ENDPOINT_YAML = """\
- name: ranker
  model: {group: ranker, alias: champion}
  compute: cpu
  data_capture:
    sampling_percent: 50
"""

ROLLBACK = """\
    rollback:
      max_error_rate: 0.05
      max_p99_latency_ms: 120
      window: 2m
"""


def endpoint_with(strategy: str) -> str:
    """The base endpoint on four instances with this strategy (YAML indented under `strategy:`)."""
    return f"""\
- name: ranker
  model: {{group: ranker, alias: champion}}
  compute: cpu
  instance_count: 4
  data_capture:
    sampling_percent: 50
  strategy:
{strategy}"""


MONITORED = """\
monitors:
  - name: drift
    kind: data_drift
    endpoint: ranker
    baseline: s3://data/train.csv
    features: [price]
    metric: l_infinity
    actions: [{type: alert, to: [ops@example.com]}]
  - name: quality
    kind: model_quality
    endpoint: ranker
    problem_type: regression
    ground_truth: s3://labels/
    metric: mae
"""


@dataclass(frozen=True)
class Plan:
    resources: tuple[PlannedResource, ...]

    def all(self, typ: str) -> list[PlannedResource]:
        return [r for r in self.resources if r.type == typ]

    def one(self, typ: str, name: str | None = None) -> PlannedResource:
        found = [r for r in self.all(typ) if name is None or r.name == name]
        assert len(found) == 1, f"{len(found)} {typ} named {name}: {[r.name for r in self.all(typ)]}"
        return found[0]

    def inputs(self, typ: str, name: str | None = None) -> dict[str, Any]:
        return self.one(typ, name).inputs

    def children(self, parent: str) -> list[PlannedResource]:
        return [r for r in self.resources if r.parent == parent]

    def policies(self) -> list[tuple[str, dict[str, Any]]]:
        """Every IAM-style policy document in the plan, parsed, with where it comes from."""
        found = []
        for r in self.resources:
            for key in ("policy", "assumeRolePolicy", "resourcePolicy"):
                if isinstance(r.inputs.get(key), str):
                    found.append((f"{r.type}::{r.name}.{key}", json.loads(r.inputs[key])))
        return found


def spec_text(endpoints: str = ENDPOINT_YAML, rest: str = "", target_extra: str = "") -> str:
    return BASE.format(
        endpoints=textwrap.indent(endpoints, "  "),
        rest=rest,
        target_extra=textwrap.indent(target_extra, "  "),
    )


def plan_text(text: str, env: str | None = None) -> Plan:
    return Plan(tuple(plan(resolve(loads(text, env=env, target="aws")))))


@cache
def fraud(env: str | None = None) -> Plan:
    return Plan(tuple(plan(resolve(load(SPECS / "fraud-detection.yaml", env=env, target="aws")))))
