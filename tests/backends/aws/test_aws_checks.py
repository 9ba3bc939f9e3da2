"""What SageMaker would refuse at deploy time is refused at plan time, located in the spec."""

from __future__ import annotations

from pathlib import Path

import pytest
from aws_plans import plan_text, spec_text

from mlstack.backends.aws.cron import eventbridge_cron
from mlstack.errors import MlstackError, SpecInvalid

ENDPOINT = "- name: ranker\n  model: {group: ranker, alias: champion}\n  compute: cpu\n"
CAPTURED = ENDPOINT + "  data_capture: {sampling_percent: 10}\n"
PIPELINE = """\
pipelines:
  - name: fit
    image: 111122223333.dkr.ecr.us-east-1.amazonaws.com/fit:1
    steps:
      - {name: train, kind: training, entrypoint: train.py}
"""


def problems(text: str) -> list[tuple[str, str, int]]:
    with pytest.raises(SpecInvalid) as caught:
        plan_text(text)
    return [(".".join(map(str, e.path)), e.message, e.line) for e in caught.value.errors]


def only(text: str) -> tuple[str, str, int]:
    (found,) = problems(text)
    return found


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_a_model_artifact_outside_s3():
    text = spec_text().replace("s3://models/ranker/1/model.tar.gz", "gs://models/ranker/1/model.tar.gz")
    path, message, line = only(text)
    assert path == "registry.model_groups.0.versions.0.artifact"
    assert message == "SageMaker loads model artifacts from S3: give an s3:// URI"
    assert line == line_of(text, "gs://models")


def test_an_image_outside_ecr_and_a_framework_without_an_image():
    text = spec_text().replace(
        "          framework: xgboost\n", "          framework: xgboost\n          image: docker.io/acme/ranker:1\n"
    )
    assert only(text)[:2] == (
        "registry.model_groups.0.versions.0.image",
        "'docker.io/acme/ranker:1' is not an Amazon ECR image; SageMaker runs images from ECR "
        "(<account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>)",
    )
    text = spec_text().replace("framework: xgboost", "framework: custom")
    assert only(text)[:2] == (
        "registry.model_groups.0.versions.0.framework",
        "endpoint 'ranker' serves ranker@champion on ml.m5.large: SageMaker publishes no serving image for "
        "custom models; set `image` to a serving container",
    )


def test_a_gpu_endpoint_gets_a_gpu_image_or_a_located_error():
    gpu = spec_text().replace("  compute: cpu\n", "  compute: gpu\n")
    path, message, line = only(gpu.replace("framework: xgboost", "framework: sklearn"))
    assert path == "registry.model_groups.0.versions.0.framework"
    assert message.startswith(
        "endpoint 'ranker' serves ranker@champion on ml.g4dn.xlarge (1 T4 GPU): SageMaker publishes no GPU "
        "serving image for sklearn (only sagemaker-scikit-learn:1.2-1-cpu-py3); "
    )
    assert "framework onnx" in message
    assert line == line_of(gpu, "framework: xgboost")
    wrong_version = gpu.replace("framework: xgboost", "framework: pytorch\n          framework_version: '1.0'")
    assert only(wrong_version)[1] == (
        "endpoint 'ranker' serves ranker@champion on ml.g4dn.xlarge (1 T4 GPU): SageMaker publishes pytorch "
        "serving images for versions 2.6.0, 2.5.1, not 1.0"
    )


def test_only_versions_an_endpoint_serves_are_checked():
    # version 2 is declared but not served: its framework needs no image on SageMaker
    plan_text(spec_text().replace("framework: pytorch", "framework: custom"))


def test_sharing_needs_account_ids():
    text = spec_text().replace("    - name: ranker\n", "    - name: ranker\n      share_with: [analytics]\n", 1)
    assert only(text)[:2] == (
        "registry.model_groups.0.share_with.0",
        "'analytics' is not an AWS account id (12 digits); SageMaker shares model groups with accounts",
    )


def test_feature_views():
    views = """\
feature_store:
  entities: [{name: user, join_keys: [{name: user_id, dtype: int64}]}]
  views:
    - name: nowhere
      entity: user
      online: false
      offline: false
      source: {uri: s3://data/users/, timestamp_field: ts}
      features: [{name: is_deleted, dtype: bool}, {name: _private, dtype: int32}]
"""
    found = problems(spec_text(rest=views))
    assert [(p, m) for p, m, _ in found] == [
        ("feature_store.views.0.online", "a SageMaker feature group needs an online or an offline store (or both)"),
        ("feature_store.views.0.features.0.name", "'is_deleted' is reserved by SageMaker Feature Store"),
        (
            "feature_store.views.0.features.1.name",
            "SageMaker feature names are 1-64 letters, digits, - and _, starting and ending with a letter or digit",
        ),
    ]


@pytest.mark.parametrize(
    ("edit", "path", "message"),
    [
        (
            lambda t: t.replace("image: 111122223333.dkr.ecr.us-east-1.amazonaws.com/fit:1", "image: ghcr.io/a/fit:1"),
            "pipelines.0.image",
            "'ghcr.io/a/fit:1' is not an Amazon ECR image",
        ),
        (
            lambda t: t.replace("  - name: fit\n", "  - name: fit\n    schedule: '0 0 1 * 1'\n"),
            "pipelines.0.schedule",
            "'0 0 1 * 1' restricts both the day of the month and the day of the week",
        ),
        (
            lambda t: t.replace("  - name: fit\n", "  - name: fit\n    parameters: {'learning rate': 0.1}\n"),
            "pipelines.0.parameters.learning rate",
            "SageMaker pipeline parameter names are letters, digits, - and _",
        ),
        (
            lambda t: t.replace(
                "      - {name: train, kind: training, entrypoint: train.py}",
                "      - {name: prep, kind: processing, entrypoint: prep.py}\n"
                "      - {name: register, kind: registration, model_group: ranker}",
            ),
            "pipelines.0.steps.1.kind",
            "a registration step on SageMaker registers a training step's model",
        ),
        (
            lambda t: t.replace(
                "entrypoint: train.py}", "entrypoint: train.py, compute: {instance_type: ml.c5.large}}"
            ),
            "pipelines.0.steps.0.compute",
            "SageMaker training jobs do not run on ml.c5.large",
        ),
    ],
    ids=["image", "schedule", "parameter", "registration", "instance"],
)
def test_pipelines(edit, path, message):
    found = only(spec_text(rest=edit(PIPELINE)))
    assert found[0] == path and found[1].startswith(message)


def test_a_trigger_on_a_monitor_that_never_alarms():
    monitors = """\
monitors:
  - name: quality
    kind: model_quality
    endpoint: ranker
    problem_type: regression
    ground_truth: s3://labels/
    metric: mae
"""
    text = spec_text(
        CAPTURED,
        rest=PIPELINE.replace("  - name: fit\n", "  - name: fit\n    triggers: [{on_alert: quality}]\n") + monitors,
    )
    assert only(text)[:2] == (
        "pipelines.0.triggers.0.on_alert",
        "monitor 'quality' has no threshold, so it never alarms: give it one to trigger on",
    )


@pytest.mark.parametrize(
    ("endpoint", "path", "message"),
    [
        (
            ENDPOINT + "  strategy: {type: linear, step_percent: 5}\n",
            "endpoints.0.strategy.step_percent",
            "SageMaker shifts 10-50% of capacity per linear step",
        ),
        (
            ENDPOINT + "  autoscaling: {min: 0, max: 2, target: 10}\n",
            "endpoints.0.autoscaling.min",
            "SageMaker real-time endpoint variants scale between 1 and max instances; only asynchronous",
        ),
        (ENDPOINT + "  auth: key\n", "endpoints.0.auth", "SageMaker endpoints authenticate callers with IAM"),
        (
            "- name: ranker\n  model: {group: ranker, alias: champion}\n  serverless: {memory_gb: 2, max_concurrency: 5}\n"
            "  data_capture: {sampling_percent: 5}\n",
            "endpoints.0.data_capture",
            "SageMaker serverless endpoints cannot capture data",
        ),
        (
            ENDPOINT + "  data_capture: {destination: 'gs://captures/'}\n",
            "endpoints.0.data_capture.destination",
            "SageMaker captures data to S3",
        ),
    ],
    ids=["linear", "scale-to-zero", "keys", "serverless-capture", "capture-outside-s3"],
)
def test_endpoints(endpoint, path, message):
    found = only(spec_text(endpoint))
    assert found[0] == path and found[1].startswith(message)


def test_at_most_ten_rollback_alarms():
    rollback = (
        "  strategy:\n    type: canary\n    percent: 10\n    rollback: {max_error_rate: 0.1, max_p99_latency_ms: 90}\n"
    )
    monitors = "monitors:\n" + "".join(
        f"  - {{name: q{i}, kind: model_quality, endpoint: ranker, problem_type: regression, "
        f"ground_truth: 's3://labels/', metric: mae, threshold: 1, actions: [{{type: rollback}}]}}\n"
        for i in range(9)
    )
    found = only(spec_text(CAPTURED + rollback, rest=monitors))
    assert found[:2] == (
        "endpoints.0.strategy",
        "SageMaker auto-rollback takes at most 10 alarms; this endpoint has 11",
    )


@pytest.mark.parametrize(
    ("monitor", "path", "message"),
    [
        (
            "{name: m, kind: data_drift, endpoint: ranker, baseline: 'gs://data/train.csv', metric: psi}",
            "monitors.0.baseline",
            "SageMaker monitoring jobs read the baseline from S3",
        ),
        (
            "{name: m, kind: model_quality, endpoint: ranker, problem_type: regression, metric: mae, threshold: 2}",
            "monitors.0.ground_truth",
            "SageMaker model-quality monitoring reads labels from an s3:// URI",
        ),
        (
            "{name: m, kind: model_quality, endpoint: ranker, problem_type: multiclass_classification, "
            "ground_truth: 's3://labels/', metric: auc}",
            "monitors.0.metric",
            "SageMaker reports no 'auc' for multiclass_classification; it offers: accuracy, precision, recall, f1",
        ),
        (
            "{name: m, kind: data_quality, endpoint: ranker, baseline: 's3://d/t.csv', metric: null_rate, "
            "actions: [{type: alert, to: [ops@example.com]}]}",
            "monitors.0.threshold",
            "'null_rate' has no default threshold: set one so the actions can fire",
        ),
        (
            "{name: m, kind: data_drift, endpoint: ranker, baseline: 's3://d/t.csv', metric: psi, "
            "actions: [{type: alert, to: [pager]}]}",
            "monitors.0.actions.0.to.0",
            "'pager' is not an e-mail address, an https:// URL or an SNS topic ARN",
        ),
    ],
    ids=["baseline", "labels", "metric", "threshold", "recipient"],
)
def test_monitors(monitor, path, message):
    found = only(spec_text(CAPTURED, rest=f"monitors:\n  - {monitor}\n"))
    assert found[0] == path and found[1].startswith(message)


def test_default_images_are_known_only_in_some_regions():
    text = spec_text().replace("region: us-east-1", "region: af-south-1")
    path, message, _ = only(text)
    assert path == "target.region"
    assert message.startswith("mlstack knows SageMaker's own images only in us-east-1, ")
    assert message.endswith("in af-south-1 set images for: model versions without image")


def test_every_problem_is_reported_at_once():
    text = spec_text(ENDPOINT + "  auth: key\n  autoscaling: {min: 0, max: 2, target: 10}\n").replace(
        "framework: xgboost", "framework: custom"
    )
    assert len(problems(text)) == 3


@pytest.mark.parametrize(
    ("cron", "expected"),
    [
        ("0 3 * * 1", "cron(0 3 ? * MON *)"),
        ("0 6 * * *", "cron(0 6 * * ? *)"),
        ("*/15 * * * *", "cron(0,15,30,45 * * * ? *)"),
        ("30 2 1 * *", "cron(30 2 1 * ? *)"),
        ("0 0 * * 0,7", "cron(0 0 ? * SUN *)"),
        ("0 0 * * 5-7", "cron(0 0 ? * SUN,FRI,SAT *)"),
        ("0 12 * 1-3 mon-fri", "cron(0 12 ? 1,2,3 MON,TUE,WED,THU,FRI *)"),
    ],
)
def test_eventbridge_cron(cron, expected):
    assert eventbridge_cron(cron) == expected


def test_eventbridge_cron_refuses_what_it_cannot_say():
    with pytest.raises(MlstackError, match="only one of them"):
        eventbridge_cron("0 0 13 * 5")


def test_an_encrypted_alert_topic_warns_what_the_users_key_policy_must_grant():
    """The key is the user's: validation names the key-policy statement CloudWatch needs, at the key."""
    from mlstack.validate import check_file

    spec = Path(__file__).parents[3] / "specs" / "fraud-detection.yaml"
    report = check_file(spec, env="prod", target="aws")
    assert not report.errors
    (warning,) = [w for w in report.warnings if "cloudwatch.amazonaws.com" in w.message]
    assert warning.path == ("target", "aws", "kms_key")
    assert warning.line == line_of(spec.read_text(), "kms_key: arn:aws:kms")
    assert '"Action": ["kms:Decrypt", "kms:GenerateDataKey*"]' in warning.message
    assert '{"Service": ["cloudwatch.amazonaws.com", "events.amazonaws.com"]}' in warning.message
    # without a key, or with the user's own topic, there is nothing to grant
    assert not [w for w in check_file(spec, target="aws").warnings if "key policy" in w.message]


def test_only_monitors_that_run_on_model_monitor_say_it_is_closed_to_new_accounts():
    """By default no monitor needs Model Monitor (audit A1): nothing to warn about. An account that opts in
    with target.aws.model_monitor is told, at each monitor Model Monitor runs, what happens where it was
    never used; the rest keep running mlstack's evaluator."""
    from mlstack.spec.yaml_loader import parse
    from mlstack.validate import check, check_file

    spec = Path(__file__).parents[3] / "specs" / "fraud-detection.yaml"
    assert not [w for w in check_file(spec, target="aws").warnings if "closed to new customers" in w.message]
    text = spec.read_text()
    aws_root = "    data_root: s3://fraud-platform-data\n"
    opted = text.replace(aws_root, aws_root + "    model_monitor: true\n", 1)
    report = check(parse(opted, str(spec)), target="aws")
    notices = [w for w in report.warnings if "closed to new customers" in w.message]
    # only model_quality runs on Model Monitor: jensen_shannon and null_rate over all columns it cannot compute
    assert [w.path for w in notices] == [("monitors", 3)]
    assert notices[0].line == line_of(opted, "- name: scorer-accuracy")
    assert "fails at CreateMonitoringSchedule" in notices[0].message
    assert "without target.aws.model_monitor it runs mlstack's own evaluator" in notices[0].message


def test_a_daily_rollback_alarm_warns_that_it_judges_the_serving_model_not_the_rollout():
    """Audit A9: the fraud spec's daily model-quality monitor rolls back deployments; its alarm changes once a
    day, so during a rollout (at most an hour between steps) it says what it said of the serving model."""
    from mlstack.validate import check_file

    spec = Path(__file__).parents[3] / "specs" / "fraud-detection.yaml"
    report = check_file(spec, target="aws")
    (found,) = [w for w in report.warnings if "never judges the new model" in w.message]
    assert found.path == ("monitors", 3, "actions", 0)
    assert found.line == line_of(spec.read_text(), "- type: rollback")
    assert "runs every 24 h" in found.message and "fraud-scorer" in found.message
    # an hourly monitor changes within a rollout's watch: no warning
    hourly = spec.read_text().replace('schedule: "0 4 * * *"', 'schedule: "0 * * * *"')
    from mlstack.spec.yaml_loader import parse
    from mlstack.validate import check

    assert not [w for w in check(parse(hourly, str(spec)), target="aws").warnings if "never judges" in w.message]
