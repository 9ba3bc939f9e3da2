"""`mlstack deploy|destroy|refresh STACK`: the stack's platform through the real Pulumi engine, from
the platform repository (the nearest Pulumi.yaml). Exit codes for CI: 0 done (or nothing to do),
1 the spec, the stack or the engine failed, 2 usage, 4 confirmation needed and no terminal to ask
(pass --yes)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from mlstack.engine import Outcome
    from mlstack.project import Stack

EXIT_NEEDS_YES = 4

StackArg = Annotated[
    str, typer.Argument(help="The stack: <stackConfigDir>/Pulumi.<STACK>.yaml names spec, target, env.")
]
DirOpt = Annotated[
    Path, typer.Option("--cwd", "-C", help="Run in this directory (the nearest Pulumi.yaml above it is used).")
]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Apply without asking (needed without a terminal).")]


def register(app: typer.Typer) -> None:
    app.command()(deploy)
    app.command()(destroy)
    app.command()(refresh)


def _stack(stack: str, cwd: Path) -> Stack:
    from mlstack import project
    from mlstack.spec import load

    found = project.find(cwd).stack(stack)
    # The spec is checked here, located, before the engine starts (the program would fail the same way).
    load(found.spec, env=found.setting("env"), target=found.setting("target"))
    return found


def _progress(line: str) -> None:
    typer.echo(line)


def _summary(outcome: Outcome, title: str, verb: str, planned: bool = False) -> None:
    from mlstack.engine import summary_lines

    typer.echo("")
    typer.secho(title, bold=True)
    for line in summary_lines(outcome, verb, planned):
        typer.echo(f"  {line}")


def _confirm(question: str) -> None:
    if not sys.stdin.isatty():
        typer.echo("Not applied: no terminal to confirm on; pass --yes to apply.", err=True)
        raise typer.Exit(EXIT_NEEDS_YES)
    if not typer.confirm(question, default=False):
        typer.echo("Not applied.")
        raise typer.Exit(0)


def deploy(
    stack: StackArg,
    preview: Annotated[bool, typer.Option("--preview", help="Only show what would change.")] = False,
    yes: YesOpt = False,
    cwd: DirOpt = Path("."),
) -> None:
    """Deploy a stack with the Pulumi engine: the program `pulumi up -s STACK` runs, run by mlstack.

    Example: mlstack deploy local --preview"""
    from mlstack import engine

    found = _stack(stack, cwd)
    if preview or not yes:
        outcome = engine.run(found, "preview", _progress)
        _summary(outcome, f"Preview of stack {stack} ({found.setting('target')}):", "to change", planned=True)
        if preview or not outcome.changed:
            return
        _confirm(f"Deploy these changes to stack {stack}?")
    outcome = engine.run(found, "up", _progress)
    _summary(outcome, f"Deployed stack {stack} ({found.setting('target')}):", "changed")
    for key, value in sorted(outcome.outputs.items()):
        typer.echo(f"  {key}: {value}")


def destroy(stack: StackArg, yes: YesOpt = False, cwd: DirOpt = Path(".")) -> None:
    """Delete everything the stack deployed.

    Example: mlstack destroy local --yes"""
    from mlstack import engine

    found = _stack(stack, cwd)
    if not yes:
        outcome = engine.run(found, "preview-destroy", _progress)
        _summary(outcome, f"Destroying stack {stack} would delete:", "to delete", planned=True)
        if not outcome.changed:
            return
        _confirm(f"Delete everything stack {stack} deployed?")
    outcome = engine.run(found, "destroy", _progress)
    _summary(outcome, f"Destroyed stack {stack}:", "deleted")


def refresh(
    stack: StackArg,
    clear_pending_creates: Annotated[
        bool,
        typer.Option(
            "--clear-pending-creates",
            help="Forget creates an interrupted deploy left pending (the next deploy makes them again).",
        ),
    ] = False,
    cwd: DirOpt = Path("."),
) -> None:
    """Bring the stack's state in line with what is really deployed (after an interrupted deploy or drift).

    Example: mlstack refresh local"""
    from mlstack import engine

    found = _stack(stack, cwd)
    outcome = engine.run(found, "refresh", _progress, refresh_pending=clear_pending_creates)
    _summary(outcome, f"Refreshed stack {stack}:", "refreshed")
