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
    """Check a spec: types, references, names and the target's limits. Exit 0 valid, 1 invalid, 2 usage.

    Example: mlstack validate -f specs/fraud-detection.yaml --env prod --target gcp"""
    from mlstack.errors import SpecInvalid
    from mlstack.spec import load

    spec = spec_path(file, spec)
    try:
        loaded = load(spec, env=env, target=target)
    except SpecInvalid as exc:
        if json_output:
            typer.echo(json.dumps({"valid": False, "errors": [e.as_dict() for e in exc.errors]}, indent=2))
            raise typer.Exit(1) from None
        raise
    s = loaded.spec
    counts = {
        "model groups": len(s.registry.model_groups),
        "feature views": len(s.feature_store.views),
        "pipelines": len(s.pipelines),
        "endpoints": len(s.endpoints),
        "monitors": len(s.monitors),
    }
    if json_output:
        typer.echo(json.dumps({"valid": True, "target": loaded.cloud, "environment": env, "counts": counts}, indent=2))
        return
    summary = ", ".join(f"{n} {what}" for what, n in counts.items())
    where = f" ({env})" if env else ""
    typer.echo(f"{spec}{where}: valid for {loaded.cloud}: {summary}")


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
