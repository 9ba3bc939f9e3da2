"""Values that must not pass: NaN metrics through gates, markup and hidden characters into a PR comment."""

from __future__ import annotations

import json

import pytest

from mlstack.emulator.pipelines import contract, gates


def test_a_nan_metric_fails_every_gate():
    for gate in ({"metric": "accuracy", "min": 0.8}, {"metric": "accuracy", "max": 0.1}):
        failures = gates.check([gate], {"accuracy": float("nan")}, None)
        assert failures == ["gate on 'accuracy': nan is not a finite number"]


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
