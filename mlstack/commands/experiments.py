"""Experiments, lineage and the audit trail of the local emulator: `mlstack runs list|show|compare`,
`mlstack lineage ENDPOINT|MODEL@VERSION` and `mlstack audit`."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mlstack.commands.local import _client, _console
from mlstack.commands.options import EnvOpt, JsonOpt, SpecFile, write_output

if TYPE_CHECKING:
    from rich.console import Console

runs_app = typer.Typer(help="Pipeline runs on the local emulator as experiments.", no_args_is_help=True)
PipelineOpt = Annotated[str | None, typer.Option("--pipeline", "-p", help="Only this pipeline's runs.")]
LimitOpt = Annotated[int, typer.Option("--limit", "-n", min=1, max=1000, help="How many recent runs.")]
PLOT_FORMATS = (".png", ".svg")
LATEST = "latest"
SPAN = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def register(app: typer.Typer) -> None:
    app.add_typer(runs_app, name="runs")
    app.command()(lineage)
    app.command()(audit)


def _filter(pipeline: str | None, limit: int) -> dict[str, Any]:
    return {"limit": limit, **({"pipeline": pipeline} if pipeline else {})}


def _when(epoch: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(epoch)) if epoch else "-"


def _short(text: str | None, n: int = 12) -> str:
    return text[:n] if text else "-"


def _number(value: float) -> str:
    return f"{value:.4g}"


@runs_app.command("list")
def list_runs(
    pipeline: PipelineOpt = None,
    limit: LimitOpt = 20,
    file: SpecFile = None,
    env: EnvOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Recent runs, newest first: status, parameters, the last value of each metric, data hash and commit.

    Example: mlstack runs list -f specs/quickstart.yaml"""
    rows = _client(file, env).get("/v1/experiments/runs", **_filter(pipeline, limit))
    if json_output:
        typer.echo(json.dumps(rows, indent=2))
        return
    from rich.markup import escape
    from rich.table import Table

    table = Table("run", "status", "started", "params", "metrics", "data", "commit", "registered", box=None)
    for r in rows:
        table.add_row(
            r["id"],
            r["status"],
            _when(r["started_at"]),
            escape(", ".join(f"{k}={v}" for k, v in r["params"].items())),
            ", ".join(f"{k}={_number(v)}" for k, v in r["metrics"].items()),
            _short(r["data_sha256"]),
            _short(r["code_commit"], 10),
            ", ".join(f"{v['group']} v{v['version']}" for v in r["registered"]),
        )
    _console().print(table)


@runs_app.command("show")
def show_run(
    run: Annotated[str, typer.Argument(help="The run id (see `mlstack runs list`), or `latest`.")],
    file: SpecFile = None,
    env: EnvOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """One run: parameters and metrics per step (with each logged time series), artifacts, data, code, image.

    Example: mlstack runs show latest -f specs/quickstart.yaml"""
    client = _client(file, env)
    if run == LATEST:
        from mlstack.errors import MlstackError

        newest = client.get("/v1/experiments/runs", limit=1)
        if not newest:
            raise MlstackError("no runs yet; `mlstack pipeline run NAME` starts one")
        run = newest[0]["id"]
    record = client.get(f"/v1/experiments/runs/{run}")
    if json_output:
        typer.echo(json.dumps(record, indent=2))
        return
    _print_run(_console(), record)


def _print_run(console: Console, record: dict[str, Any]) -> None:
    from rich.markup import escape
    from rich.table import Table

    lineage = record["lineage"]
    console.print(f"[bold]{record['id']}[/bold]  pipeline {record['pipeline']}  {record['status']}  ({record['trigger']})")
    console.print(f"  started {_when(record['started_at'])}, finished {_when(record['finished_at'])}")
    if record["message"]:
        console.print(f"  {escape(record['message'].splitlines()[0])}")
    data = lineage.get("data_uri")
    console.print(f"  data: {escape(data) if data else '-'} sha256 {lineage.get('data_sha256') or '-'}")
    dirty = " (with uncommitted changes)" if lineage.get("code_dirty") else ""
    console.print(f"  code: commit {lineage.get('code_commit') or '- (not a git checkout)'}{dirty}")
    console.print(f"  image: {escape(str(lineage.get('image') or '-'))}, digest {lineage.get('image_digest') or '-'}")
    params = Table("step", "param", "value", "", box=None, title="Parameters", title_justify="left")
    for p in record["params_by_step"]:
        params.add_row(p["step"], p["key"], escape(p["value"]), "logged" if p["logged"] else "")
    console.print(params)
    metrics = Table("step", "metric", "last", "points", "min", "max", box=None, title="Metrics", title_justify="left")
    for (step, key), values in _series(record["metrics_by_step"]).items():
        metrics.add_row(step, key, _number(values[-1]), str(len(values)), _number(min(values)), _number(max(values)))
    console.print(metrics)
    artifacts = Table("step", "artifact", "bytes", "sha256", box=None, title="Artifacts", title_justify="left")
    for a in record["artifacts"]:
        artifacts.add_row(a["step"], escape(a["path"]), str(a["bytes"]), _short(a["sha256"]))
    console.print(artifacts)
    for v in record["registered"]:
        console.print(f"registered {v['group']} v{v['version']} ({v['approval']})")


def _series(metrics: list[dict[str, Any]]) -> dict[tuple[str, str], list[float]]:
    out: dict[tuple[str, str], list[float]] = {}
    for m in metrics:
        out.setdefault((m["step"], m["key"]), []).append(m["value"])
    return out


@runs_app.command("compare")
def compare_runs(
    runs: Annotated[list[str] | None, typer.Argument(help="Run ids; the recent runs when none are named.")] = None,
    pipeline: PipelineOpt = None,
    limit: LimitOpt = 10,
    plot: Annotated[str | None, typer.Option("--plot", help="Plot this metric across the runs (needs -o).")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="The plot file: .png or .svg.")] = None,
    file: SpecFile = None,
    env: EnvOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Runs side by side: each parameter (the ones that differ marked) and metric; --plot draws one metric
    across the runs (its time series where a step logged one, else its final value) to a PNG or SVG.

    Example: mlstack runs compare -f specs/quickstart.yaml --plot accuracy -o accuracy.png"""
    from mlstack.errors import MlstackError

    if plot and output is None:
        raise MlstackError("--plot needs -o FILE.png or FILE.svg")
    if output is not None and output.suffix.lower() not in PLOT_FORMATS:
        raise MlstackError(f"-o {output}: the plot is written as .png or .svg, not {output.suffix or 'no suffix'}")
    if output is not None and not plot:
        raise MlstackError("-o writes the plot of --plot METRIC; name the metric")
    client = _client(file, env)
    if runs:
        records = [client.get(f"/v1/experiments/runs/{r}") for r in runs]
    else:
        listed = client.get("/v1/experiments/runs", **_filter(pipeline, limit))
        records = [client.get(f"/v1/experiments/runs/{r['id']}") for r in reversed(listed)]
    if not records:
        raise MlstackError("no runs to compare; `mlstack pipeline run NAME` starts one")
    if plot:
        _plot(records, plot, output)  # type: ignore[arg-type]
    if json_output:
        typer.echo(json.dumps(_matrix(records), indent=2))
        return
    _print_matrix(_console(), records)


def _matrix(records: list[dict[str, Any]]) -> dict[str, Any]:
    """{"runs": [ids], "params": {name: [value per run]}, "metrics": {name: [last value per run]}}."""
    params: dict[str, list[str | None]] = {}
    metrics: dict[str, list[float | None]] = {}
    for i, record in enumerate(records):
        for p in record["params_by_step"]:
            params.setdefault(p["key"], [None] * len(records))[i] = p["value"]
        for m in record["metrics_by_step"]:
            metrics.setdefault(m["key"], [None] * len(records))[i] = m["value"]
    data = {
        "data_sha256": [r["lineage"].get("data_sha256") for r in records],
        "code_commit": [r["lineage"].get("code_commit") for r in records],
    }
    return {"runs": [r["id"] for r in records], "params": params, "metrics": metrics, "lineage": data}


def _print_matrix(console: Console, records: list[dict[str, Any]]) -> None:
    from rich.markup import escape
    from rich.table import Table

    matrix = _matrix(records)
    table = Table("", *matrix["runs"], box=None)
    for section, rows in (("param", matrix["params"]), ("lineage", matrix["lineage"])):
        for name, values in rows.items():
            differs = len({str(v) for v in values}) > 1
            label = f"[yellow]{escape(name)} *[/yellow]" if differs else escape(name)
            table.add_row(f"{section} {label}", *(escape(_short(str(v), 24)) if v is not None else "-" for v in values))
    for name, values in matrix["metrics"].items():
        table.add_row(f"metric {escape(name)}", *(_number(v) if v is not None else "-" for v in values))
    console.print(table)
    console.print("[dim]* differs between the runs[/dim]")


def _plot(records: list[dict[str, Any]], metric: str, output: Path) -> None:
    from mlstack.errors import MlstackError

    per_run = {r["id"]: [m for m in r["metrics_by_step"] if m["key"] == metric] for r in records}
    if not any(per_run.values()):
        known = sorted({m["key"] for r in records for m in r["metrics_by_step"]})
        raise MlstackError(f"no run logged metric '{metric}'; they logged: {', '.join(known) or 'no metrics'}")
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5))
    if any(m["series"] is not None for points in per_run.values() for m in points):
        for run_id, points in per_run.items():
            series = [m for m in points if m["series"] is not None]
            if series:
                ax.plot([m["series"] for m in series], [m["value"] for m in series], marker=".", label=run_id)
        ax.set_xlabel("step")
        ax.legend(fontsize="small")
    else:
        names = [run_id for run_id, points in per_run.items() if points]
        ax.bar(range(len(names)), [per_run[n][-1]["value"] for n in names])
        ax.set_xticks(range(len(names)), names, rotation=20, ha="right", fontsize="small")
    ax.set_ylabel(metric)
    ax.set_title(f"{metric} across {len(records)} runs")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format=output.suffix.lower().lstrip("."))
    plt.close(fig)
    write_output(output, buffer.getvalue())


def lineage(
    target: Annotated[str, typer.Argument(metavar="ENDPOINT|MODEL@VERSION", help="An endpoint, or group@version.")],
    file: SpecFile = None,
    env: EnvOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Where a served model came from: for each version an endpoint serves (or one registry version), the
    run, data hash, code commit and step code hashes, feature views, metrics and who approved it.

    Example: mlstack lineage iris -f specs/quickstart.yaml"""
    from mlstack.errors import MlstackError

    client = _client(file, env)
    if "@" in target:
        group, _, version = target.rpartition("@")
        if not group or not version.isdigit() or int(version) < 1:
            raise MlstackError(f"'{target}' is not MODEL@VERSION (e.g. iris-classifier@2)")
        answer = {"serving": [client.get(f"/v1/lineage/models/{group}/{int(version)}")]}
    else:
        answer = client.get(f"/v1/lineage/endpoints/{target}")
    if json_output:
        typer.echo(json.dumps(answer, indent=2))
        return
    console = _console()
    if "endpoint" in answer:
        console.print(f"[bold]endpoint {answer['endpoint']}[/bold] ({answer['status']})")
        if not answer["serving"]:
            console.print("  serves nothing yet")
    for item in answer["serving"]:
        _print_lineage(console, item)


def _print_lineage(console: Console, item: dict[str, Any]) -> None:
    from rich.markup import escape

    where = f"{item['variant']} ({item['role']}, {item['weight']}%): " if "variant" in item else ""
    console.print(f"{where}[bold]{item['group']} v{item['version']}[/bold]  {item['approval']}")
    approver = item["approver"]
    if approver:
        at = f" at {_when(approver['at'])}" if approver.get("at") else ""
        console.print(f"  approver: {escape(str(approver['who']))}{at} ({escape(approver['source'])})")
    else:
        console.print("  approver: none yet")
    run = item["run"]
    console.print(
        f"  run: {run['id']} of pipeline {run['pipeline']} ({run['status']}, {run['trigger']})"
        if run
        else f"  run: none (registered by {item['source']})"
    )
    data = item["data"]
    console.print(f"  data: {escape(str(data['uri'] or '-'))} sha256 {data['sha256'] or '-'}")
    if data["training_set_sha256"]:
        console.print(f"  training set sha256 {data['training_set_sha256']}")
    code = item["code"]
    dirty = " (with uncommitted changes)" if code["dirty"] else ""
    console.print(f"  commit: {code['commit'] or '- (not a git checkout)'}{dirty}; code sha256 {code['sha256'] or '-'}")
    for step, digest in code["steps"].items():
        console.print(f"    step {step}: sha256 {digest or '- (a module entrypoint)'}")
    features = ", ".join(
        f"{f['view']} ({f['entity']}: {', '.join(f['features'])})" if f["applied"] else f"{f['view']} (not applied now)"
        for f in item["features"]
    )
    console.print(f"  features: {escape(features) if features else 'none (the pipeline reads its data file)'}")
    console.print(f"  metrics: {', '.join(f'{k}={_number(v)}' for k, v in item['metrics'].items() if v is not None)}")
    console.print(f"  artifact sha256 {item['artifact_sha256'] or '-'}")


def _since(text: str) -> float:
    """An epoch from `30m`, `2h`, `7d`, an ISO date/time, or an epoch number."""
    from datetime import datetime

    from mlstack.errors import MlstackError

    if match := SPAN.match(text.strip()):
        return time.time() - float(match.group(1)) * UNIT[match.group(2)]
    try:
        return float(text)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        raise MlstackError(
            f"--since '{text}' is not a span (30m, 2h, 7d), an ISO date (2026-12-03T05:00) or an epoch"
        ) from None


def audit(
    since: Annotated[str | None, typer.Option("--since", help="Only records since: 30m, 2h, 7d or an ISO date.")] = None,
    action: Annotated[
        str | None, typer.Option("--action", help="Only this action: apply, approve, reject, run, deploy, rollback...")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=10_000, help="At most this many, newest.")] = 1000,
    file: SpecFile = None,
    env: EnvOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """The emulator's audit trail: every change mlstack made (apply, approve, reject, alias, run, deploy,
    rollback, monitor action), who made it, when and why; append-only, oldest first.

    Example: mlstack audit -f specs/quickstart.yaml --since 1h"""
    params: dict[str, Any] = {"limit": limit}
    if since is not None:
        params["since"] = _since(since)
    if action is not None:
        params["action"] = action
    records = _client(file, env).get("/v1/audit", **params)
    if json_output:
        typer.echo(json.dumps(records, indent=2))
        return
    from rich.markup import escape
    from rich.table import Table

    table = Table("when", "who", "action", "what", "why", box=None)
    for r in records:
        table.add_row(_when(r["at"]), escape(r["who"]), r["action"], escape(r["what"]), escape(r["why"]))
    _console().print(table)
