"""Round trips: aws → gcp → azure → aws (and every other order) gives back the spec it started from.

With the `# mlstack: was …` markers the text comes back byte for byte. Without them (a user who
strips comments), what differs must be exactly what the reports flagged as approximate or unsupported."""

from __future__ import annotations

import difflib
import itertools
import re

import pytest

from mlstack.errors import Path
from mlstack.migrate.migrate import migrate
from mlstack.spec.yaml_loader import parse
from tests.conftest import EXAMPLE_SPECS
from tests.migrate.conftest import WIDE

SPECS = {path.stem: path.read_text() for path in EXAMPLE_SPECS} | {"wide": WIDE}
CLOUDS = ("aws", "gcp", "azure", "local")


def chain(text: str, clouds: tuple[str, ...]) -> str:
    for cloud in clouds:
        text = migrate(text, cloud).text
    return text


@pytest.mark.parametrize("name", sorted(SPECS))
def test_aws_gcp_azure_aws_returns_the_spec(name):
    on_aws = migrate(SPECS[name], "aws").text
    assert chain(on_aws, ("gcp", "azure", "aws")) == on_aws


@pytest.mark.parametrize("name", sorted(SPECS))
def test_every_order_through_the_other_clouds_returns_the_original(name):
    text = SPECS[name]
    home = re.search(r"^  cloud: (\w+)$", text, re.MULTILINE)
    origin = home.group(1) if home else "local"
    others = [c for c in CLOUDS if c != origin]
    for order in itertools.permutations(others):
        assert chain(text, (*order, origin)) == text, order


def strip_markers(text: str) -> str:
    return re.sub(r"  # mlstack: (was .* on \w+|moved from target\.kms_key.*)$", "", text, flags=re.MULTILINE)


def paths_by_line(text: str) -> dict[int, Path]:
    doc = parse(text)
    lines: dict[int, Path] = {}
    for path, (line, _column) in [*doc.values.items(), *doc.keys.items()]:
        if len(path) >= len(lines.get(line, ())):
            lines[line] = path
    return lines


def related(path: Path, flagged: set[Path]) -> bool:
    return any(path[: len(f)] == f or f[: len(path)] == path for f in flagged)


def test_without_markers_only_flagged_places_differ():
    text, flagged = WIDE, set()
    for cloud in ("gcp", "azure", "aws"):
        result = migrate(text, cloud)
        text = strip_markers(result.text)
        for c in result.report.changes:
            if c.grade != "exact":
                paths = {c.path, *c.also}
                if isinstance(c.before, str) and isinstance(c.after, str):  # a rename: the old spelling too
                    paths |= {tuple(c.before if part == c.after else part for part in p) for p in paths}
                flagged |= paths
    before, after = paths_by_line(WIDE), paths_by_line(text)
    matcher = difflib.SequenceMatcher(a=WIDE.splitlines(), b=text.splitlines(), autojunk=False)
    lost = [(tag, i1, i2, j1, j2) for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal"]
    assert lost, "the test needs a lossy trip"
    for _tag, i1, i2, j1, j2 in lost:
        for n in range(i1 + 1, i2 + 1):
            assert related(before[n], flagged), WIDE.splitlines()[n - 1]
        for n in range(j1 + 1, j2 + 1):
            assert related(after[n], flagged), text.splitlines()[n - 1]
