"""The editable YAML tree and the `# mlstack: was …` markers: untouched text comes back byte for byte,
comments survive edits, markers read back what was written and go stale when the line is edited."""

from __future__ import annotations

import pytest

from mlstack.migrate import document, markers
from mlstack.migrate.markers import Origin, Unmappable, translate
from tests.conftest import EXAMPLE_SPECS
from tests.migrate.conftest import WIDE

FLUSH = """\
a:
- x: 1
- y: [1, 2]
b:
    c: "quoted"   # kept
    d: 'single'
"""


@pytest.mark.parametrize("text", [p.read_text() for p in EXAMPLE_SPECS] + [WIDE, FLUSH], ids=lambda t: t[:30])
def test_an_unedited_tree_dumps_to_the_same_text(text):
    root, yaml = document.load(text)
    assert document.dump(root, yaml) == text


def test_set_eol_adds_replaces_and_removes_without_touching_following_comments():
    text = "a:\n  b: 1  # user\n  # about c\n  c: 2\n  d: 3\n"
    root, yaml = document.load(text)
    node = root["a"]
    document.set_eol(node, "b", "user  # mlstack: was 0 on aws")
    document.set_eol(node, "d", "mlstack: was 4 on gcp")
    edited = document.dump(root, yaml)
    assert "  b: 1  # user  # mlstack: was 0 on aws\n  # about c\n" in edited
    assert "  d: 3  # mlstack: was 4 on gcp\n" in edited
    root, yaml = document.load(edited)
    document.set_eol(root["a"], "b", "user")
    document.set_eol(root["a"], "d", "")
    assert document.dump(root, yaml) == text


def test_rename_key_keeps_position_and_comment():
    root, yaml = document.load("m:\n  one: 1\n  two:   # note\n    x: 1\n  three: 3\n")
    document.rename_key(root["m"], "two", "deux")
    assert document.dump(root, yaml) == "m:\n  one: 1\n  deux:   # note\n    x: 1\n  three: 3\n"


def test_assign_keeps_quoting_and_the_gap_before_a_comment():
    root, yaml = document.load('a:\n  s: "0 * * * *"   # hourly\n')
    document.assign(root["a"], "s", "0 */6 * * *")
    assert document.dump(root, yaml) == 'a:\n  s: "0 */6 * * *"   # hourly\n'


@pytest.mark.parametrize(
    "value", ["ml.g5.2xlarge", "*/15 * * * *", "s3://b/k: v", 60, None, {"type": "shadow", "percent": 75}]
)
def test_marker_values_read_back(value):
    root, yaml = document.load("k: v  # mine\n")
    markers.write(root, "k", Origin("gcp", value))
    again, _ = document.load(document.dump(root, yaml))
    assert markers.read(again, "k") == Origin("gcp", value)
    assert document.eol(again, "k").startswith("mine  # mlstack: was ")


def double(cloud: str, value: object, to: str) -> object:
    """A toy translation: values double from aws to anywhere else, and halve back."""
    if cloud == to:
        return value
    if to == "aws":
        return int(value) // 2  # type: ignore[call-overload]
    if value == 13:
        raise Unmappable("13 has no counterpart")
    return int(value) * 2 if cloud == "aws" else value  # type: ignore[call-overload]


def test_translate_records_the_original_and_restores_it():
    there = translate(5, None, "aws", "gcp", double)
    assert (there.value, there.marker, there.restored) == (10, Origin("aws", 5), False)
    onward = translate(10, there.marker, "gcp", "azure", double)
    assert (onward.value, onward.marker) == (10, Origin("aws", 5))  # from the original, not from 10
    back = translate(10, onward.marker, "azure", "aws", double)
    assert (back.value, back.marker, back.restored) == (5, None, True)


def test_a_stale_marker_is_ignored():
    edited = translate(11, Origin("aws", 5), "gcp", "aws", double)  # the user changed 10 to 11 on gcp
    assert edited.origin == Origin("gcp", 11)
    assert edited.value == 5 and not edited.restored  # 11 // 2, translated from what is written


def test_unmappable_values_raise():
    with pytest.raises(Unmappable, match="13"):
        translate(13, None, "gcp", "azure", lambda c, v, t: double("aws", v, t))
