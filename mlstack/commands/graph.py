"""`mlstack graph`: the platform a spec describes as a picture (SVG, PNG) or a Mermaid block."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated

import typer

from mlstack.commands.options import EnvOpt, SpecFile, SpecPositional, spec_path, write_output


class Format(enum.StrEnum):
    svg = "svg"
    png = "png"
    mermaid = "mermaid"


def register(app: typer.Typer) -> None:
    app.command()(graph)


def graph(
    spec: SpecPositional = None,
    file: SpecFile = None,
    env: EnvOpt = None,
    fmt: Annotated[Format, typer.Option("--format", help="svg or png (drawn by Graphviz), or mermaid.")] = Format.svg,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", metavar="FILE", help="Where to write it; stdout for mermaid, else SPEC-NAME.svg."
        ),
    ] = None,
) -> None:
    """Draw the platform: feature views → pipelines → registry → endpoints (with traffic) → monitors → actions.

    Example: mlstack graph -f specs/fraud-detection.yaml --format png -o platform.png"""
    from mlstack.graph import build, render, to_mermaid
    from mlstack.spec import load

    loaded = load(spec_path(file, spec), env=env)
    drawn = build(loaded.spec)
    if fmt is Format.mermaid:
        text = to_mermaid(drawn)
        if output is None:
            typer.echo(text, nl=False)
        else:
            write_output(output, text)
        return
    title = loaded.spec.name + (f" ({env})" if env else "")
    write_output(output or Path(f"{loaded.spec.name}.{fmt.value}"), render(drawn, fmt.value, title))
