"""`mlstack validate` and `mlstack schema`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from mlstack.commands.options import EnvOpt, SpecFile, SpecPositional, TargetOpt, spec_path


def register(app: typer.Typer) -> None:
    app.command()(validate)
    app.command()(schema)


def validate(
    spec: SpecPositional = None,
    file: SpecFile = None,
    env: EnvOpt = None,
    target: TargetOpt = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Check a spec: types, references, names, the target's limits and what its backend would refuse (on
    the local target also that the files it names exist). Warnings say where the target does something
    other than the spec says; they do not fail. Exit 0 valid, 1 invalid, 2 usage.

    Example: mlstack validate -f specs/fraud-detection.yaml --env prod --target gcp"""
    from mlstack.errors import SpecInvalid
    from mlstack.validate import check_file

    spec = spec_path(file, spec)
    report = check_file(spec, env=env, target=target, apply=True)
    warnings = [w.as_dict() for w in report.warnings]
    if report.errors:
        if json_output:
            errors = [e.as_dict() for e in report.errors]
            typer.echo(json.dumps({"valid": False, "errors": errors, "warnings": warnings}, indent=2))
            raise typer.Exit(1)
        _print_warnings(report.warnings)
        raise SpecInvalid(report.errors)
    loaded = report.loaded
    assert loaded is not None
    s = loaded.spec
    counts = {
        "model groups": len(s.registry.model_groups),
        "feature views": len(s.feature_store.views),
        "pipelines": len(s.pipelines),
        "endpoints": len(s.endpoints),
        "monitors": len(s.monitors),
    }
    if json_output:
        result = {"valid": True, "target": loaded.cloud, "environment": env, "counts": counts, "warnings": warnings}
        typer.echo(json.dumps(result, indent=2))
        return
    _print_warnings(report.warnings)
    summary = ", ".join(f"{n} {what}" for what, n in counts.items())
    where = f" ({env})" if env else ""
    typer.echo(f"{spec}{where}: valid for {loaded.cloud}: {summary}")


def _print_warnings(warnings: list) -> None:
    from rich.console import Console
    from rich.markup import escape

    console = Console(stderr=True, highlight=False, soft_wrap=True)
    for warning in warnings:
        console.print(f"[yellow]warning[/yellow] {escape(warning.render())}", markup=True, emoji=False)


def schema(
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Where to write the JSON Schema; '-' for stdout.")
    ] = Path("specs/mlstack.schema.json"),
    reference: Annotated[
        Path | None, typer.Option("--reference", help="Also write the markdown spec reference here.")
    ] = None,
) -> None:
    """Write the spec's JSON Schema (for editor completion via yaml-language-server).

    Example: mlstack schema -o specs/mlstack.schema.json --reference specs/REFERENCE.md"""
    from mlstack.spec.schema import schema_text

    if reference is not None:
        from mlstack.spec.reference import render

        reference.write_text(render(), encoding="utf-8")
        typer.echo(f"wrote {reference}")
    text = schema_text()
    if str(output) == "-":
        typer.echo(text, nl=False)
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    typer.echo(f"wrote {output}")
