"""What every migration step works on: the editable tree, the two clouds and the report."""

from __future__ import annotations

from dataclasses import dataclass

from ruamel.yaml.comments import CommentedMap

from mlstack.errors import Path
from mlstack.migrate import markers
from mlstack.migrate.document import assign, plain
from mlstack.migrate.markers import Derive, Outcome
from mlstack.migrate.report import Report
from mlstack.targets import TargetProfile, profile


@dataclass
class Context:
    root: CommentedMap
    source: str  # the spec's cloud before the migration
    dest: str
    report: Report

    @property
    def target(self) -> TargetProfile:
        return profile(self.dest)

    def translate(
        self, node: CommentedMap, key: str, derive: Derive, native: str | None = None, **kw: object
    ) -> Outcome:
        """Translate `node[key]` with its marker (see markers.translate); the caller writes the result."""
        return markers.translate(
            plain(node.get(key)), markers.read(node, key), native or self.source, self.dest, derive, **kw
        )  # type: ignore[arg-type]

    def settle(self, node: CommentedMap, key: str, outcome: Outcome) -> object:
        """Write an outcome onto `node[key]` with its marker; the value it replaces."""
        old = plain(node.get(key))
        markers.write(node, key, outcome.marker)
        if outcome.value != old:
            assign(node, key, outcome.value)
        return old

    def restored(self, path: Path, what: str, outcome: Outcome, **extra: object) -> None:
        self.report.add(path, "exact", what, restored_note(outcome), **extra)


def restored_note(outcome: Outcome) -> str:
    return f"back to the value written for {outcome.origin.cloud} (kept in the line's `# mlstack: was …` comment)"
