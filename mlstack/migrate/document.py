"""The spec as a ruamel.yaml round-trip tree: edits touch only the nodes they change, so every other
line keeps its comments, quoting, key order and indentation."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from itertools import pairwise

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark, YAMLError
from ruamel.yaml.scalarstring import ScalarString
from ruamel.yaml.tokens import CommentToken

from mlstack.errors import MlstackError, Path

_KEY_LINE = re.compile(r"^( *)(- )?[^\s#][^:]*:\s*(#.*)?$")


def _indents(text: str) -> tuple[int, int]:
    """(mapping indent, sequence dash offset) as the file writes them, so a dump re-creates its layout."""
    mapping, offset = None, None
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    for line, following in pairwise(lines):
        match = _KEY_LINE.match(line)
        if not match:
            continue
        parent = len(match.group(1)) + (2 if match.group(2) else 0)
        child = len(following) - len(following.lstrip(" "))
        if following.lstrip(" ").startswith("- ") and child >= parent:
            offset = child - parent if offset is None else offset  # 0: dashes flush with the key
        elif child > parent:
            mapping = child - parent if mapping is None else mapping
        if mapping is not None and offset is not None:
            break
    return mapping or 2, 2 if offset is None else offset


def yaml_for(text: str) -> YAML:
    mapping, offset = _indents(text)
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap long values (ARNs, descriptions)
    yaml.indent(mapping=mapping, sequence=offset + 2, offset=offset)
    return yaml


def load(text: str) -> tuple[CommentedMap, YAML]:
    yaml = yaml_for(text)
    try:
        root = yaml.load(text)
    except YAMLError as exc:  # the spec loader accepted it, so this is a ruamel limitation
        raise MlstackError(f"cannot edit this YAML while keeping its comments: {exc}") from None
    if not isinstance(root, CommentedMap):
        raise MlstackError("the spec must be a mapping at the top level")
    return root, yaml


def dump(root: CommentedMap, yaml: YAML) -> str:
    out = io.StringIO()
    yaml.dump(root, out)
    return out.getvalue()


def plain(value: object) -> object:
    """Plain Python data from ruamel nodes and scalar subclasses (for comparing and for markers)."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    for kind in (bool, int, float, str):
        if isinstance(value, kind):
            return kind(value)
    return value


def assign(node: CommentedMap | CommentedSeq, key: object, value: object) -> None:
    """Set a value, writing a new string in the quoting style of the one it replaces."""
    old = node.get(key) if isinstance(node, CommentedMap) else node[key]  # type: ignore[index]
    if isinstance(value, str) and isinstance(old, ScalarString) and type(old) is not type(value):
        value = type(old)(value)
    token = _token(node, key) if isinstance(node, CommentedMap) else None
    if token is not None and token.column and isinstance(old, str | int) and isinstance(value, str | int):
        # keep the gap before the line's comment, so a value changed and changed back lines up as before
        token.column = max(0, token.column + len(str(value)) - len(str(old)))
    node[key] = value  # type: ignore[index]


def get(root: object, path: Path) -> object:
    node = root
    for part in path:
        in_map = isinstance(node, CommentedMap) and isinstance(part, str) and part in node
        in_seq = isinstance(node, CommentedSeq) and isinstance(part, int) and part < len(node)
        if not (in_map or in_seq):
            return None
        node = node[part]  # type: ignore[index]
    return node


def mapping(node: object) -> CommentedMap | None:
    return node if isinstance(node, CommentedMap) else None


def items(node: object) -> Iterator[tuple[int, CommentedMap]]:
    """The mapping items of a sequence node, with their indices (anything else yields nothing)."""
    if isinstance(node, CommentedSeq):
        for i, item in enumerate(node):
            if isinstance(item, CommentedMap):
                yield i, item


def entries(node: object) -> Iterator[tuple[str, CommentedMap]]:
    """The mapping-valued entries of a mapping node (e.g. compute profiles, environments)."""
    if isinstance(node, CommentedMap):
        for key, value in node.items():
            if isinstance(value, CommentedMap):
                yield str(key), value


# --- end-of-line comments ----------------------------------------------------------------------
# ruamel keeps the comment after `key: value` in the key's token, followed by any full-line comments
# up to the next key; only the first line belongs to the key's line.


def _token(node: CommentedMap, key: object) -> CommentToken | None:
    entry = node.ca.items.get(key)
    return entry[2] if entry and len(entry) > 2 else None


def eol(node: CommentedMap, key: object) -> str:
    """The comment on the key's line, without the '#', or ''."""
    token = _token(node, key)
    if token is None:
        return ""
    first = token.value.split("\n", 1)[0].strip()
    return first[1:].strip() if first.startswith("#") else ""


def set_eol(node: CommentedMap, key: object, text: str) -> None:
    """Replace the comment on the key's line, keeping the comment lines that follow it."""
    token = _token(node, key)
    if token is None:
        if text:
            # column 0 and a leading space: two spaces after the value, whatever its length becomes
            node.ca.items.setdefault(key, [None, None, None, None])[2] = CommentToken(f" # {text}", CommentMark(0))
        return
    first, newline, rest = token.value.partition("\n")
    if text:
        lead = " " if token.value.startswith(" ") or not first.strip() else ""
        token.value = f"{lead}# {text}{newline}{rest}"
        return
    if rest or (newline and first.strip() == ""):
        token.value = f"\n{rest}"
        return
    value = node.get(key)
    node.ca.items[key][2] = None
    if isinstance(value, CommentedMap | CommentedSeq) and value.ca.comment and value.ca.comment[0] is token:
        value.ca.comment[0] = None
    if not any(node.ca.items[key]):
        del node.ca.items[key]


def rename_key(node: CommentedMap, old: str, new: str) -> None:
    """Rename a mapping key in place: same position, same comments."""
    position = list(node.keys()).index(old)
    comments = node.ca.items.pop(old, None)
    value = node.pop(old)
    node.insert(position, new, value)
    if comments is not None:
        node.ca.items[new] = comments
        if len(comments) > 2 and comments[2] is not None and comments[2].column:
            comments[2].column = max(0, comments[2].column + len(new) - len(old))


def set_after(node: CommentedMap, key: str, value: object, after: str | None) -> None:
    """Set a key, placing a new one right after `after` (or at the end)."""
    if key in node or after is None or after not in node:
        assign(node, key, value)
        return
    node.insert(list(node.keys()).index(after) + 1, key, value)
