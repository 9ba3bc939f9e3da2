"""Monitors and ground truth on the local emulator: `mlstack monitor run|report NAME` and
`mlstack feedback ENDPOINT --labels FILE`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from mlstack.commands.local import _client
from mlstack.commands.options import EnvOpt, JsonOpt, SpecFile, write_output

monitor_app = typer.Typer(help="Monitors on the local emulator.", no_args_is_help=True)
NameArg = Annotated[str, typer.Argument(help="The monitor's name in the spec.")]
LABEL_BATCH = 10_000


def register(app: typer.Typer) -> None:
    app.add_typer(monitor_app, name="monitor")
    app.command()(feedback)


@monitor_app.command("run")
def run(name: NameArg, file: SpecFile = None, env: EnvOpt = None, json_output: JsonOpt = False) -> None:
    """Evaluate a monitor now; a breach records an alert and runs its actions (retrain, rollback, alert).

    Example: mlstack monitor run feature-drift -f specs/fraud-detection.yaml --json"""
    result = _client(file, env).post(f"/v1/monitors/{name}/runs")
    if json_output:
        typer.echo(json.dumps(result, indent=2))
        return
    typer.echo(f"monitor {name}: {result['status']}: {result['message']}")
    for item in result["results"]:
        if item["breached"]:
            where = f"{item['column']}: " if item["column"] else ""
            typer.echo(f"  breached {where}{item['metric']} {item['value']:.4g} (threshold {item['threshold']:g})")
    for action in result["actions"]:
        typer.echo(f"  {_describe(action)}")


def _describe(action: dict[str, Any]) -> str:
    if action["type"] == "retrain":
        return f"retraining: started run {', '.join(action['runs'])}"
    if action["type"] == "rollback":
        return action["message"] if action["ok"] else f"rollback failed: {action['message']}"
    sent = "sent" if action["delivered"] else "not sent"
    return f"alert to {action['to']}: {sent} ({action['message']})"


@monitor_app.command("report")
def report(
    name: NameArg,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="The HTML file; NAME-report.html by default.")] = None,
    file: SpecFile = None,
    env: EnvOpt = None,
) -> None:
    """Write a self-contained HTML report: the metric per run with the actions taken, the metric table, and
    per-feature histograms (drift, quality) or a confusion matrix and calibration / residuals (model quality).

    Example: mlstack monitor report feature-drift -f specs/fraud-detection.yaml -o drift.html"""
    html = _client(file, env).get(f"/v1/monitors/{name}/report")
    write_output(out or Path(f"{name}-report.html"), html)


def feedback(
    endpoint: Annotated[str, typer.Argument(help="The endpoint whose answers the labels belong to.")],
    labels: Annotated[
        Path, typer.Option("--labels", "-l", help="CSV, JSON Lines or Parquet with correlation_id and label columns.")
    ],
    file: SpecFile = None,
    env: EnvOpt = None,
) -> None:
    """Send ground truth for an endpoint's answers, joined on the correlation id each answer carries.

    Example: mlstack feedback fraud-scorer --labels labels.csv -f specs/fraud-detection.yaml"""
    records = read_labels(labels)
    client = _client(file, env)
    stored = 0
    for start in range(0, len(records), LABEL_BATCH):
        batch = records[start : start + LABEL_BATCH]
        stored += client.post(f"/v1/endpoints/{endpoint}/ground-truth", {"labels": batch})["stored"]
    typer.echo(f"stored {stored} labels for endpoint {endpoint}")


def read_labels(path: Path) -> list[dict[str, Any]]:
    """{"correlation_id", "label"} records from a labels file, or an error saying what is wrong."""
    from mlstack.errors import MlstackError

    if not path.is_file():
        raise MlstackError(f"labels file {path} does not exist")
    suffix = path.suffix.lower()
    try:
        if suffix in (".jsonl", ".ndjson", ".json"):
            rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        elif suffix in (".csv", ".parquet"):
            import pandas as pd

            frame = pd.read_csv(path) if suffix == ".csv" else pd.read_parquet(path)
            rows = json.loads(frame.to_json(orient="records"))
        else:
            raise MlstackError(f"labels file {path}: use .csv, .jsonl or .parquet")
    except (OSError, ValueError) as exc:
        raise MlstackError(f"cannot read labels file {path}: {exc}") from None
    bad = next((i for i, r in enumerate(rows) if not isinstance(r, dict) or {"correlation_id", "label"} - set(r)), None)
    if bad is not None:
        raise MlstackError(f"labels file {path}: row {bad + 1} needs correlation_id and label")
    return [{"correlation_id": str(r["correlation_id"]), "label": r["label"]} for r in rows]
