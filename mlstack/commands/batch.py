"""`mlstack batch`: batch scoring jobs on the local emulator (the clouds run them on their schedule)."""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer

from mlstack.commands.options import EnvOpt, JsonOpt, SpecFile

batch_app = typer.Typer(help="Batch scoring jobs on the local emulator.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(batch_app, name="batch")


@batch_app.command("run")
def run_batch(
    name: Annotated[str, typer.Argument(help="The batch job.")],
    file: SpecFile = None,
    env: EnvOpt = None,
    wait: Annotated[bool, typer.Option(help="Follow the run until it ends.")] = True,
) -> None:
    """Score a batch job's input with its model now, on the local emulator.

    Shows progress, then the rows scored, the duration and the output file.

    Example: mlstack batch run nightly-scores -f specs/batch-scoring.yaml"""
    from mlstack.commands.local import _client, _console, _follow

    client = _client(file, env)
    started = client.post(f"/v1/batch-jobs/{name}/runs")
    typer.echo(f"batch run {started['run_id']} started")
    if not wait:
        return
    _follow(_console(), client, started["operation"])
    run = client.get(f"/v1/batch-runs/{started['run_id']}")
    typer.echo(f"scored {run['rows']} rows in {run['duration_s']:.2f}s -> {run['output']}")


@batch_app.command("runs")
def list_runs(
    name: Annotated[str | None, typer.Argument(help="Only this batch job's runs.")] = None,
    file: SpecFile = None,
    env: EnvOpt = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="How many runs, newest first.")] = 20,
    json_out: JsonOpt = False,
) -> None:
    """The latest batch runs on the local emulator: status, rows scored, duration and output.

    Example: mlstack batch runs nightly-scores -f specs/batch-scoring.yaml"""
    import json

    from mlstack.commands.local import _client

    params: dict[str, Any] = {"limit": limit, **({"job": name} if name else {})}
    runs = _client(file, env).get("/v1/batch-runs", **params)
    if json_out:
        typer.echo(json.dumps(runs, indent=2))
        return
    if not runs:
        typer.echo("no batch runs yet")
    for run in runs:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(run["started_at"]))
        took = f"{run['duration_s']:.2f}s" if run["duration_s"] is not None else "-"
        detail = run["output"] if run["status"] == "succeeded" else run["message"]
        typer.echo(
            f"{run['id']}  {run['status']:<9} {when}  {run['trigger']:<8} {run['rows']:>8} rows  {took}  {detail}"
        )
