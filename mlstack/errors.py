"""The one error type users see: a message located in the spec file."""

from __future__ import annotations

import difflib
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


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """A ' (did you mean X?)' suffix, or '' when nothing is close enough."""
    matches = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{matches[0]}'?)" if matches else ""


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
        return f"{where}: {field_path}: {self.message}" if field_path else f"{where}: {self.message}"

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
