"""Round-trip memory: `# mlstack: was <value> on <cloud>` comments.

The spec forbids unknown keys, so what a migration replaced is remembered in a comment on the line
it changed. The next migration reads it back: migrating to the cloud it names restores the value
exactly, and migrating elsewhere translates from that original rather than from a translation of
it (so approximations never pile up). A marker whose translation no longer matches the line (the
user edited it) is stale and ignored: the line is then taken as written."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import yaml
from ruamel.yaml.comments import CommentedMap

from mlstack.migrate.document import eol, set_eol

_MARKER = re.compile(r"\s*mlstack: was (?P<value>.+) on (?P<cloud>aws|gcp|azure|local)\s*$")


@dataclass(frozen=True)
class Origin:
    """A value as it was written for a cloud; None means the key was absent."""

    cloud: str
    value: object


class Unmappable(Exception):
    """No counterpart on the destination; the message says why (for the report)."""


def format_value(value: object) -> str:
    # A one-element flow sequence gives YAML's own quoting for scalars, mappings and lists alike.
    text = yaml.safe_dump([value], default_flow_style=True, width=10**6, sort_keys=False).strip()
    return text[1:-1]


def parse_value(text: str) -> object:
    return yaml.safe_load(f"[{text}]")[0]


def _split(comment: str) -> tuple[str, Origin | None]:
    """The user's part of a line comment and the marker, if any."""
    head, sep, tail = comment.partition("mlstack: was ")
    if not sep:
        return comment, None
    match = _MARKER.match("mlstack: was " + tail)
    if not match:
        return comment, None
    try:
        value = parse_value(match.group("value"))
    except yaml.YAMLError:
        return comment, None
    return head.rstrip().rstrip("#").rstrip(), Origin(match.group("cloud"), value)


def read(node: CommentedMap, key: object) -> Origin | None:
    return _split(eol(node, key))[1]


def write(node: CommentedMap, key: object, origin: Origin | None) -> None:
    user, _ = _split(eol(node, key))
    marker = f"mlstack: was {format_value(origin.value)} on {origin.cloud}" if origin else ""
    set_eol(node, key, f"{user}  # {marker}" if user and marker else user or marker)


@dataclass(frozen=True)
class Outcome:
    value: object  # what the destination gets
    origin: Origin  # the value it was derived from
    restored: bool  # a marker's original value is back
    marker: Origin | None  # what to remember on the line afterwards


Derive = Callable[[str, object, str], object]


def translate(
    current: object,
    marker: Origin | None,
    native: str,
    dest: str,
    derive: Derive,
    same: Callable[[str, object, object], bool] | None = None,
) -> Outcome:
    """The destination's value for a line now holding `current` for cloud `native`.

    `derive(cloud, value, to_cloud)` maps a value between clouds (raising Unmappable); `same(cloud,
    a, b)` compares two values on one cloud (equality by default)."""
    equal = same or (lambda _cloud, a, b: a == b)
    origin = Origin(native, current)
    if marker is not None and marker.cloud != native:
        try:
            if equal(native, derive(marker.cloud, marker.value, native), current):
                origin = marker
        except Unmappable:
            pass
    if origin.cloud == dest:
        return Outcome(origin.value, origin, origin is marker, None)
    value = derive(origin.cloud, origin.value, dest)
    back = value == origin.value
    return Outcome(value, origin, back and origin is marker, None if back else origin)
