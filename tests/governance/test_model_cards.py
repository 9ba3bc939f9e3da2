"""Model cards: rendered from the emulator's registry over HTTP and the CLI (markdown and escaped HTML),
and on AWS planned as SageMaker Model Cards checked against SageMaker's CreateModelCard request."""

from __future__ import annotations

import json

import pytest

from mlstack.cards import render
from mlstack.plan import plan
from mlstack.resolve import resolve
from mlstack.spec import loads
from tests.backends.aws import aws_requests
from tests.backends.aws.aws_plans import SPECS
from tests.emulator.conftest import cli
from tests.governance.conftest import apply_env, promoted_spec

USE = """      intended_use: Score card transactions for fraud review; <b>not</b> for credit decisions.
      limitations: Trained on 2025 traffic only.
"""


def test_a_card_names_use_limits_metrics_and_every_promotion(served, tmp_path):
    text = promoted_spec().replace("      promotion:\n", USE + "      promotion:\n", 1)
    apply_env(served, tmp_path, text, "staging")
    served.client.post(
        "/v1/registry/groups/m/versions/2/promotions",
        {"to": "staging", "approvers": ["alice"], "by": "ci-bot", "reason": "passed review"},
    )
    card = served.client.get("/v1/registry/groups/m/versions/2/card")
    assert card["intended_use"].startswith("Score card transactions") and card["limitations"]
    assert card["promotion"]["stages"] == ["dev", "staging"]

    markdown = render(card)
    assert "# Model card: m v2" in markdown
    assert "Trained on 2025 traffic only." in markdown
    assert "promoted to **staging** by ci-bot, approved by alice — passed review" in markdown
    assert f"`{card['lineage']['artifact_sha256']}`" in markdown
    html = render(card, "html")
    assert "&lt;b&gt;not&lt;/b&gt;" in html and "<b>not</b>" not in html  # spec text is escaped

    spec = ["-f", str(tmp_path / "mlstack.yaml")]
    written = cli("registry", "card", "m", "2", "-o", "card.html", *spec, cwd=tmp_path)
    assert written.returncode == 0, written.stderr
    assert (tmp_path / "card.html").read_text() == html
    printed = cli("registry", "card", "m", "2", *spec, cwd=tmp_path)
    assert printed.returncode == 0 and printed.stdout == markdown
    missing = cli("registry", "card", "m", "99", *spec, cwd=tmp_path)
    assert missing.returncode == 1 and "no version 99 in model group 'm'" in missing.stderr
    assert "Traceback" not in missing.stderr
    bad = cli("registry", "card", "m", "2", "--format", "pdf", *spec, cwd=tmp_path)
    assert bad.returncode == 2 and "markdown or html" in bad.stderr


def test_a_card_without_spec_text_says_what_to_add(served, tmp_path):
    apply_env(served, tmp_path, promoted_spec(), None)
    markdown = render(served.client.get("/v1/registry/groups/m/versions/1/card"))
    assert "set `intended_use` on the model group" in markdown and "not promoted beyond dev yet" in markdown


@pytest.mark.parametrize("env", [None, "prod"])
def test_aws_plans_a_sagemaker_model_card_per_declared_version(env):
    fraud = SPECS / "fraud-detection.yaml"
    text = fraud.read_text().replace("      approval: manual\n", "      approval: manual\n" + USE, 1)
    resolved = resolve(loads(text, file=str(fraud), env=env, target="aws"))
    cards = [r for r in plan(resolved) if r.type == "aws-native:sagemaker:ModelCard"]
    group = resolved.spec.model_group("fraud-model")
    assert group is not None and len(cards) == len(group.versions)
    card = cards[0].inputs
    content = card["content"]
    assert content["intendedUses"]["intendedUses"].startswith("Score card transactions")
    assert content["additionalInformation"]["caveatsAndRecommendations"] == "Trained on 2025 traffic only."
    metrics = content["evaluationDetails"][0]["metricGroups"][0]["metricData"]
    assert {"name": "auc", "type": "number", "value": 0.941} in metrics
    assert card["modelCardStatus"] == "Approved"
    request = {
        "ModelCardName": card["modelCardName"],
        "Content": json.dumps(content),
        "ModelCardStatus": card["modelCardStatus"],
        "Tags": [{"Key": t["key"], "Value": t["value"]} for t in card["tags"]],
    }
    if "securityConfig" in card:
        request["SecurityConfig"] = {"KmsKeyId": card["securityConfig"]["kmsKeyId"]}
        assert env == "prod"  # prod's customer key encrypts the card too
    aws_requests.validate("sagemaker", "CreateModelCard", request)
