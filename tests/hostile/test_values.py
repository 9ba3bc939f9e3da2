"""Values that must not pass: NaN metrics through gates, markup and hidden characters into a PR comment."""

from __future__ import annotations

import json

import pytest

from mlstack.resolve import gates
from mlstack.runtime import contract


def test_a_nan_metric_fails_every_gate():
    for gate in ({"metric": "accuracy", "min": 0.8}, {"metric": "accuracy", "max": 0.1}):
        verdict = gates.check([gate], {"accuracy": float("nan")}, None)
        assert verdict.failures == ["gate on 'accuracy': nan is not a finite number"]


@pytest.mark.parametrize("text", ['{"accuracy": NaN}', '{"accuracy": Infinity}', '{"accuracy": -Infinity}'])
def test_an_evaluation_writing_nan_fails_its_step(tmp_path, text):
    path = tmp_path / contract.METRICS_FILE
    path.write_text(text)
    with pytest.raises(ValueError, match="metrics must be finite numbers"):
        contract.read_metrics(path)
    path.write_text(json.dumps({"accuracy": 0.9}))
    assert contract.read_metrics(path) == {"accuracy": 0.9}


def test_pr_comment_cells_carry_no_links_mentions_or_hidden_characters():
    from mlstack.review.render import cell

    text = cell("[click](https://evil.example) @octocat \u202eevil\u200b\x00!")
    assert "[" not in text and "]" not in text and "@" not in text
    assert "\u202e" not in text and "\u200b" not in text and "\x00" not in text
    assert "\\u202e" in text and "\\x00" in text  # shown, not hidden


def _spec_with(source: str, data: str, cloud: str = "gcp") -> str:
    target = {
        "gcp": "cloud: gcp\n  gcp: {project: my-project, feature_dataset: my-project.features, data_root: gs://b/p}",
        "aws": "cloud: aws\n  aws: {data_root: s3://b/p}",
    }[cloud]
    return f"""
apiVersion: mlstack/v1
name: paths
owner: t@example.com
target:
  {target}
feature_store:
  entities: [{{name: user, join_keys: [{{name: user_id, dtype: int64}}]}}]
  views:
    - {{name: one, entity: user, source: {{uri: {source}, timestamp_field: ts}}, features: [{{name: f, dtype: float64}}]}}
    - {{name: two, entity: user, source: {{uri: a_b, timestamp_field: ts}}, features: [{{name: g, dtype: float64}}]}}
pipelines:
  - name: train
    data: {data}
    steps: [{{name: train, kind: training, entrypoint: train.py}}]
"""


@pytest.mark.parametrize(
    ("source", "data", "cloud", "expected"),
    [
        ("a-b", "d.csv", "gcp", "would both be BigQuery table a_b"),
        ("x", "../../other/d.csv", "aws", "climbs out of the data root"),
        ("x", "./.hidden/d.csv", "aws", "names a hidden file or folder ('.hidden')"),
    ],
)
def test_data_paths_that_escape_hide_or_collide_are_located_errors(source, data, cloud, expected):
    from mlstack.errors import SpecInvalid
    from mlstack.spec import loads

    with pytest.raises(SpecInvalid) as caught:
        loads(_spec_with(source, data, cloud), file="paths.yaml")
    found = [e for e in caught.value.errors if expected in e.message]
    assert found and found[0].line > 1, str(caught.value)


@pytest.mark.parametrize(
    ("features", "expected"),
    [
        ("[{name: amount, dtype: float64}, {name: Amount, dtype: float64}]", "clashes with 'amount'"),
        ("[{name: __key, dtype: float64}]", "a column the online store keeps"),
        ("[{name: user_id, dtype: float64}]", "join keys of user"),
    ],
)
def test_feature_names_that_cannot_share_a_table_are_located_errors(features, expected):
    from mlstack.errors import SpecInvalid
    from mlstack.spec import loads

    text = f"""
apiVersion: mlstack/v1
name: cols
owner: t@example.com
target: {{cloud: local}}
feature_store:
  entities: [{{name: user, join_keys: [{{name: user_id, dtype: int64}}]}}]
  views:
    - name: v
      entity: user
      source: {{uri: s.parquet, timestamp_field: ts}}
      features: {features}
"""
    with pytest.raises(SpecInvalid) as caught:
        loads(text, file="cols.yaml")
    assert any(expected in e.message and e.line > 1 for e in caught.value.errors), str(caught.value)
