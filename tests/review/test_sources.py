"""The two sides of a review: files, git revisions (REV:path, read with `git show`) and /dev/null."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mlstack.errors import MlstackError, SpecInvalid
from mlstack.review.report import review
from tests.review.conftest import git, pull_request_checkout, small


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    pull_request_checkout(tmp_path, tmp_path / "specs" / "shop.yaml")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_base_from_a_git_revision(repo: Path) -> None:
    for base in ("origin/main:specs/shop.yaml", "HEAD:specs/shop.yaml", "main:./specs/shop.yaml"):
        result = review(base, "specs/shop.yaml", target="local")
        assert [c.line for c in result.components] == ["endpoint rank: canary 10% → 20%"]
        assert result.base.source == base and result.counts["update"] == 1


def test_a_spec_new_in_the_pull_request_is_all_created(repo: Path) -> None:
    result = review("/dev/null", "specs/shop.yaml", target="local")
    assert result.counts["create"] == len([r for r in result.head.plan if r.custom]) > 0
    assert not any(result.counts[a] for a in ("update", "replace", "delete"))
    with pytest.raises(MlstackError, match="both sides are /dev/null"):
        review("/dev/null", "/dev/null")


@pytest.mark.parametrize(
    ("base", "message"),
    [
        ("nope:specs/shop.yaml", r"cannot read specs/shop.yaml at git revision nope: invalid object name 'nope'"),
        (
            "HEAD:specs/gone.yaml",
            r"cannot read specs/gone.yaml at git revision HEAD: path 'specs/gone.yaml' does not exist",
        ),
        ("specs/gone.yaml", r"specs/gone.yaml: no such file; give a spec file, a git revision and path"),
        (":specs/shop.yaml", r"write a git revision and a path"),
    ],
)
def test_unreadable_sides_say_why(repo: Path, base: str, message: str) -> None:
    with pytest.raises(MlstackError, match=message):
        review(base, "specs/shop.yaml", target="local")


def test_invalid_spec_at_a_revision_is_located_there(repo: Path) -> None:
    broken = small()
    broken["endpoints"][0]["strategy"]["percent"] = 150
    (repo / "specs" / "shop.yaml").write_text(yaml.safe_dump(broken))
    git(repo, "commit", "-qam", "broken")
    (repo / "specs" / "head.yaml").write_text(yaml.safe_dump(broken))
    with pytest.raises(SpecInvalid) as caught:
        review("HEAD:specs/shop.yaml", "specs/head.yaml", target="local")
    files = sorted({e.file for e in caught.value.errors})
    assert files == ["HEAD:specs/shop.yaml", "specs/head.yaml"], "both sides' problems, each in its own file"
    assert all(e.line > 1 and "percent" in e.render() for e in caught.value.errors)


def test_a_file_that_is_not_text(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_bytes(b"\xff\xfe\x00name")
    with pytest.raises(MlstackError, match="not UTF-8 text"):
        review(str(tmp_path / "bad.yaml"), str(tmp_path / "bad.yaml"))
