"""`mlstack migrate` (a spec to another target) and `mlstack import` (a spec from a SageMaker platform)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mlstack.commands.options import SpecFile, SpecPositional, spec_path

if TYPE_CHECKING:
    from mlstack.migrate.report import Report

OutputOpt = Annotated[
    Path | None, typer.Option("--output", "-o", help="Where to write the spec; standard output when absent.")
]
ReportOpt = Annotated[Path | None, typer.Option("--report", help="Write the report as markdown here.")]


class Cloud(StrEnum):
    aws = "aws"
    gcp = "gcp"
    azure = "azure"
    local = "local"


class Platform(StrEnum):
    aws = "aws"


PlanOpt = Annotated[
    bool, typer.Option("--plan/--no-plan", help="Also plan the written spec offline with the target's backend.")
]
JsonReportOpt = Annotated[Path | None, typer.Option("--json-report", help="Write the report as JSON here.")]


def register(app: typer.Typer) -> None:
    app.command()(migrate)
    app.command("import")(import_platform)


def _write(text: str, output: Path | None, report: Report, markdown: Path | None, json_path: Path | None) -> None:
    """Write the spec and the reports, print the summary, and exit 1 listing what keeps the spec invalid."""
    from mlstack.errors import SpecInvalid

    if output is None:
        typer.echo(text, nl=False)
    else:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
    if markdown is not None:
        markdown.write_text(report.to_markdown(), encoding="utf-8")
    if json_path is not None:
        json_path.write_text(report.to_json(), encoding="utf-8")
    typer.echo(report.summary(), err=True)
    if markdown is None and json_path is None:
        for change in report.changes:
            if change.grade == "unsupported":
                typer.echo(f"  decide: {change.what}: {change.why}", err=True)
    if not report.valid:
        raise SpecInvalid(report.errors)


def migrate(
    to: Annotated[Cloud, typer.Option("--to", help="The target to move the spec to.")],
    spec: SpecPositional = None,
    file: SpecFile = None,
    output: OutputOpt = None,
    report: ReportOpt = None,
    json_report: JsonReportOpt = None,
    check_plan: PlanOpt = True,
) -> None:
    """Rewrite a spec for another target, with a report of every change.

    Comments and key order are kept; each change is graded exact, approximate or unsupported. Exit 1
    when the written spec does not validate (or plan) yet; it is written all the same.

    Example: mlstack migrate -f specs/fraud-detection.yaml --to gcp -o fraud-gcp.yaml --report migration.md"""
    from mlstack.migrate.migrate import migrate as run
    from mlstack.spec.yaml_loader import load_file

    spec = spec_path(file, spec)
    load_file(spec)  # unreadable, binary, oversized or broken YAML: a located error before anything else
    text = spec.read_text(encoding="utf-8-sig")
    result = run(text, to.value, file=str(spec), output=str(output) if output else "<stdout>", check_plan=check_plan)
    _write(result.text, output, result.report, report, json_report)


def import_platform(
    source: Annotated[Platform, typer.Option("--from", help="The platform to read (aws: SageMaker).")],
    region: Annotated[
        str | None, typer.Option("--region", help="Region to read; the SDK's default when absent.")
    ] = None,
    name: Annotated[
        str | None, typer.Option("--name", help="The spec's name; derived from the region when absent.")
    ] = None,
    owner: Annotated[str | None, typer.Option("--owner", help="The accountable team or person.")] = None,
    output: OutputOpt = None,
    report: ReportOpt = None,
    json_report: JsonReportOpt = None,
    check_plan: PlanOpt = True,
) -> None:
    """Write a spec from an existing SageMaker platform, with a report of what did not map.

    Reads one account and region with the environment's AWS credentials; the spec targets aws.

    Example: mlstack import --from aws --region eu-west-1 -o mlstack.yaml --report import.md"""
    from mlstack.migrate.importer import import_sagemaker

    result = import_sagemaker(
        region=region, name=name, owner=owner, output=str(output) if output else "<stdout>", check_plan=check_plan
    )
    _write(result.text, output, result.report, report, json_report)
