"""`mlstack plan`: what a spec becomes on a target, offline."""

from __future__ import annotations

from typing import Annotated

import typer

from mlstack.commands.options import EnvOpt, SpecFile, SpecPositional, TargetOpt, spec_path


def register(app: typer.Typer) -> None:
    app.command()(plan)


def plan(
    spec: SpecPositional = None,
    file: SpecFile = None,
    target: TargetOpt = None,
    env: EnvOpt = None,
    json_output: Annotated[bool, typer.Option("--json", help="A sorted list of {type, name, parent, inputs}.")] = False,
) -> None:
    """Show the cloud resources a spec produces, computed offline under Pulumi mocks (no credentials).

    Example: mlstack plan -f specs/fraud-detection.yaml --target aws --env prod"""
    from mlstack.plan import planned_apart, to_json
    from mlstack.resolve import resolve
    from mlstack.resolve.differences import located
    from mlstack.spec import load

    resolved = resolve(load(spec_path(file, spec), env=env, target=target))
    (resources,) = planned_apart(resolved)
    for warning in located(resolved):
        typer.echo(f"warning: {warning.render()}", err=True)
    if json_output:
        typer.echo(to_json(resources), nl=False)
        return
    from rich.console import Console
    from rich.tree import Tree

    where = f"{resolved.cloud}" + (f" ({resolved.region})" if resolved.region else "")
    tree = Tree(f"[bold]{resolved.name}[/bold] on {where}: {len(resources)} resources")
    nodes: dict[str | None, Tree] = {None: tree}
    pending = list(resources)
    # Parents are registered before children, but the list is sorted by type: attach in waves.
    while pending:
        ready = [r for r in pending if r.parent in nodes]
        rest = [r for r in pending if r.parent not in nodes]
        for r in ready:
            nodes[r.key] = nodes[r.parent].add(f"{r.type} [cyan]{r.name}[/cyan]")
        if len(rest) == len(pending):
            for r in rest:
                nodes[r.key] = tree.add(f"{r.type} [cyan]{r.name}[/cyan] (parent {r.parent})")
            break
        pending = rest
    Console(highlight=False).print(tree)
