"""The one error type users see: a message located in the spec file."""

from __future__ import annotations

import difflib
import functools
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

PathPart = str | int
Path = tuple[PathPart, ...]


def format_path(path: Sequence[PathPart]) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


# Above this many choices, difflib compares the word only with the choices that share the most
# character trigrams with it: a spec with thousands of names must not cost millions of comparisons.
DIRECT_CHOICES = 200
CANDIDATES = 40


@functools.lru_cache(maxsize=16)
def _trigram_index(choices: tuple[str, ...]) -> dict[str, list[str]]:
    index: dict[str, list[str]] = {}
    for choice in choices:
        for gram in {choice[i : i + 3] for i in range(max(1, len(choice) - 2))}:
            index.setdefault(gram, []).append(choice)
    common = len(choices) // 10  # a trigram most names share says nothing about which is nearest
    return {gram: names for gram, names in index.items() if len(names) <= common}


def _candidates(word: str, choices: list[str]) -> list[str]:
    if len(choices) <= DIRECT_CHOICES:
        return choices
    index = _trigram_index(tuple(choices))
    shared: dict[str, int] = {}
    for gram in {word[i : i + 3] for i in range(max(1, len(word) - 2))}:
        for name in index.get(gram, ()):
            shared[name] = shared.get(name, 0) + 1
    return sorted(shared, key=lambda name: -shared[name])[:CANDIDATES]


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """A ' (did you mean X?)' suffix naming the nearest few, or '' when nothing is close enough."""
    word = str(word)[:200]
    matches = difflib.get_close_matches(word, _candidates(word, list(choices)), n=3, cutoff=0.6)
    if not matches:
        return ""
    # The nearest few: those as close as the best one (a clear winner is named alone).
    best = difflib.SequenceMatcher(None, matches[0], word).ratio()
    matches = [m for m in matches if difflib.SequenceMatcher(None, m, word).ratio() >= best - 0.05]
    return f" (did you mean {' or '.join(repr(m) for m in matches)}?)"


LISTED = 8


def printable(text: str) -> str:
    """`text` with invisible characters (zero-width, bidi controls, NUL, other controls) shown as
    \\u escapes, so a message cannot hide or reorder what it quotes."""
    if text.isascii() and text.isprintable():
        return text
    out = []
    for char in text:
        if char in "\n\t" or (char == " " or unicodedata.category(char)[0] not in "CZ"):
            out.append(char)
        else:
            out.append(char.encode("unicode_escape").decode("ascii"))
    return "".join(out)


def listing(names: Iterable[str]) -> str:
    """Names for a message, bounded: all of a few, the first `LISTED` and a count of many."""
    return _listing(tuple(names))


@functools.lru_cache(maxsize=16)
def _listing(names: tuple[str, ...]) -> str:
    shown = sorted(set(names))
    if len(shown) <= LISTED:
        return ", ".join(shown)
    return f"{', '.join(shown[:LISTED])}, ... ({len(shown)} in all)"


@dataclass(frozen=True)
class SpecError:
    message: str
    path: Path = ()
    file: str = "<spec>"
    line: int = 1
    column: int = 1

    def render(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}"
        field_path = format_path(self.path)
        text = f"{where}: {field_path}: {self.message}" if field_path else f"{where}: {self.message}"
        return printable(text)

    def as_dict(self) -> dict[str, object]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "path": format_path(self.path),
            "message": self.message,
        }


@dataclass
class SpecInvalid(Exception):
    """Raised with every problem found at once; the CLI renders the list and exits 1."""

    errors: list[SpecError] = field(default_factory=list)

    def __str__(self) -> str:
        return "\n".join(e.render() for e in self.errors)


class MlstackError(Exception):
    """A failure the user can act on (not a spec error): bad state, port in use, missing tool."""
