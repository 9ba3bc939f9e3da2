"""The whole gate, above spec, resolve and backends: load -> types and rules -> resolve -> the target
backend's located problems (what it would refuse while lowering) and warnings (where the target does
something other than the spec says). `plan`, `pulumi up` and `mlstack up` run the same functions, so
nothing they refuse passes here. No Pulumi or cloud SDK is imported."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mlstack.errors import SpecError
from mlstack.spec import LoadedSpec, check_document
from mlstack.spec.yaml_loader import Document, load_file


@dataclass(frozen=True)
class Report:
    loaded: LoadedSpec | None  # the well-typed part of the spec; None when too little of it is
    errors: list[SpecError] = field(default_factory=list)
    warnings: list[SpecError] = field(default_factory=list)


def _by_position(errors: list[SpecError]) -> list[SpecError]:
    unique = dict.fromkeys(errors)
    return sorted(unique, key=lambda e: (e.line, e.column, e.message))


def _covered(problem: SpecError, errors: list[SpecError]) -> bool:
    """A backend problem in a field that already has a type or rule error repeats it in other words."""
    return any(problem.path[: len(e.path)] == e.path for e in errors if e.path)


def check(doc: Document, env: str | None = None, target: str | None = None, *, apply: bool = False) -> Report:
    """Every problem of a document in one round. `apply` adds what applying needs beyond planning
    (on the local target: the files the spec names exist), as `mlstack validate` and `mlstack up` do."""
    from mlstack.backends import problems
    from mlstack.resolve import resolve
    from mlstack.resolve.differences import differences

    checked = check_document(doc, env=env, target=target)
    errors, warnings = list(checked.errors), []
    if checked.loaded is not None:
        try:
            resolved = resolve(checked.loaded)
            found = problems(resolved, apply=apply)
            found.warnings.extend((d.path, d.message) for d in differences(resolved))
        except Exception:
            # A spec with type or rule errors may break what the backend checks assume (references
            # resolve, items are unique); those errors are the ones to fix first.
            if not errors:
                raise
        else:
            errors += [e for e in checked.kept.relocate(found.errors, checked.loaded.doc) if not _covered(e, errors)]
            warnings = checked.kept.relocate(found.warnings, checked.loaded.doc)
    return Report(checked.loaded, _by_position(errors), _by_position(warnings))


def check_file(path: str | Path, env: str | None = None, target: str | None = None, *, apply: bool = False) -> Report:
    return check(load_file(path), env=env, target=target, apply=apply)
