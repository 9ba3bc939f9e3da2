"""`mlstack migrate`: one spec rewritten for another target, with a report of every change.

The steps run in order on one round-trip YAML tree: names first (later steps find objects by their
new names), then the target section, compute, serving, monitors, and finally the data locations no
migration can move. The written text is validated for its new target and every environment."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError

from mlstack.errors import MlstackError, SpecError, SpecInvalid
from mlstack.migrate import document
from mlstack.migrate.batch import migrate_batch_jobs
from mlstack.migrate.compute import migrate_compute
from mlstack.migrate.context import Context
from mlstack.migrate.locations import migrate_locations
from mlstack.migrate.monitors import migrate_monitors
from mlstack.migrate.names import migrate_names
from mlstack.migrate.report import Report
from mlstack.migrate.serving import migrate_serving
from mlstack.migrate.target import migrate_target
from mlstack.spec import loads, pydantic_errors
from mlstack.spec.models import CLOUDS, Spec
from mlstack.spec.yaml_loader import parse

STEPS = (
    migrate_names,
    migrate_target,
    migrate_compute,
    migrate_serving,
    migrate_batch_jobs,
    migrate_monitors,
    migrate_locations,
)


@dataclass(frozen=True)
class Migration:
    text: str
    report: Report


def read_spec(text: str, file: str) -> Spec:
    """The spec's models (types only: a spec that does not validate for its own target may still move)."""
    doc = parse(text, file)
    try:
        return Spec.model_validate(doc.data)
    except ValidationError as exc:
        raise SpecInvalid(pydantic_errors.convert(exc, doc, Spec)) from None


def validate(text: str, file: str, environments: list[str]) -> list[SpecError]:
    """Every problem of the written spec, on its own and under each environment, once each."""
    errors: dict[str, SpecError] = {}
    for env in [None, *environments]:
        try:
            loads(text, file=file, env=env)
        except SpecInvalid as exc:
            for error in exc.errors:
                errors.setdefault(error.render(), error)
    return list(errors.values())


def _covered(error: SpecError, report: Report) -> bool:
    for change in report.changes:
        if change.grade != "unsupported":
            continue
        shorter = min(len(change.path), len(error.path))
        if shorter and change.path[:shorter] == error.path[:shorter]:
            return True
    return False


def plan_problems(text: str, file: str, environments: list[str]) -> list[SpecError] | None:
    """What the target's backend refuses when it plans the spec offline (Pulumi mocks), once each; None
    when the target has no backend to ask yet."""
    from mlstack.plan import plan
    from mlstack.resolve import resolve

    problems: dict[str, SpecError] = {}
    for env in [None, *environments]:
        try:
            plan(resolve(loads(text, file=file, env=env)))
        except ModuleNotFoundError as exc:  # a backend that is not written (or installed) yet: nothing to check
            if not (exc.name or "").startswith("mlstack.backends"):
                raise
            return None
        except SpecInvalid as exc:
            for error in exc.errors:
                problems.setdefault(error.render(), error)
        except Exception as exc:
            where = f" (environment {env})" if env else ""
            reason = (
                str(exc) if isinstance(exc, MlstackError) else f"{type(exc).__name__}: {exc} (a bug in the backend)"
            )
            error = SpecError(f"the {loads(text).cloud} backend cannot plan it{where}: {reason}", (), file)
            problems.setdefault(error.render(), error)
    return list(problems.values())


def finish(report: Report, text: str, output: str, environments: list[str], check_plan: bool = False) -> None:
    """Locate every change in the written text and record what still keeps it from validating (and, when
    asked, from planning)."""
    doc = parse(text, output)
    for change in report.changes:
        change.line = doc.locate(change.path, key=True)[0]
        change.also_lines = tuple(doc.locate(path, key=True)[0] for path in change.also)
    report.errors = validate(text, output, environments)
    if not report.errors:
        _differences(report, text, output)
    if check_plan and not report.errors and (problems := plan_problems(text, output, environments)) is not None:
        report.errors = problems
        report.planned = not problems
    for error in report.errors:
        if not _covered(error, report):
            what = "does not validate" if report.planned is None else "does not plan"
            change = report.add(error.path, "unsupported", what, error.message)
            change.line = error.line


def _differences(report: Report, text: str, output: str) -> None:
    """Where the target cannot mean exactly what the written spec says (mlstack.resolve.differences)."""
    from mlstack.resolve import resolve
    from mlstack.resolve.differences import differences

    resolved = resolve(loads(text, file=output))
    for difference in differences(resolved):
        change = report.add(
            difference.path, "approximate", f"on {resolved.cloud}: {difference.capability}", difference.message
        )
        change.line = resolved.loaded.doc.locate(difference.path, key=True)[0]


def migrate(
    text: str, to: str, file: str = "<spec>", output: str = "<migrated>", check_plan: bool = False
) -> Migration:
    if to not in CLOUDS:
        raise MlstackError(f"unknown target '{to}'; expected one of: {', '.join(CLOUDS)}")
    spec = read_spec(text, file)
    root, yaml = document.load(text)
    report = Report(title=f"migrate {spec.name}: {spec.target.cloud} → {to}", source=file, output=output)
    ctx = Context(root, spec.target.cloud, to, report)
    for step in STEPS:
        step(ctx)
    written = document.dump(root, yaml)
    finish(report, written, output, list(spec.environments), check_plan)
    return Migration(written, report)
