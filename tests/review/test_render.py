"""Rendering: the GitHub comment within 65,536 characters (summarised, and saying what was left out,
never cut), tables that values cannot break, and the same bytes for the same inputs."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlstack.errors import MlstackError
from mlstack.review.render import GITHUB_COMMENT_LIMIT, MARKER, cell, fence, to_json, to_markdown, to_text
from mlstack.review.report import Review, review
from tests.review.conftest import small, write_pair


def fleet(n: int) -> dict[str, Any]:
    """A local platform of n endpoints (the local target plans fast: one resource per object)."""
    return {
        "apiVersion": "mlstack/v1",
        "name": "fleet",
        "owner": "ml@example.com",
        "target": {"cloud": "local"},
        "registry": {
            "model_groups": [
                {"name": "m", "versions": [{"version": 1, "artifact": "models/m/1/", "aliases": ["champion"]}]}
            ]
        },
        "endpoints": [
            {"name": f"endpoint-{i:04d}", "model": {"group": "m", "alias": "champion"}, "compute": {"vcpus": 1}}
            for i in range(n)
        ],
    }


@pytest.fixture(scope="module")
def huge(tmp_path_factory: pytest.TempPathFactory) -> Review:
    """A new 400-endpoint platform: far more than a comment can hold in full."""
    where = tmp_path_factory.mktemp("huge")
    (where / "fleet.yaml").write_text(yaml.safe_dump(fleet(400)))
    return review("/dev/null", str(where / "fleet.yaml"))


def test_huge_diff_fits_github_and_says_what_was_summarised(huge: Review) -> None:
    full = to_text(huge)
    assert len(full) > GITHUB_COMMENT_LIMIT, "the full report would not fit in one comment"
    comment = to_markdown(huge)
    assert len(comment) <= GITHUB_COMMENT_LIMIT
    assert comment.startswith(MARKER)
    note = next(line for line in comment.splitlines() if "Summarised to fit 65,536 characters" in line)
    assert "402 resources" in note and "their counts stay in the table" in note
    assert "**402 to create**" in comment
    assert comment.count("| + | endpoint endpoint-") == 400, "every component keeps its row"
    assert comment.rstrip().endswith("</details>"), "the comment is whole, not cut off"


@pytest.mark.parametrize("limit", [60_000, 30_000, 12_000, 4_000, 2_500])
def test_every_limit_is_met_by_summarising_more(huge: Review, limit: int) -> None:
    comment = to_markdown(huge, limit=limit)
    assert len(comment) <= limit
    assert f"Summarised to fit {limit:,} characters" in comment and comment.rstrip().endswith("</details>")
    total = len(huge.rows())  # spec, target, the model group and its version, 400 endpoints
    assert total == 404
    rows = len(re.findall(r"^\| [-+~] \| ", comment, flags=re.MULTILINE))
    if rows < total:
        hidden = re.search(r"\| \| … (\d+) more \|", comment)
        assert hidden and rows + int(hidden.group(1)) == total
        kinds = re.search(rf"{hidden.group(1)} table rows \((\d+) endpoint, (\d+) model version\)", comment)
        assert kinds and int(kinds.group(1)) + int(kinds.group(2)) == int(hidden.group(1))


def test_a_limit_nothing_fits_in_is_an_error(huge: Review) -> None:
    with pytest.raises(MlstackError, match="does not fit in 300 characters"):
        to_markdown(huge, limit=300)


def test_small_review_is_shown_in_full(tmp_path: Path) -> None:
    head = small()
    head["endpoints"][0]["strategy"]["percent"] = 20
    head["description"] = "rank | <b>products</b>"
    base_path, head_path = write_pair(tmp_path, small(), head)
    result = review(str(base_path), str(head_path), target="local")
    comment = to_markdown(result)
    assert "Summarised" not in comment
    assert "| ~ | spec | description  → rank \\| &lt;b&gt;products&lt;/b&gt; |" in comment
    assert "| ~ | endpoint rank | canary 10% → 20% | ~1 |" in comment
    assert "<details><summary>endpoint rank: 1 to update</summary>" in comment
    assert "~ pulumi-python:dynamic/local:EmulatorResource rank" in comment


def test_no_changes(tmp_path: Path) -> None:
    base_path, head_path = write_pair(tmp_path, small(), small())
    result = review(str(base_path), str(head_path), target="local")
    assert not result.changed
    assert "**No changes.**" in to_markdown(result) and "No changes." in to_text(result)
    assert json.loads(to_json(result))["changed"] is False


def test_same_inputs_same_bytes(tmp_path: Path) -> None:
    head = small()
    head["endpoints"][0]["name"] = "rank-v2"
    head["monitors"][0]["endpoint"] = "rank-v2"
    base_path, head_path = write_pair(tmp_path, small(), head)
    first, second = (review(str(base_path), str(head_path), target="local") for _ in range(2))
    for render in (to_text, to_markdown, to_json):
        assert render(first) == render(second)
    data = json.loads(to_json(first))
    assert data["summary"] == ["endpoint rank renamed to rank-v2", "monitor drift: endpoint rank → rank-v2"]
    assert data["counts"] == {"create": 1, "delete": 1, "replace": 0, "update": 1}
    assert [r["rule"] for r in data["risks"]] == ["serving"]
    assert to_json(first) == json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def test_cells_and_fences_hold_any_value() -> None:
    assert cell("a|b\nc <x> & y") == "a\\|b c &lt;x&gt; &amp; y"
    assert fence(["plain"]) == "```"
    assert fence(["value with ```` inside"]) == "`````"
