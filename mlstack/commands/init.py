"""`mlstack init [DIR]`: start a platform repository."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    app.command()(init)


def init(
    directory: Annotated[Path, typer.Argument(help="The new repository's directory (made if missing).")] = Path("."),
    target: Annotated[
        str, typer.Option("--target", "-t", help="Where the platform runs: aws, gcp, azure or local.")
    ] = "local",
    requirement: Annotated[
        str | None,
        typer.Option("--requirement", help="What the review workflow pip-installs (default: this mlstack's source)."),
    ] = None,
) -> None:
    """Make a platform repository: mlstack.yaml, a Pulumi project calling mlstack, a dev stack, the review workflow.

    Example: mlstack init my-platform --target local"""
    from mlstack.scaffold import STACK
    from mlstack.scaffold import init as scaffold

    written, workflow_problem = scaffold(directory, target, requirement)
    for path in written:
        typer.echo(f"wrote {path}")
    if workflow_problem:
        typer.secho(f"no review workflow: {workflow_problem}; then run `mlstack init-ci`", err=True, fg="yellow")
    where = "" if directory == Path(".") else f"cd {directory} && "
    typer.echo(f"\nNext: {where}mlstack validate && mlstack plan && mlstack deploy {STACK} --preview")
