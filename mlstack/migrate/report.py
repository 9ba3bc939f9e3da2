"""What a migration or an import changed, graded for a reviewer: exact, approximate (why, and what it
costs), or unsupported (what the user must decide). Rendered as markdown and as JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Literal

from mlstack.errors import Path, SpecError, format_path

Grade = Literal["exact", "approximate", "unsupported"]
GRADES: tuple[Grade, ...] = ("exact", "approximate", "unsupported")


@dataclass
class Change:
    path: Path
    grade: Grade
    what: str
    why: str = ""  # approximate: why this is the closest; unsupported: what the user must decide
    before: object = None
    after: object = None
    price_delta_usd_hour: float | None = None
    also: tuple[Path, ...] = ()  # further places the same change rewrote (references to a renamed object)
    line: int | None = None  # in the written spec, filled in once it is dumped
    also_lines: tuple[int, ...] = ()

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "path": format_path(self.path),
            "line": self.line,
            "grade": self.grade,
            "what": self.what,
        }
        if self.why:
            out["why" if self.grade != "unsupported" else "decide"] = self.why
        if self.before is not None or self.after is not None:
            out["before"], out["after"] = self.before, self.after
        if self.price_delta_usd_hour is not None:
            out["price_delta_usd_hour"] = self.price_delta_usd_hour
        if self.also:
            out["also"] = [
                {"path": format_path(p), "line": n} for p, n in zip(self.also, self.also_lines, strict=False)
            ]
        return out


@dataclass
class Report:
    title: str  # "migrate fraud-detection: aws → gcp"
    source: str  # file or account/region read
    output: str  # the spec written
    changes: list[Change] = field(default_factory=list)
    errors: list[SpecError] = field(default_factory=list)  # what keeps the written spec from validating (planning)
    planned: bool | None = None  # None: planning was not checked

    def add(self, path: Path, grade: Grade, what: str, why: str = "", **extra: object) -> Change:
        change = Change(tuple(path), grade, what, why, **extra)  # type: ignore[arg-type]
        self.changes.append(change)
        return change

    @property
    def valid(self) -> bool:
        return not self.errors

    def counts(self) -> dict[str, int]:
        return {grade: sum(1 for c in self.changes if c.grade == grade) for grade in GRADES}

    def lines(self, *grades: Grade) -> set[int]:
        """Lines of the written spec that changes of these grades touched."""
        return {n for c in self.changes if c.grade in grades for n in (c.line, *c.also_lines) if n is not None}

    def summary(self) -> str:
        counts = ", ".join(f"{n} {grade}" for grade, n in self.counts().items())
        state = self.state()
        return f"{self.title}: {counts}; {self.output} {state}"

    def state(self) -> str:
        if self.planned:
            return "validates and plans offline"
        if self.planned is False:
            return f"validates but does not plan yet ({len(self.errors)} problems)"
        return "validates" if self.valid else f"does not validate yet ({len(self.errors)} problems)"

    def as_dict(self) -> dict[str, object]:
        return {
            "title": self.title,
            "source": self.source,
            "output": self.output,
            "valid": self.valid,
            "planned": self.planned,
            "counts": self.counts(),
            "changes": [c.as_dict() for c in self.changes],
            "errors": [e.as_dict() for e in self.errors],
        }

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2, ensure_ascii=False) + "\n"

    def to_markdown(self) -> str:
        out = [f"# {self.title}", "", f"- source: `{self.source}`", f"- written: `{self.output}`"]
        counts = self.counts()
        out.append(f"- changes: {', '.join(f'{n} {grade}' for grade, n in counts.items())}")
        out.append(f"- the written spec {self.state()}")
        if self.errors:
            out += ["", "**Not ready yet**: the unsupported items below say what to decide."]
        headings = {
            "unsupported": ("Unsupported: the user must decide", "decide"),
            "approximate": ("Approximate", "why"),
            "exact": ("Exact", "note"),
        }
        for grade in ("unsupported", "approximate", "exact"):
            rows = [c for c in self.changes if c.grade == grade]
            if not rows:
                continue
            title, column = headings[grade]
            out += ["", f"## {title} ({len(rows)})", "", f"| line | path | change | {column} | price Δ $/h |"]
            out.append("|---|---|---|---|---|")
            for c in rows:
                price = "" if c.price_delta_usd_hour is None else f"{c.price_delta_usd_hour:+.3f}"
                cells = [str(c.line or ""), f"`{format_path(c.path)}`", c.what, c.why, price]
                out.append("| " + " | ".join(_cell(x) for x in cells) + " |")
        if self.errors:
            out += ["", "## Problems", ""]
            out += [f"- `{e.render()}`" for e in self.errors]
        return "\n".join(out) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
