"""Every error the GCP and Azure lowering can raise is a located problem of `validate --target T`, and the
lowering raises the very same message (one decision, one place): each case below is reported at its
file:line:col by validate, and planning the same spec without the gate fails with that message."""

from __future__ import annotations

import pytest

from mlstack.errors import MlstackError, format_path
from mlstack.plan import plan
from mlstack.resolve import resolve
from mlstack.spec import check_document
from mlstack.spec.yaml_loader import parse
from mlstack.validate import check
from tests.backends.test_gate import SYNTHETIC
from tests.conftest import SPECS

FILE = str(SPECS / "synthetic.yaml")
SECOND_DRIFT = """\
  - name: drift-2
    kind: data_drift
    endpoint: recs-api
    baseline: quickstart/other.csv
    features: [clicks]
    metric: jensen_shannon
    schedule: "0 * * * *"
"""
CASES = [
    # target, (old, new) in the synthetic spec, where validate points, a piece of the message
    ("gcp", ("    image: trainer:1\n", ""), "pipelines[0].steps[0].image", "Vertex runs steps in a container"),
    (
        "gcp",
        ("{name: fit, kind: training", "{name: fit, kind: processing"),
        "pipelines[0].steps[3].kind",
        "registration needs a training step before it",
    ),
    (
        "gcp",
        (
            "{name: deploy, kind: deployment, endpoint: recs-api}",
            "{name: deploy, kind: deployment, endpoint: recs-api, depends_on: [prep]}",
        ),
        "pipelines[0].steps[4].kind",
        "a deployment step rolls out what a registration step",
    ),
    (
        "gcp",
        (
            "{version: 1, artifact: quickstart/iris.csv, framework: sklearn",
            "{version: 1, artifact: quickstart/iris.csv, framework: custom",
        ),
        "registry.model_groups[0].versions[0].framework",
        "Vertex AI publishes no serving image for custom models",
    ),
    (
        "gcp",
        ("metric: cpu_utilization, target: 70", "metric: cpu_utilization, target: 0.4"),
        "endpoints[0].autoscaling.target",
        "to a target of 1-100 (%), not 0",
    ),
    (
        "gcp",
        ("    features: [clicks]\n", "    features: [country]\n"),
        "monitors[0].features[0]",
        "Vertex measures categorical feature 'country' with l_infinity",
    ),
    ("gcp", ("monitors:\n", f"monitors:\n{SECOND_DRIFT}"), "monitors[1].baseline", "name different baselines"),
    (
        "gcp",
        ("source: {uri: quickstart/iris.csv", "source: {uri: bq://shop-project.features"),
        "feature_store.views[0].source.uri",
        "read a BigQuery table: bq://project.dataset.table",
    ),
    ("azure", ("    image: trainer:1\n", ""), "pipelines[0].steps[0].image", "Azure runs steps from an image"),
    (
        "azure",
        ("{name: fit, kind: training", "{name: fit, kind: processing"),
        "pipelines[0].steps[3].kind",
        "a registration step needs a training step before it",
    ),
    (
        "azure",
        (
            "{version: 1, artifact: quickstart/iris.csv, framework: sklearn",
            "{version: 1, artifact: quickstart/iris.csv, framework: custom",
        ),
        "registry.model_groups[0].versions[0].image",
        "(framework custom) needs an image on Azure",
    ),
    (
        "azure",
        ("problem_type: binary_classification", "problem_type: regression"),
        "monitors[1].metric",
        "for regression, not accuracy",
    ),
    (
        "azure",
        ("    ground_truth: quickstart/\n", ""),
        "monitors[1].ground_truth",
        "Azure model performance needs ground_truth",
    ),
    (
        "azure",
        ("to: [oncall@example.com]", "to: [oncall]"),
        "monitors[0].actions[0].to[0]",
        "alert recipient 'oncall' is neither an e-mail address nor an https webhook",
    ),
    (
        "azure",
        ('sync_schedule: "0 * * * *"', 'sync_schedule: "0 0 1 * *"'),
        "feature_store.views[0].sync_schedule",
        "has no Azure recurrence form",
    ),
]


@pytest.mark.parametrize(("target", "change", "where", "says"), CASES, ids=[f"{c[0]}-{c[2]}" for c in CASES])
def test_lowering_errors_are_located_by_validate(target, change, where, says):
    old, new = change
    assert SYNTHETIC.count(old) == 1
    text = SYNTHETIC.replace(old, new)
    report = check(parse(text, FILE), target=target)
    assert report.errors and all(says in e.message for e in report.errors)  # steps without image: each one
    error = report.errors[0]
    assert format_path(error.path) == where
    assert error.line > 1 and error.column > 1
    assert error.render().startswith(f"{FILE}:{error.line}:{error.column}: {where}: ")

    # Without the gate, the lowering refuses the same spec with the same words.
    checked = check_document(parse(text, FILE), target=target)
    assert checked.errors == [] and checked.loaded is not None
    with pytest.raises(MlstackError) as raised:
        plan(resolve(checked.loaded))
    assert says in str(raised.value)


def test_a_never_firing_cron_is_located_on_every_target():
    text = SYNTHETIC.replace('schedule: "0 3 * * *"', 'schedule: "0 0 30 2 *"')
    for target in ("aws", "gcp", "azure", "local"):
        [error] = check(parse(text, FILE), target=target).errors
        assert format_path(error.path) == "pipelines[0].schedule"
        assert "never fires" in error.message
        assert error.line == text.splitlines().index('    schedule: "0 0 30 2 *"') + 1
