"""`mlstack diff` (review a spec change offline) and `mlstack init-ci` (the GitHub workflow that posts it)."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated

import typer

from mlstack.commands.options import EnvOpt, SpecFile, spec_path


class Format(enum.StrEnum):
    text = "text"
    markdown = "markdown"
    json = "json"


def register(app: typer.Typer) -> None:
    app.command("diff")(diff)
    app.command("init-ci")(init_ci)


def diff(
    base: Annotated[
        str, typer.Argument(help="The spec before: a file, REV:path (origin/main:mlstack.yaml) or /dev/null.")
    ],
    head: Annotated[str, typer.Argument(help="The spec after, in the same forms.")],
    target: Annotated[
        str | None, typer.Option("--target", "-t", help="Plan both sides for this target instead of each spec's own.")
    ] = None,
    env: EnvOpt = None,
    fmt: Annotated[Format, typer.Option("--format", help="text, markdown (a GitHub comment) or json.")] = Format.text,
    max_cost_ratio: Annotated[
        float,
        typer.Option(min=1.0, help="A monthly total growing more than this many times is a risk (high in production)."),
    ] = 2.0,
    max_cost_increase: Annotated[
        float,
        typer.Option(
            min=0.0, help="A monthly total growing by more than these US dollars is a risk (high in production)."
        ),
    ] = 1000.0,
) -> None:
    """Review a spec change offline: summary, resources, risks, monthly cost. Exit 0 no change, 2 changes, 1 error.

    BASE and HEAD are planned under Pulumi mocks (no credentials). The summary speaks the spec's words;
    resources show as terraform plan does (+ create, ~ update, -/+ replace, - delete).

    Example: mlstack diff origin/main:mlstack.yaml mlstack.yaml --env prod --format markdown"""
    from mlstack.review.cost import Limits
    from mlstack.review.render import render
    from mlstack.review.report import review

    result = review(base, head, target=target, env=env, limits=Limits(max_cost_ratio, max_cost_increase))
    typer.echo(render(result, fmt.value), nl=False)
    if result.changed:
        raise typer.Exit(2)


def init_ci(
    file: SpecFile = None,
    directory: Annotated[Path, typer.Option("--dir", help="Where workflows live.")] = Path(".github/workflows"),
    env: EnvOpt = None,
    target: Annotated[str | None, typer.Option("--target", "-t", help="Review for this target.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite a different workflow file.")] = False,
    requirement: Annotated[
        str | None,
        typer.Option(
            "--requirement",
            help="What the job pip-installs (default: where this mlstack came from, per its PEP 610 record).",
        ),
    ] = None,
) -> None:
    """Write the GitHub workflow that reviews spec changes in pull requests.

    It validates the spec, diffs it against the pull request's base and keeps one comment up to date.
    The spec's path is taken relative to the repository root (run this there).

    Example: mlstack init-ci -f specs/fraud-detection.yaml --env prod"""
    from mlstack.review.workflow import write_workflow

    path = write_workflow(spec_path(file), directory, env=env, target=target, force=force, requirement=requirement)
    typer.echo(f"wrote {path}")
