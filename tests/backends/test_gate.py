"""`validate --target T` is the whole gate: a spec it passes plans on T (Pulumi mocks, the real lowering),
over mutations of the example specs and of a small synthetic spec nobody tuned for any one target."""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlstack.errors import format_path
from mlstack.plan import plan
from mlstack.resolve import resolve
from mlstack.spec.models import CLOUDS
from mlstack.spec.yaml_loader import parse
from mlstack.validate import check
from tests.conftest import EXAMPLE_SPECS, SPECS

SYNTHETIC = """\
apiVersion: mlstack/v1
name: shop
owner: team@example.com
target:
  cloud: aws
  region: us-east-1
  aws: {data_root: "s3://shop-data", image_registry: 123456789012.dkr.ecr.us-east-1.amazonaws.com}
  gcp: {project: shop-project, data_root: "gs://shop-data", feature_dataset: shop-project.features,
        image_registry: us-docker.pkg.dev/shop-project/images, network: shop-vpc,
        subnet: ml-endpoints}
  azure:
    subscription_id: 00000000-1111-2222-3333-444444444444
    resource_group: rg
    workspace: shop-ws
    data_root: azureml://datastores/workspaceblobstore/paths/shop
    image_registry: shop.azurecr.io
compute:
  cpu: {vcpus: 2}
registry:
  model_groups:
    - name: recs
      approval: auto
      versions:
        - {version: 1, artifact: quickstart/iris.csv, framework: sklearn, aliases: [champion], metrics: {accuracy: 0.9}}
        - {version: 2, artifact: quickstart/iris.csv, framework: sklearn, aliases: [challenger]}
feature_store:
  entities:
    - {name: user, join_keys: [{name: user_id, dtype: int64}]}
  views:
    - name: user-stats
      entity: user
      source: {uri: quickstart/iris.csv, timestamp_field: ts}
      features: [{name: clicks, dtype: float64}, {name: country, dtype: string}]
      sync_schedule: "0 * * * *"
pipelines:
  - name: train
    data: quickstart/iris.csv
    image: trainer:1
    schedule: "0 3 * * *"
    steps:
      - {name: prep, kind: processing, entrypoint: quickstart/train.py}
      - {name: fit, kind: training, entrypoint: quickstart/train.py}
      - name: eval
        kind: evaluation
        entrypoint: quickstart/evaluate.py
        gates: [{metric: accuracy, min: 0.5, beat_champion: true}]
      - {name: register, kind: registration, model_group: recs, aliases: [challenger]}
      - {name: deploy, kind: deployment, endpoint: recs-api}
endpoints:
  - name: recs-api
    model: {group: recs, alias: champion}
    compute: cpu
    instance_count: 2
    autoscaling: {min: 1, max: 4, metric: cpu_utilization, target: 70}
    data_capture: {sampling_percent: 10}
    strategy: {type: canary, percent: 20}
monitors:
  - name: drift
    kind: data_drift
    endpoint: recs-api
    baseline: quickstart/iris.csv
    features: [clicks]
    metric: jensen_shannon
    schedule: "0 * * * *"
    actions: [{type: alert, to: [oncall@example.com]}]
  - name: quality
    kind: model_quality
    problem_type: binary_classification
    endpoint: recs-api
    ground_truth: quickstart/
    metric: accuracy
    threshold: 0.8
    schedule: "0 4 * * *"
"""

BASES = [(path, yaml.safe_load(path.read_text())) for path in EXAMPLE_SPECS]
BASES.append((SPECS / "synthetic.yaml", yaml.safe_load(SYNTHETIC)))  # never written: parse() names it


def _leaves(node: object, key: object = None) -> list[tuple[object, object]]:
    """(key it sits under, scalar) of every scalar."""
    if isinstance(node, dict):
        return [leaf for k, value in node.items() for leaf in _leaves(value, k)]
    if isinstance(node, list):
        return [leaf for value in node for leaf in _leaves(value, key)]
    return [(key, node)]


# Values that mean something somewhere: every scalar of the bases (kinds, metrics, names, URIs), most often
# moved to another place with the same key, plus the edges the lowering code has raised on.
EDGES = ["0 0 30 2 *", "0 0 1 1 *", "*/15 * * * *", "custom", "xgboost", "gs://b/x.csv", "bq://p.d.t", "x", 0, 101]
BY_KEY: dict[object, list[object]] = {}
for _, _data in BASES:
    for _key, _value in _leaves(_data):
        if _value not in BY_KEY.setdefault(_key, []):
            BY_KEY[_key].append(_value)
VALUES = [*sorted({repr(v): v for values in BY_KEY.values() for v in values}.values(), key=repr), *EDGES]


def _paths(node: object, prefix: tuple = ()) -> list[tuple]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += _paths(value, (*prefix, i))
    return out


def _mutate(data: dict, path: tuple, action: str, value: object) -> dict:
    data = copy.deepcopy(data)
    parent = data
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    if action == "delete":
        del parent[last]
    elif action == "replace":
        parent[last] = value
    elif action == "duplicate" and isinstance(parent, list):
        parent.append(copy.deepcopy(parent[last]))
    return data


@cache
def valid_bases(target: str) -> list[tuple[Path, dict]]:
    """The bases valid on `target` unmutated: mutations of them reach the plan often enough to matter."""
    return [
        (file, data)
        for file, data in BASES
        if not check(parse(yaml.safe_dump(data), str(file)), target=target, apply=True).errors
    ]


@st.composite
def specs(draw: st.DrawFn, target: str) -> tuple[str, str]:
    file, data = draw(st.sampled_from(valid_bases(target)))
    for _ in range(draw(st.integers(1, 2))):
        path = draw(st.sampled_from(_paths(data)))
        action = draw(st.sampled_from(["delete", "replace", "replace", "replace", "duplicate"]))
        same_key = BY_KEY.get(next((p for p in reversed(path) if isinstance(p, str)), None)) or VALUES
        value = draw(st.sampled_from(same_key) | st.sampled_from(VALUES))
        data = _mutate(data, path, action, value)
    return str(file), yaml.safe_dump(data, sort_keys=False)


def _assert_gate(target: str, file: str, text: str) -> bool:
    """Validate (as `mlstack validate --target` does); when it passes, the plan must too."""
    report = check(parse(text, file), target=target, apply=True)
    if report.errors:
        assert all(e.line >= 1 and e.message for e in report.errors)
        return False
    assert report.loaded is not None
    try:
        plan(resolve(report.loaded))
    except Exception as exc:  # the property: nothing validate passed may fail the plan, whatever the error
        raise AssertionError(f"validate passed but plan --target {target} failed: {exc!r}\n{text}") from exc
    return True


@pytest.mark.parametrize("target", CLOUDS)
def test_examples_and_synthetic_spec_validate_and_plan(target):
    """The unmutated bases: the synthetic spec is valid on every target, so the mutations start from specs
    that plan."""
    passed = {file.name: _assert_gate(target, str(file), yaml.safe_dump(data)) for file, data in BASES}
    assert passed["synthetic.yaml"] is True


@pytest.mark.parametrize("target", CLOUDS)
@settings(max_examples=20, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_validate_passing_means_plan_succeeds(target, data):
    _assert_gate(target, *data.draw(specs(target)))


def test_warnings_do_not_fail_and_are_located():
    text = SYNTHETIC.replace("actions: [{type: alert, to: [oncall@example.com]}]", "actions: [{type: rollback}]")
    report = check(parse(text, str(SPECS / "synthetic.yaml")), target="azure")
    assert report.errors == []
    # the backend's warning, after the declared difference of beat_champion (mlstack.resolve.differences)
    assert [(format_path(w.path), w.line) for w in report.warnings] == [
        ("pipelines[0].steps[2].gates[0].beat_champion", 46),
        ("endpoints[0].compute", 52),  # Z12: a size Azure may find too small for a managed deployment
        ("monitors[0].schedule", 64),  # Z11: runs more often than its whole-day window
        ("monitors[0].actions[0]", 65),
    ]


def test_every_target_has_a_backend_and_a_dialect():
    """The targets are the spec's CLOUDS; the backends and the target profiles cover exactly them."""
    from mlstack.backends import TARGETS
    from mlstack.catalog.catalog import TARGETS as CATALOG_TARGETS
    from mlstack.targets import PROFILES

    assert tuple(TARGETS) == CLOUDS
    assert set(PROFILES) == set(CLOUDS) == set(CATALOG_TARGETS)
