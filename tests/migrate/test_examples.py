"""The example specs on every target: the migrated spec validates (every environment) and plans offline
with the target's backend; where a decision is the user's, acting on exactly what the report lists
makes it validate and plan."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlstack.errors import format_path
from mlstack.migrate.migrate import migrate, plan_problems
from mlstack.plan import plan
from mlstack.resolve import resolve
from mlstack.spec import loads
from tests.conftest import SPECS

TARGETS = ("aws", "gcp", "azure", "local")
FRAUD_FILE, QUICKSTART_FILE = str(SPECS / "fraud-detection.yaml"), str(SPECS / "quickstart.yaml")
FRAUD, QUICKSTART = Path(FRAUD_FILE).read_text(), Path(QUICKSTART_FILE).read_text()


def planned_components(text: str, file: str, env: str | None = None) -> dict[str, set[str]]:
    """Components of the plan of `text`, written as `file` (relative data and code resolve next to it)."""
    resources = plan(resolve(loads(text, file=file, env=env)))
    kinds: dict[str, set[str]] = {}
    for resource in resources:
        if resource.type.startswith("mlstack:"):
            kinds.setdefault(resource.type.split(":")[1], set()).add(resource.name)
    assert any(not r.type.startswith("mlstack:") for r in resources)
    return kinds


@pytest.mark.parametrize("to", TARGETS)
def test_fraud_detection_migrates_validates_and_plans(to):
    result = migrate(FRAUD, to, FRAUD_FILE)
    assert result.report.valid, result.report.errors
    for env in (None, "dev", "prod"):
        assert loads(result.text, env=env).cloud == to
    components = planned_components(result.text, FRAUD_FILE)
    assert components["endpoint"] == {"fraud-scorer", "fraud-shadow", "fraud-ab"}
    assert components["monitor"] == {"feature-drift", "score-drift", "input-quality", "scorer-accuracy"}
    assert components["pipeline"] == {"train-fraud"}
    assert planned_components(result.text, FRAUD_FILE, env="prod")["endpoint"] == components["endpoint"]


DECISIONS = {
    "aws": "  region: us-east-1\n  aws: {data_root: s3://iris-data}\n",
    "gcp": "  region: us-central1\n  gcp: {project: iris-platform, data_root: gs://iris-data, network: iris-vpc}\n",
    "azure": (
        "  region: eastus\n  azure:\n    subscription_id: 00000000-1111-2222-3333-444444444444\n"
        "    resource_group: rg-iris\n    workspace: iris-ml\n"
        "    data_root: azureml://datastores/workspaceblobstore/paths/iris\n"
    ),
}


# Where the quickstart's training step runs on each cloud, once the user has pushed its image there.
IMAGES = {
    "aws": "123456789012.dkr.ecr.us-east-1.amazonaws.com/iris-train:1",
    "gcp": "us-central1-docker.pkg.dev/iris-platform/ml/iris-train:1",
    "azure": "irisml.azurecr.io/iris-train:1",
}


@pytest.mark.parametrize("to", ("aws", "gcp", "azure"))
def test_quickstart_lists_the_users_decisions_and_plans_once_they_are_made(to):
    result = migrate(QUICKSTART, to, QUICKSTART_FILE, check_plan=True)
    assert not result.report.valid and result.report.planned is None  # invalid specs are not planned
    decide = {format_path(c.path): c.why for c in result.report.changes if c.grade == "unsupported"}
    # Validation is the whole gate: what the target's backend would refuse is listed with the rest.
    # SageMaker has a prebuilt scikit-learn image; Vertex and Azure ML run steps from an image.
    needs_image = {
        "aws": set(),
        "gcp": {"pipelines[0].steps[0].image", "pipelines[0].steps[1].image", "pipelines[0].steps[2].kind"},
        "azure": {"pipelines[0].steps[0].image", "pipelines[0].steps[1].image", "pipelines[0].steps[2].image"},
    }[to]
    expected = (
        {"target.region", "pipelines[0].data", "endpoints[0].model.alias"}
        | needs_image
        | ({f"target.{to}"} if to != "aws" else set())
        # Vertex: where the private endpoint is reached from (or public: true)
        | ({"endpoints[0].public"} if to == "gcp" else set())
    )
    assert set(decide) == expected
    assert "choose a region" in decide["target.region"]
    assert f"set target.{to}.data_root" in decide["pipelines[0].data"]
    assert "has no alias 'champion'" in decide["endpoints[0].model.alias"]
    assert all("image" in decide[path] for path in needs_image)
    decided = result.text.replace(f"  cloud: {to}\n", f"  cloud: {to}\n{DECISIONS[to]}").replace(
        "      approval: auto\n",
        "      approval: auto\n      versions:\n        - version: 1\n          artifact: models/iris/1/\n"
        "          aliases: [champion]\n",
    )
    if to != "aws":
        decided = decided.replace(
            "    data: quickstart/iris.csv\n", f"    data: quickstart/iris.csv\n    image: {IMAGES[to]}\n"
        )
    # With those decided the spec validates, and then the plan finds nothing more.
    assert loads(decided, file=QUICKSTART_FILE).cloud == to
    assert plan_problems(decided, QUICKSTART_FILE, []) == []
    assert planned_components(decided, QUICKSTART_FILE)["endpoint"] == {"iris"}


def test_quickstart_to_local_is_a_no_op():
    result = migrate(QUICKSTART, "local")
    assert result.text == QUICKSTART and result.report.valid
    assert planned_components(result.text, QUICKSTART_FILE)["endpoint"] == {"iris"}
