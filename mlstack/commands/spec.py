"""`mlstack validate` and `mlstack schema`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

SpecArg = Annotated[Path, typer.Argument(help="The spec file.", show_default=True)]
EnvOpt = Annotated[str | None, typer.Option("--env", "-e", help="Apply this environment's overrides.")]
TargetOpt = Annotated[
    str | None, typer.Option("--target", "-t", help="Validate for this target instead of the spec's own.")
]


def register(app: typer.Typer) -> None:
    app.command()(validate)
    app.command()(schema)


def validate(
    spec: SpecArg = Path("mlstack.yaml"),
    env: EnvOpt = None,
    target: TargetOpt = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Check a spec: types, references, names and the target's limits. Exit 0 valid, 1 invalid, 2 usage."""
    from mlstack.errors import SpecInvalid
    from mlstack.spec import load

    try:
        loaded = load(spec, env=env, target=target)
    except SpecInvalid as exc:
        if json_output:
            typer.echo(json.dumps({"valid": False, "errors": [e.as_dict() for e in exc.errors]}, indent=2))
            raise typer.Exit(1) from None
        raise
    warnings = _differences(loaded)
    s = loaded.spec
    counts = {
        "model groups": len(s.registry.model_groups),
        "feature views": len(s.feature_store.views),
        "pipelines": len(s.pipelines),
        "endpoints": len(s.endpoints),
        "monitors": len(s.monitors),
    }
    if json_output:
        result = {"valid": True, "target": loaded.cloud, "environment": env, "counts": counts}
        typer.echo(json.dumps({**result, "warnings": [w.as_dict() for w in warnings]}, indent=2))
        return
    for warning in warnings:
        typer.echo(f"warning: {warning.render()}", err=True)
    summary = ", ".join(f"{n} {what}" for what, n in counts.items())
    where = f" ({env})" if env else ""
    typer.echo(f"{spec}{where}: valid for {loaded.cloud}: {summary}")


def _differences(loaded: object) -> list:
    """Where the target cannot mean exactly what the spec says (mlstack.resolve.differences)."""
    from mlstack.resolve import resolve
    from mlstack.resolve.differences import located

    return located(resolve(loaded))  # type: ignore[arg-type]


def schema(
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Where to write the JSON Schema; '-' for stdout.")
    ] = Path("specs/mlstack.schema.json"),
    reference: Annotated[
        Path | None, typer.Option("--reference", help="Also write the markdown spec reference here.")
    ] = None,
) -> None:
    """Write the spec's JSON Schema (for editor completion via yaml-language-server)."""
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
