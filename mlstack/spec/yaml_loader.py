"""YAML loading that remembers where every key and value came from.

PyYAML's composer gives nodes with marks; we build plain Python data from them ourselves so that
duplicate keys, alias bombs and unknown tags become located errors instead of silent surprises.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path as FsPath

import yaml

from mlstack.errors import Path, SpecError, SpecInvalid

try:  # libyaml is ~10x faster; the pure-Python loader gives the same marks.
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

MAX_BYTES = 2 * 1024 * 1024
# Counting every node visit (aliases included) bounds exponential alias expansion.
MAX_NODES = 200_000
MAX_DEPTH = 64

Position = tuple[int, int]
_COLLECTION_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")


@dataclass
class Document:
    """Plain data plus the 1-based (line, column) of every value and every mapping key."""

    data: object
    file: str
    values: dict[Path, Position] = field(default_factory=dict)
    keys: dict[Path, Position] = field(default_factory=dict)

    def locate(self, path: Path, *, key: bool = False) -> Position:
        """The position of `path`, or of its closest ancestor that exists in the file."""
        probe = tuple(path)
        while True:
            if key and probe in self.keys:
                return self.keys[probe]
            if probe in self.values:
                return self.values[probe]
            if probe in self.keys:
                return self.keys[probe]
            if not probe:
                return (1, 1)
            probe = probe[:-1]

    def error(self, path: Path, message: str, *, key: bool = False) -> SpecError:
        line, column = self.locate(path, key=key)
        return SpecError(message=message, path=tuple(path), file=self.file, line=line, column=column)


class _Builder:
    def __init__(self, file: str) -> None:
        self.doc = Document(data=None, file=file)
        self.visits = 0
        self.constructor = yaml.constructor.SafeConstructor()

    def fail(self, node: yaml.Node, path: Path, message: str) -> SpecInvalid:
        mark = node.start_mark
        return SpecInvalid([SpecError(message, tuple(path), self.doc.file, mark.line + 1, mark.column + 1)])

    def build(self, node: yaml.Node, path: Path, depth: int = 0) -> object:
        self.visits += 1
        if self.visits > MAX_NODES:
            raise self.fail(
                node,
                path,
                f"the document expands to more than {MAX_NODES} nodes (an alias bomb?); mlstack refuses to expand it",
            )
        if depth > MAX_DEPTH:
            raise self.fail(node, path, f"nesting deeper than {MAX_DEPTH} levels (a recursive alias?)")
        mark = node.start_mark
        self.doc.values.setdefault(path, (mark.line + 1, mark.column + 1))
        if isinstance(node, yaml.MappingNode | yaml.SequenceNode) and node.tag not in _COLLECTION_TAGS:
            raise self.fail(node, path, f"the tag {node.tag} is not allowed; only plain YAML values are allowed")
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path, depth)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        return self._scalar(node, path)

    def _scalar(self, node: yaml.Node, path: Path) -> object:
        try:
            return self.constructor.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError as exc:
            problem = exc.problem or "cannot read this value"
            raise self.fail(node, path, f"{problem}; only plain YAML values are allowed") from None
        except (ValueError, TypeError, OverflowError) as exc:
            # `!!int 12abc`, `!!float abc`, `2024-13-45` or an integer of thousands of digits.
            shown = str(getattr(node, "value", ""))
            shown = shown if len(shown) <= 40 else shown[:37] + "..."
            reason = str(exc).split(";")[0][:120]
            raise self.fail(node, path, f"cannot read '{shown}' as {node.tag.rsplit(':', 1)[-1]}: {reason}") from None

    def _pairs(self, node: yaml.MappingNode, path: Path, depth: int) -> Iterator[tuple[yaml.Node, yaml.Node]]:
        """Key/value node pairs, with YAML merge keys (<<) expanded behind explicit keys."""
        merged: list[tuple[yaml.Node, yaml.Node]] = []
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
                for source in sources:
                    if not isinstance(source, yaml.MappingNode):
                        raise self.fail(source, path, "a merge key (<<) must name a mapping")
                    self.visits += len(source.value)
                    merged.extend(self._pairs(source, path, depth + 1))
            else:
                yield key_node, value_node
        yield from merged

    def _mapping(self, node: yaml.MappingNode, path: Path, depth: int) -> dict[str, object]:
        out: dict[str, object] = {}
        explicit: set[str] = set()
        for key_node, value_node in self._pairs(node, path, depth):
            if not isinstance(key_node, yaml.ScalarNode):
                raise self.fail(key_node, path, "mapping keys must be plain strings")
            key = str(key_node.value)
            from_merge = key_node not in {k for k, _ in node.value}
            if key in out:
                if from_merge:
                    continue  # explicit keys win over merged ones
                first = self.doc.keys[(*path, key)]
                raise self.fail(key_node, (*path, key), f"duplicate key '{key}' (first defined at line {first[0]})")
            explicit.add(key)
            kmark = key_node.start_mark
            self.doc.keys[(*path, key)] = (kmark.line + 1, kmark.column + 1)
            out[key] = self.build(value_node, (*path, key), depth + 1)
        return out


def _decode(raw: bytes, file: str) -> str:
    if b"\x00" in raw:
        offset = raw.index(b"\x00")
        line = raw.count(b"\n", 0, offset) + 1
        column = offset - (raw.rfind(b"\n", 0, offset) + 1) + 1
        raise SpecInvalid([SpecError("this is binary data, not a YAML text file", (), file, line, column)])
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise SpecInvalid(
            [SpecError(f"not UTF-8 text (byte 0x{raw[exc.start]:02x}); save the spec as UTF-8", (), file, line, column)]
        ) from None


def _yaml_error(exc: yaml.YAMLError, file: str, text: str) -> SpecError:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    message = f"{context}: {problem}" if context else str(problem)
    lines = text.splitlines()
    if 0 < line <= len(lines) and "\t" in lines[line - 1][: column + 1]:
        message += " (YAML forbids tabs for indentation: use spaces)"
    if isinstance(exc, yaml.reader.ReaderError):
        message = f"unreadable character at position {exc.position}: {exc.reason}"
    return SpecError(f"invalid YAML: {message}", (), file, line, column)


def parse(text: str, file: str = "<spec>") -> Document:
    builder = _Builder(file)
    try:
        nodes = list(yaml.compose_all(text, Loader=_Loader))
    except yaml.YAMLError as exc:
        raise SpecInvalid([_yaml_error(exc, file, text)]) from None
    except RecursionError:
        raise SpecInvalid([SpecError(f"nesting deeper than {MAX_DEPTH} levels", (), file)]) from None
    nodes = [n for n in nodes if n is not None]
    if not nodes:
        raise SpecInvalid([SpecError("the spec is empty; start with 'apiVersion: mlstack/v1'", (), file)])
    if len(nodes) > 1:
        mark = nodes[1].start_mark
        raise SpecInvalid(
            [
                SpecError(
                    "a spec holds one YAML document, this file has several", (), file, mark.line + 1, mark.column + 1
                )
            ]
        )
    data = builder.build(nodes[0], ())
    if not isinstance(data, dict):
        raise builder.fail(nodes[0], (), "the spec must be a mapping (key: value pairs) at the top level")
    builder.doc.data = data
    return builder.doc


def load_file(path: str | FsPath) -> Document:
    fs_path = FsPath(path)
    file = str(path)
    if fs_path.is_dir():
        raise SpecInvalid([SpecError("this is a directory; give the path of a spec file", (), file)])
    try:
        size = fs_path.stat().st_size
        if size > MAX_BYTES:
            raise SpecInvalid(
                [
                    SpecError(
                        f"the spec is {size / 1024 / 1024:.1f} MiB; the limit is {MAX_BYTES // 1024 // 1024} MiB",
                        (),
                        file,
                    )
                ]
            )
        raw = fs_path.read_bytes()
    except FileNotFoundError:
        raise SpecInvalid([SpecError("no such file", (), file)]) from None
    except OSError as exc:
        raise SpecInvalid([SpecError(f"cannot read the spec: {exc.strerror}", (), file)]) from None
    return parse(_decode(raw, file), file)
