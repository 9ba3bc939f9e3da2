"""Small specs, one per strategy and monitor kind, planned on Vertex under Pulumi's mocks."""

from __future__ import annotations

import json

import pytest
from conftest import plan_text

from mlstack.errors import SpecInvalid

BASE = """
apiVersion: mlstack/v1
name: shop
owner: team@example.com
target:
  cloud: gcp
  region: europe-west4
  gcp: {{project: shop-project-1, network: shop-vpc, subnet: shop-endpoints}}
compute:
  cpu: {{vcpus: 4, memory_gb: 16}}
registry:
  model_groups:
    - name: ranker
      versions:
        - {{version: 1, artifact: "gs://m/ranker/1/", framework: sklearn, aliases: [champion]}}
        - {{version: 2, artifact: "gs://m/ranker/2/", framework: sklearn, aliases: [challenger]}}
endpoints:
  - name: rank
    model: {{group: ranker, alias: champion}}
    compute: cpu
    data_capture: {{sampling_percent: 50}}
    strategy: {strategy}
{extra}
"""
DEPLOYMENT = "pulumi-python:dynamic/vertex:Deployment"


def plan(strategy: str, extra: str = ""):
    return plan_text(BASE.format(strategy=strategy, extra=extra))


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        ("{type: all_at_once}", {"type": "all_at_once"}),
        ("{type: blue_green, termination_wait: 2m}", {"type": "blue_green", "termination_wait": 120}),
        (
            "{type: canary, percent: 20, bake_time: 5m}",
            {"type": "canary", "percent": 20, "bake_time": 300, "termination_wait": 300},
        ),
        (
            "{type: linear, step_percent: 25, interval: 1m, rollback: {max_p99_latency_ms: 80}}",
            {
                "type": "linear",
                "step_percent": 25,
                "interval": 60,
                "termination_wait": 300,
                "rollback": {"max_p99_latency_ms": 80, "window": 300},
            },
        ),
    ],
)
def test_rollout_strategies_reach_the_deployment(strategy, expected):
    deployment = plan(strategy).inputs(DEPLOYMENT, "rank-deployment")
    assert deployment["strategy"] == expected
    (primary,) = deployment["variants"]
    assert primary["machine_type"] == "e2-standard-4" and "accelerator_type" not in primary
    assert (primary["min_replicas"], primary["max_replicas"]) == (1, 1)


def test_shadow_gets_a_companion_and_a_replay_in_the_region():
    p = plan("{type: shadow, challenger: {group: ranker, alias: challenger}, percent: 30}")
    assert p.names("gcp:vertex/aiEndpoint:AiEndpoint") == ["rank", "rank-shadow"]
    assert (
        p.inputs("gcp:vertex/aiEndpoint:AiEndpoint", "rank")["predictRequestResponseLoggingConfig"]["samplingRate"]
        == 0.5
    )
    replay = p.inputs("gcp:colab/schedule:Schedule", "rank-replay-schedule")
    assert replay["location"] == "europe-west4" and replay["cron"] == "5 * * * *"
    model = p.inputs("pulumi-python:dynamic/vertex:ModelVersion", "ranker-v2")
    assert model["image_uri"] == "europe-docker.pkg.dev/vertex-ai/prediction/sklearn-cpu.1-6:latest"


def test_ab_and_public_endpoint():
    p = plan_text(
        BASE.format(
            strategy="""
      type: ab
      variants:
        - {name: one, model: {group: ranker, version: 1}, weight: 70}
        - {name: two, model: {group: ranker, version: 2}, weight: 30}""",
            extra="",
        )
        .replace("    model: {group: ranker, alias: champion}\n", "")
        .replace("    compute: cpu\n", "    compute: cpu\n    public: true\n")
    )
    endpoint = p.inputs("gcp:vertex/aiEndpoint:AiEndpoint", "rank")
    assert "privateServiceConnectConfig" not in endpoint
    variants = p.inputs(DEPLOYMENT, "rank-deployment")["variants"]
    assert [(v["name"], v["weight"]) for v in variants] == [("one", 70), ("two", 30)]


def test_cpu_autoscaling_maps_to_vertex_metric_and_checks_percent():
    text = BASE.format(strategy="{type: all_at_once}", extra="").replace(
        "    data_capture:", "    autoscaling: {min: 1, max: 4, metric: cpu_utilization, target: 70}\n    data_capture:"
    )
    (variant,) = plan_text(text).inputs(DEPLOYMENT, "rank-deployment")["variants"]
    assert variant["autoscaling"] == [
        {"metric_name": "aiplatform.googleapis.com/prediction/online/cpu/utilization", "target": 70}
    ]
    assert (variant["min_replicas"], variant["max_replicas"]) == (1, 4)
    with pytest.raises(SpecInvalid, match="1-100"):
        plan_text(text.replace("target: 70", "target: 170"))


MONITORS = """
feature_store:
  entities: [{name: user, join_keys: [{name: user_id, dtype: int64}]}]
  views:
    - name: user-stats
      entity: user
      online: false
      source: {uri: "bq://shop-project-1.f.user_stats", timestamp_field: feature_timestamp}
      features: [{name: clicks, dtype: int64}, {name: country, dtype: string}]
monitors:
  - name: clicks-drift
    kind: data_drift
    endpoint: rank
    baseline: gs://m/train.csv
    features: [clicks]
    metric: jensen_shannon
    schedule: "0 */6 * * *"
  - name: country-drift
    kind: data_drift
    endpoint: rank
    baseline: gs://m/train.csv
    features: [country]
    metric: l_infinity
    threshold: 0.2
    schedule: "0 * * * *"
    actions: [{type: alert, to: ["https://hooks.example.com/x"]}]
  - name: quality
    kind: model_quality
    endpoint: rank
    problem_type: regression
    ground_truth: bq://shop-project-1.labels.rank
    metric: rmse
    threshold: 3
    schedule: "0 2 * * *"
"""


def test_monitor_kinds():
    p = plan("{type: all_at_once}", MONITORS)
    job = p.inputs("pulumi-python:dynamic/vertex:ModelDeploymentMonitoringJob", "rank-monitoring")
    assert job["skew_thresholds"] == {
        "clicks": 0.1,
        "country": 0.2,
    }  # no threshold: the registry default, as on every target
    assert job["interval_hours"] == 1 and job["sample_rate"] == 0.5
    assert job["training_dataset"] == {"gcs": "gs://m/train.csv", "format": "csv"}
    webhook = p.inputs("gcp:monitoring/notificationChannel:NotificationChannel", "country-drift-webhook-0")
    assert webhook["type"] == "webhook_tokenauth" and webhook["labels"] == {"url": "https://hooks.example.com/x"}
    assert p.inputs("gcp:colab/schedule:Schedule", "quality-schedule")["cron"] == "0 2 * * *"
    # monitors split by feature type name the array instance's features together, in spec order
    schema = p.inputs("gcp:storage/bucketObject:BucketObject", "rank-instance-schema")["content"]
    schema = schema.get("value", schema) if isinstance(schema, dict) else schema  # Pulumi's secret wrapper
    schema = schema if isinstance(schema, dict) else json.loads(schema)
    assert schema == {
        "type": "array",
        "properties": {"clicks": {"type": "number"}, "country": {"type": "string"}},
        "required": ["clicks", "country"],
    }
    assert not p.of("gcp:vertex/aiFeatureOnlineStore:AiFeatureOnlineStore")  # no online view
    group = p.inputs("gcp:vertex/aiFeatureGroup:AiFeatureGroup", "user-stats")
    assert group["bigQuery"]["bigQuerySource"]["inputUri"] == "bq://shop-project-1.f.user_stats"


def test_a_metric_vertex_would_not_compute_for_the_feature_is_a_located_error():
    wrong = MONITORS.replace(
        "features: [country]\n    metric: l_infinity", "features: [country]\n    metric: jensen_shannon"
    )
    with pytest.raises(SpecInvalid) as raised:
        plan("{type: all_at_once}", wrong)
    [error] = raised.value.errors
    assert error.path == ("monitors", 1, "features", 0) and error.line > 1
    assert "categorical feature 'country' with l_infinity" in error.message


def test_bigtable_online_store():
    text = (
        BASE.format(strategy="{type: all_at_once}", extra=MONITORS)
        .replace("feature_store:\n", "feature_store:\n  online_store: bigtable\n")
        .replace("      online: false\n", "")
    )
    store = plan_text(text).inputs("gcp:vertex/aiFeatureOnlineStore:AiFeatureOnlineStore", "online-store")
    assert store["bigtable"]["autoScaling"] == {"minNodeCount": 1, "maxNodeCount": 3, "cpuUtilizationTarget": 50}
    assert "optimized" not in store and "dedicatedServingEndpoint" not in store
