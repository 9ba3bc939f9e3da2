"""Validation beyond types: every rule reports file:line:col, the field path and what was expected."""

import re

import pytest

from mlstack.errors import SpecInvalid
from mlstack.spec import load, loads
from tests.conftest import EXAMPLE_SPECS

BASE = """\
apiVersion: mlstack/v1
name: shop
owner: team@example.com
target:
  cloud: {cloud}
  region: us-east-1
  aws: {{data_root: "s3://shop-data"}}
  gcp: {{project: shop-project, data_root: "gs://shop-data", network: shop-vpc}}
  azure:
    subscription_id: 00000000-1111-2222-3333-444444444444
    resource_group: rg
    workspace: shop-ws
    data_root: azureml://datastores/workspaceblobstore/paths/shop
compute:
  cpu: {{vcpus: 2}}
registry:
  model_groups:
    - name: recs
      approval: auto
      versions:
        - version: 1
          artifact: models/recs/1/
          aliases: [champion]
        - version: 2
          artifact: models/recs/2/
          aliases: [challenger]
endpoints:
  - name: {endpoint}
    model: {{group: recs, alias: champion}}
    compute: cpu
    data_capture: {{sampling_percent: 10}}
    strategy:
{strategy}
monitors:
  - name: drift
    kind: data_drift
    endpoint: {endpoint}
    baseline: baselines/recs.csv
    metric: {metric}
    schedule: "{schedule}"
"""

DEFAULTS = dict(cloud="aws", endpoint="recs-api", strategy="      type: all_at_once", metric="ks", schedule="0 * * * *")


def spec_text(**overrides: str) -> str:
    return BASE.format(**{**DEFAULTS, **overrides})


def errors_of(text: str, target: str | None = None) -> list[str]:
    with pytest.raises(SpecInvalid) as info:
        loads(text, "shop.yaml", target=target)
    rendered = [e.render() for e in info.value.errors]
    for line in rendered:
        assert re.match(r"^shop\.yaml:\d+:\d+: ", line), line
    return rendered


@pytest.mark.parametrize("path", EXAMPLE_SPECS, ids=lambda p: p.name)
def test_example_specs_are_valid(path):
    loaded = load(path)
    assert loaded.spec.apiVersion == "mlstack/v1"


@pytest.mark.parametrize("target", ["aws", "gcp", "azure", "local"])
@pytest.mark.parametrize("env", [None, "dev", "prod"])
def test_fraud_detection_is_valid_on_every_target_and_environment(target, env):
    loaded = load("specs/fraud-detection.yaml", env=env, target=target)
    assert loaded.cloud == target


def test_base_text_is_valid():
    assert loads(spec_text(), "shop.yaml").cloud == "aws"


def test_unknown_key_suggests_the_close_one():
    text = spec_text().replace("    compute: cpu\n", "    compute: cpu\n    instance_cuont: 2\n")
    [error] = errors_of(text)
    assert "endpoints[0].instance_cuont: unknown key 'instance_cuont' (did you mean 'instance_count'?)" in error
    line = text.splitlines().index("    instance_cuont: 2") + 1
    assert error.startswith(f"shop.yaml:{line}:5:")


def test_unknown_enum_value_lists_choices_and_suggests():
    [error] = errors_of(spec_text(cloud="asw"))
    assert "target.cloud" in error and "did you mean 'aws'" in error and "aws, gcp, azure, local" in error


def test_wrong_type_says_what_was_expected():
    text = spec_text().replace("sampling_percent: 10", "sampling_percent: lots")
    [error] = errors_of(text)
    assert "endpoints[0].data_capture.sampling_percent" in error and "integer" in error and "'lots'" in error


def test_reference_to_nowhere_lists_what_exists():
    text = spec_text().replace("compute: cpu\n    data", "compute: cpux\n    data")
    [error] = errors_of(text)
    assert "no compute profile named 'cpux' (did you mean 'cpu'?); defined: cpu" in error


def test_unknown_alias_and_group():
    text = spec_text().replace("alias: champion}", "alias: champoin}")
    [error] = errors_of(text)
    assert "has no alias 'champoin'" in error and "champion, challenger" in error
    text = spec_text().replace("{group: recs,", "{group: rec,")
    [error] = errors_of(text)
    assert "no model group named 'rec' (did you mean 'recs'?)" in error


def test_duplicate_names():
    text = spec_text().replace("        - version: 2\n", "        - version: 1\n")
    errors = errors_of(text)
    assert any("duplicate version '1'" in e for e in errors)


@pytest.mark.parametrize(
    ("name", "target", "fragment"),
    [
        ("a" * 40, "azure", "3-32 characters"),
        ("ab", "azure", "3-32 characters"),
        ("x" * 64, "aws", "String should have at most 63 characters"),
    ],
)
def test_endpoint_names_follow_the_target_rules(name, target, fragment):
    errors = errors_of(spec_text(endpoint=name), target=target)
    assert any(fragment in e for e in errors), errors


def test_weights_must_sum_to_100():
    strategy = """      type: ab
      variants:
        - {name: one, model: {group: recs, version: 1}, weight: 70}
        - {name: two, model: {group: recs, version: 2}, weight: 20}"""
    text = spec_text(strategy=strategy).replace("    model: {group: recs, alias: champion}\n", "")
    [error] = errors_of(text)
    assert "sum to 90 (70 + 20)" in error


@pytest.mark.parametrize(("target", "ok"), [("aws", False), ("azure", True), ("local", True)])
def test_canary_limit_depends_on_target(target, ok):
    text = spec_text(strategy="      type: canary\n      percent: 60", metric="jensen_shannon")
    if ok:
        assert loads(text, "shop.yaml", target=target).cloud == target
    else:
        [error] = errors_of(text, target=target)
        assert "canary of 60% is above what AWS SageMaker allows (50%" in error


def test_azure_mirror_limit_and_gcp_metric():
    strategy = "      type: shadow\n      percent: 60\n      challenger: {group: recs, alias: challenger}"
    errors = errors_of(spec_text(strategy=strategy, metric="jensen_shannon"), target="azure")
    assert any("at most 50%" in e for e in errors)
    [error] = errors_of(spec_text(metric="psi"), target="gcp")
    assert "Google Vertex AI has no 'psi' for data_drift; it offers: jensen_shannon, l_infinity" in error


def test_cron_is_checked_and_sagemaker_forms_enforced():
    [error] = errors_of(spec_text(schedule="0 25 * * *"))
    assert "monitors[0].schedule" in error and "does not parse" in error
    [error] = errors_of(spec_text(schedule="*/15 * * * *"))
    assert "SageMaker Model Monitor runs hourly" in error
    assert loads(spec_text(schedule="*/15 * * * *"), "shop.yaml", target="local")


def test_drift_monitor_needs_data_capture():
    text = spec_text().replace("    data_capture: {sampling_percent: 10}\n", "")
    [error] = errors_of(text)
    assert "does not capture data" in error and "monitors[0].endpoint" in error


def test_unknown_dtype_suggests():
    text = (
        spec_text()
        + """feature_store:
  entities:
    - name: user
      join_keys: [{name: user_id, dtype: int65}]
"""
    )
    [error] = errors_of(text)
    assert "did you mean 'int64'" in error and "feature_store.entities[0].join_keys[0].dtype" in error


def test_impossible_compute_fails_for_that_target_only():
    text = spec_text().replace("cpu: {vcpus: 2}", "cpu: {vcpus: 2}\n  big: {gpu: L4, gpus: 3}")
    [error] = errors_of(text, target="aws")
    assert "compute.big: no aws SKU satisfies gpu=L4, gpus=3" in error
    assert loads(text, "shop.yaml", target="local").cloud == "local"


def test_every_problem_is_reported_at_once():
    # type errors are all reported together; so are the rules' problems once the types hold
    text = spec_text(schedule="0 25 * * *").replace("sampling_percent: 10", "sampling_percent: 300")
    assert len(errors_of(text)) == 2
    text = spec_text(schedule="*/5 * * * *").replace("compute: cpu\n    data", "compute: nope\n    data")
    assert len(errors_of(text)) == 2


def test_environment_overlay_errors_point_at_the_overlay():
    text = (
        spec_text()
        + """environments:
  prod:
    endpoints:
      recs-api:
        instance_count: 0
      recs-apx:
        public: true
"""
    )
    with pytest.raises(SpecInvalid) as info:
        loads(text, "shop.yaml", env="prod")
    rendered = [e.render() for e in info.value.errors]
    assert any("environments.prod.endpoints.recs-api.instance_count" in r for r in rendered), rendered
    with pytest.raises(SpecInvalid) as info:
        loads(text.replace("instance_count: 0", "instance_count: 3"), "shop.yaml", env="prod")
    [error] = [e.render() for e in info.value.errors]
    assert "no endpoint named 'recs-apx' to override (did you mean 'recs-api'?)" in error
    with pytest.raises(SpecInvalid) as info:
        loads(text, "shop.yaml", env="prd")
    assert "did you mean 'prod'" in info.value.errors[0].message


def test_environment_overlay_applies():
    text = (
        spec_text()
        + """environments:
  prod:
    endpoints:
      recs-api:
        instance_count: 3
        strategy: {type: canary, percent: 20}
"""
    )
    loaded = loads(text, "shop.yaml", env="prod")
    endpoint = loaded.spec.endpoints[0]
    assert endpoint.instance_count == 3 and endpoint.strategy.type == "canary"
    assert loaded.production
    assert loads(text, "shop.yaml").spec.endpoints[0].strategy.type == "all_at_once"


def test_overlay_value_errors_are_located_in_the_overlay():
    text = (
        spec_text()
        + """environments:
  prod:
    endpoints:
      recs-api:
        strategy: {type: canary, percent: 70}
"""
    )
    with pytest.raises(SpecInvalid) as info:
        loads(text, "shop.yaml", env="prod")
    [error] = info.value.errors
    assert error.line == text.splitlines().index("        strategy: {type: canary, percent: 70}") + 1


def test_kms_key_must_match_the_cloud():
    text = spec_text().replace("  region: us-east-1\n", "  region: us-east-1\n  kms_key: projects/p/key\n")
    [error] = errors_of(text)
    assert "target.kms_key" in error and "arn:aws:kms" in error


@pytest.mark.parametrize(
    "value",
    [
        "https://hooks.slack.com/services/T0000000/B0000000/abcdefghijklmnopqrstuvwx",
        "https://ops:hunter22@alerts.example.com/hook",
        "https://alerts.example.com/hook?token=abcdef123456",
        "AKIAIOSFODNN7EXAMPLE",
    ],
)
def test_plain_text_secrets_are_refused(value):
    text = (
        spec_text()
        + f"""    actions:
      - type: alert
        to: ["{value}"]
"""
    )
    [error] = errors_of(text)
    assert "monitors[0].actions[0].to[0]" in error and "secret" in error


def test_relative_data_paths_need_the_clouds_root():
    errors = errors_of(spec_text().replace('  aws: {data_root: "s3://shop-data"}\n', ""))
    assert len(errors) == 3 and all("target.aws.data_root" in e for e in errors)
    assert "registry.model_groups[0].versions[0].artifact" in errors[0]
    from mlstack.resolve import resolve

    for cloud, root in (("aws", "s3://shop-data"), ("gcp", "gs://shop-data")):
        resolved = resolve(loads(spec_text(metric="l_infinity"), "shop.yaml", target=cloud))
        assert resolved.spec.registry.model_groups[0].versions[0].artifact == f"{root}/models/recs/1/"
        assert resolved.spec.monitors[0].baseline == f"{root}/baselines/recs.csv"


def test_full_uris_pin_a_cloud():
    text = spec_text(metric="jensen_shannon").replace("artifact: models/recs/1/", "artifact: s3://b/recs/1/")
    [error] = errors_of(text, target="gcp")
    assert "Google Vertex AI reads model artifacts from gs://" in error


def test_bare_image_names_resolve_in_the_clouds_registry():
    text = spec_text().replace(
        "          aliases: [champion]", "          image: recs-serve:2\n          aliases: [champion]"
    )
    [error] = errors_of(text)
    assert "image_registry" in error
    registry = text.replace(
        '{data_root: "s3://shop-data"}',
        '{data_root: "s3://shop-data", image_registry: 1.dkr.ecr.us-east-1.amazonaws.com}',
    )
    from mlstack.resolve import resolve

    version = resolve(loads(registry, "shop.yaml")).spec.registry.model_groups[0].versions[0]
    assert version.image == "1.dkr.ecr.us-east-1.amazonaws.com/recs-serve:2"
