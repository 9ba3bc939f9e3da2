"""What every migration step works on: the editable tree, the two clouds and the report."""

from __future__ import annotations

from dataclasses import dataclass

from ruamel.yaml.comments import CommentedMap

from mlstack.migrate import markers
from mlstack.migrate.document import plain
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


def restored_note(outcome: Outcome) -> str:
    return f"back to the value written for {outcome.origin.cloud} (kept in the line's `# mlstack: was …` comment)"
