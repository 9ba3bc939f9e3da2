"""The local target: `mlstack up`, `down`, `status`, `invoke`, and the emulator's `registry`,
`pipeline` and `features` commands. The emulator runs in the background (one per state directory);
these commands talk to it over HTTP with the token in the state directory."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mlstack.commands.options import (
    DEFAULT_SPEC,
    EnvOpt,
    JsonOpt,
    SpecFile,
    SpecPositional,
    named_spec,
    no_spec_here,
    spec_path,
)

if TYPE_CHECKING:
    from rich.console import Console

    from mlstack.emulator.client import Client
    from mlstack.emulator.layout import StateDir

SYMBOLS = {"create": ("+", "green"), "update": ("~", "yellow"), "delete": ("-", "red"), "unchanged": (" ", "dim")}

registry_app = typer.Typer(help="The local emulator's model registry.", no_args_is_help=True)
pipeline_app = typer.Typer(help="Pipelines on the local emulator.", no_args_is_help=True)
features_app = typer.Typer(help="The local emulator's feature store.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.command()(up)
    app.command()(down)
    app.command()(status)
    app.command()(invoke)
    app.add_typer(registry_app, name="registry")
    app.add_typer(pipeline_app, name="pipeline")
    app.add_typer(features_app, name="features")


def _console() -> Console:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)


def _state(named: Path | None, env: str | None) -> StateDir:
    """The state directory of the named spec (./mlstack.yaml when none is named); with no spec named
    and none here, that of the one emulator running in or below this folder."""
    from mlstack.emulator.layout import state_dir_for
    from mlstack.errors import SpecInvalid
    from mlstack.spec import load
    from mlstack.spec.models import LocalSettings

    if named is None and not DEFAULT_SPEC.is_file():
        return _running_here()
    spec = named or DEFAULT_SPEC
    # Read leniently when the spec no longer validates, so that `down` and `status` still find
    # what an earlier `up` made.
    try:
        return state_dir_for(spec, load(spec, env=env, target="local").spec.target.local.state_dir)
    except SpecInvalid:
        import yaml

        try:
            data = yaml.safe_load(spec.read_text())
            configured = data["target"]["local"]["state_dir"]
        except (OSError, yaml.YAMLError, KeyError, TypeError):
            configured = LocalSettings().state_dir
        return state_dir_for(spec, str(configured))


def _running_here() -> StateDir:
    """The one emulator running for a state directory up to two folders down (./.mlstack,
    specs/.mlstack), said on stderr; an error naming the choices otherwise."""
    from mlstack.emulator import process
    from mlstack.emulator.layout import MARKER, StateDir
    from mlstack.errors import MlstackError

    markers = sorted({*Path().glob(f"*/{MARKER}"), *Path().glob(f"*/*/{MARKER}")})
    states = [StateDir(m.parent.resolve()) for m in markers]
    live = [s for s in states if process.running(s) is not None]
    if len(live) == 1:
        typer.echo(f"no {DEFAULT_SPEC} here; using the emulator running for {live[0].root}", err=True)
        return live[0]
    if live:
        choices = "; ".join(f"{s.root} (-f {_spec_of(s) or 'its spec'})" for s in live)
        raise MlstackError(f"no {DEFAULT_SPEC} here and several emulators run: {choices}; name the spec with -f")
    raise no_spec_here()


def _spec_of(state: StateDir) -> str | None:
    """The spec file the last `mlstack up` of a state directory applied."""
    import sqlite3

    try:
        with sqlite3.connect(f"file:{state.database}?mode=ro", uri=True) as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = 'spec_file'").fetchone()
    except sqlite3.Error:
        return None
    return row[0] if row else None


def _client(spec: Path | None, env: str | None = None) -> Client:
    from mlstack.emulator.client import Client

    return Client.for_state(_state(spec, env))


def _print_plan(console: Console, plan: dict[str, Any], state: StateDir) -> None:
    from rich.markup import escape

    console.print(f"[bold]Plan[/bold] for {plan['platform']} on the local emulator ({state.root})")
    width = max((len(c["kind"]) for c in plan["changes"]), default=0)
    for change in plan["changes"]:
        symbol, colour = SYMBOLS[change["action"]]
        if change["action"] == "unchanged" and not change["details"]:
            continue
        details = f"  [dim]{escape('; '.join(change['details']))}[/dim]" if change["details"] else ""
        console.print(f"  [{colour}]{symbol} {change['kind']:<{width}}  {change['name']}[/{colour}]{details}")
    counts = plan["counts"]
    console.print(
        f"{counts['create']} to create, {counts['update']} to update, {counts['delete']} to delete, "
        f"{counts['unchanged']} unchanged."
    )


def _follow(console: Console, client: Client, op: dict[str, Any]) -> dict[str, Any]:
    """Show an operation's progress until it ends; raise its failure as an error."""
    from rich.markup import escape

    from mlstack.errors import MlstackError

    marks = {"done": "[green]✓[/green]", "step": "[cyan]•[/cyan]", "run": "[cyan]•[/cyan]", "error": "[red]✗[/red]"}
    with console.status(escape(op["description"])) as spinner:

        def show(event: dict[str, Any]) -> None:
            if event["level"] == "debug":
                return
            message = escape(event["message"].splitlines()[0])
            if event["level"] == "resource" or event["message"].endswith("running"):
                spinner.update(message)
            else:
                console.print(f"  {marks.get(event['level'], ' ')} {message}")

        final = client.follow(op["id"], show)
    if final["status"] != "succeeded":
        raise MlstackError(final["message"] or f"{op['description']} {final['status']}")
    return final


def _curl(endpoint: dict[str, Any], state: StateDir) -> str:
    body = json.dumps(endpoint.get("example") or {"instances": [[0.0]]})
    return (
        f'curl -s -X POST {endpoint["url"]} -H "Authorization: Bearer $(cat {state.token_file})" '
        f"-H 'Content-Type: application/json' -d '{body}'"
    )


def _print_endpoints(console: Console, endpoints: list[dict[str, Any]], state: StateDir, spec: Path) -> None:
    from rich.markup import escape

    for endpoint in endpoints:
        serving = ", ".join(f"{s['group']} v{s['version']}" for s in endpoint["serving"]) or "nothing yet"
        console.print(f"[bold]{endpoint['name']}[/bold]  {endpoint['url']}  serving {serving}")
        if endpoint["status"] != "ready":
            console.print(f"  [yellow]{endpoint['status']}[/yellow]: {escape(endpoint['message'])}")
        elif endpoint["serving"]:
            body = json.dumps(endpoint.get("example") or {"instances": [[0.0]]})
            console.print(f"  {escape(_curl(endpoint, state))}", markup=True)
            invoke_line = f"mlstack invoke {endpoint['name']} -f {spec} --data '{body}'"
            console.print(f"  {escape(invoke_line)}")


def up(spec: SpecPositional = None, file: SpecFile = None, env: EnvOpt = None) -> None:
    """Start (or reuse) the local emulator and apply the spec: plan, then reconcile what changed.

    Example: mlstack up -f specs/quickstart.yaml"""
    from mlstack.emulator import desired, process
    from mlstack.emulator.client import Client
    from mlstack.emulator.layout import state_dir_for
    from mlstack.spec import load

    started = time.monotonic()
    console = _console()
    spec = spec_path(file, spec)
    loaded = load(spec, env=env, target="local")
    wanted = desired.build(loaded)
    local = loaded.spec.target.local
    state = state_dir_for(spec, local.state_dir)
    with console.status("starting the local emulator"):
        info, fresh = process.ensure(state, local.port)
    console.print(f"emulator {'started' if fresh else 'running'} at {info.url} (pid {info.pid})")
    if info.recovered and any(info.recovered.values()):
        found = ", ".join(f"{n} {what.replace('_', ' ')}" for what, n in info.recovered.items() if n)
        console.print(f"[yellow]recovered from an earlier stop[/yellow]: {found} marked failed or cleaned up")
    client = Client(info.url, state.read_token(), state=state)
    plan = client.post("/v1/plan", wanted)
    _print_plan(console, plan, state)
    if plan["counts"]["create"] + plan["counts"]["update"] + plan["counts"]["delete"] == 0:
        console.print("No changes.")
        _print_endpoints(console, client.get("/v1/endpoints"), state, spec)
        return
    op = client.post("/v1/apply", wanted)
    _follow(console, client, op)
    _print_endpoints(console, client.get("/v1/endpoints"), state, spec)
    console.print(f"Applied in {time.monotonic() - started:.1f}s.")


def down(
    spec: SpecPositional = None,
    file: SpecFile = None,
    env: EnvOpt = None,
    purge: Annotated[
        bool, typer.Option("--purge", help="Also delete the state directory: models, registry, runs, captures.")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="With --purge: do not ask before deleting.")] = False,
) -> None:
    """Stop the local emulator; its state (models, registry, runs, captures) stays for the next `up`.

    With --purge, say what the state directory holds, then delete it (asking first unless --yes).

    Example: mlstack down -f specs/quickstart.yaml --purge --yes"""
    from mlstack.emulator import process
    from mlstack.errors import MlstackError

    console = _console()
    state = _state(named_spec(file, spec), env)
    if not state.root.exists():
        console.print(f"nothing to stop: {state.root} does not exist")
        return
    if not state.exists():
        raise MlstackError(f"{state.root} is not an mlstack state directory; leaving it alone")
    if purge:
        console.print(f"--purge deletes {state.root}: {_contents(state)}")
        if not yes and not _confirmed("Delete it?"):
            raise MlstackError("nothing was stopped or deleted (pass --yes to delete without asking)")
    with console.status("stopping the local emulator"):
        stopped = process.stop(state)
    if process.lock_held(state):
        raise MlstackError(f"the emulator for {state.root} did not stop; nothing was removed")
    if not purge:
        said = "stopped the emulator" if stopped else "no emulator was running"
        console.print(f"{said}; state kept in {state.root} (`mlstack down --purge` deletes it)")
        return
    import shutil

    shutil.rmtree(state.root)
    console.print(f"{'stopped the emulator and ' if stopped else ''}deleted {state.root}")


def _confirmed(question: str) -> bool:
    import sys

    if not sys.stdin.isatty():
        return False
    return typer.confirm(question, default=False)


def _contents(state: StateDir) -> str:
    """What a state directory holds, in a person's words: counts and sizes."""
    import sqlite3

    counts: dict[str, int] = {}
    try:
        with sqlite3.connect(f"file:{state.database}?mode=ro", uri=True) as conn:
            for what, sql in (
                ("model versions", "SELECT COUNT(*) FROM model_versions"),
                ("pipeline runs", "SELECT COUNT(*) FROM runs"),
                ("resources", "SELECT COUNT(*) FROM resources"),
            ):
                counts[what] = conn.execute(sql).fetchone()[0]
    except sqlite3.Error:
        pass
    captures = sum(1 for p in state.captures.rglob("*") if p.is_file()) if state.captures.exists() else 0
    size = sum(p.stat().st_size for p in state.root.rglob("*") if p.is_file())
    parts = [f"{n} {what}" for what, n in counts.items()] + [f"{captures} capture files", f"{size / 1e6:.1f} MB"]
    return ", ".join(parts)


def status(
    spec: SpecPositional = None, file: SpecFile = None, env: EnvOpt = None, json_output: JsonOpt = False
) -> None:
    """Resources, endpoint URLs, the registry and recent pipeline runs of the local emulator.

    With no spec named and no ./mlstack.yaml, it shows the one emulator running in or below this folder.

    Example: mlstack status -f specs/quickstart.yaml --json"""
    from mlstack.emulator import process
    from mlstack.emulator.client import Client

    named = named_spec(file, spec)
    state = _state(named, env)
    info = process.running(state)
    if info is None:
        if json_output:
            typer.echo(json.dumps({"running": False, "state_dir": str(state.root)}, indent=2))
        else:
            typer.echo(f"no emulator is running for {state.root}; `mlstack up -f {named or DEFAULT_SPEC}` starts it")
        return
    report = Client(info.url, state.read_token(), state=state).get("/v1/status")
    if json_output:
        typer.echo(json.dumps({"running": True, "pid": info.pid, **report}, indent=2))
        return
    _print_status(_console(), report, state, named or Path(_spec_of(state) or DEFAULT_SPEC))


def _print_status(console: Console, report: dict[str, Any], state: StateDir, spec: Path) -> None:
    from rich.markup import escape
    from rich.table import Table

    console.print(f"[bold]{report['platform'] or '(nothing applied)'}[/bold] on the local emulator at {report['url']}")
    resources = Table("kind", "name", "status", "message", box=None, title="Resources", title_justify="left")
    for r in report["resources"]:
        resources.add_row(r["kind"], r["name"], r["status"], escape(r["message"]))
    console.print(resources)
    if report["endpoints"]:
        console.print("[bold]Endpoints[/bold]")
        _print_endpoints(console, report["endpoints"], state, spec)
    versions = Table(
        "group", "version", "approval", "aliases", "metrics", box=None, title="Registry", title_justify="left"
    )
    for group in report["registry"]:
        for v in group["versions"]:
            metrics = ", ".join(f"{k}={val:.4g}" for k, val in v["metrics"].items())
            versions.add_row(group["name"], str(v["version"]), v["approval"], ", ".join(v["aliases"]), metrics)
    console.print(versions)
    runs = Table("run", "status", "trigger", "message", box=None, title="Recent runs", title_justify="left")
    for run in report["runs"]:
        runs.add_row(
            run["id"], run["status"], run["trigger"], escape(run["message"].splitlines()[0] if run["message"] else "")
        )
    console.print(runs)
    for job in report["schedules"]:
        console.print(
            f"scheduled {job['job']}: next at {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(job['next']))}"
        )


def invoke(
    endpoint: Annotated[str, typer.Argument(help="The endpoint's name.")],
    data: Annotated[str, typer.Option("--data", "-d", help="JSON body, e.g. '{\"instances\": [[1, 2]]}', or @file.")],
    file: SpecFile = None,
    env: EnvOpt = None,
) -> None:
    """Call an endpoint of the local emulator and print its JSON answer.

    Example: mlstack invoke iris -f specs/quickstart.yaml --data '{"instances": [[6.7, 3.0, 5.2, 2.3]]}'"""
    from mlstack.errors import MlstackError

    text = data
    if data.startswith("@"):
        try:
            text = Path(data[1:]).read_text()
        except OSError as exc:
            raise MlstackError(f"cannot read {data[1:]}: {exc.strerror}") from None
    try:
        body = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MlstackError(f"--data is not JSON: {exc}") from None
    answer = _client(file, env).post(f"/endpoints/{endpoint}/invocations", body)
    typer.echo(json.dumps(answer, indent=2))


@registry_app.command("approve")
def approve(
    group: Annotated[str, typer.Argument(help="The model group.")],
    version: Annotated[int, typer.Argument(help="The version number.")],
    file: SpecFile = None,
    env: EnvOpt = None,
) -> None:
    """Approve a model version; endpoints waiting for it deploy it now.

    Example: mlstack registry approve fraud-model 2 -f specs/fraud-detection.yaml"""
    _set_approval(file, env, group, version, "approved")


@registry_app.command("reject")
def reject(
    group: Annotated[str, typer.Argument(help="The model group.")],
    version: Annotated[int, typer.Argument(help="The version number.")],
    file: SpecFile = None,
    env: EnvOpt = None,
) -> None:
    """Reject a model version: no endpoint will serve it.

    Example: mlstack registry reject fraud-model 3 -f specs/fraud-detection.yaml"""
    _set_approval(file, env, group, version, "rejected")


def _set_approval(file: Path | None, env: str | None, group: str, version: int, approval: str) -> None:
    result = _client(file, env).put(f"/v1/registry/groups/{group}/versions/{version}/approval", {"approval": approval})
    typer.echo(f"{group} v{version} is {result['approval']}")
    for line in result["endpoints"]:
        typer.echo(line)


@registry_app.command("promote")
def promote(
    group: Annotated[str, typer.Argument(help="The model group.")],
    version: Annotated[int, typer.Argument(help="The version number.")],
    to: Annotated[str, typer.Option("--to", metavar="ENV", help="The stage (environment) to promote into.")],
    approver: Annotated[
        list[str], typer.Option("--approver", metavar="NAME", help="Who approved it; repeat for each approver.")
    ],
    reason: Annotated[str, typer.Option("--reason", help="Why, recorded with the promotion.")] = "",
    file: SpecFile = None,
    env: EnvOpt = None,
) -> None:
    """Promote a model version into the next stage of its group (dev -> staging -> prod), recording
    the approvers; refused when a stage is skipped or approvers are missing. Endpoints of that stage
    waiting for it deploy it now. You are recorded as the promoter ($MLSTACK_USER or $USER).

    Example: mlstack registry promote fraud-model 2 --to prod --approver alice --approver bob -f specs/fraud-detection.yaml"""
    from mlstack.identity import current_user

    body = {"to": to, "approvers": approver, "by": current_user(), "reason": reason}
    result = _client(file, env).post(f"/v1/registry/groups/{group}/versions/{version}/promotions", body)
    typer.echo(
        f"{group} v{version} promoted to {to} by {body['by']}, approved by {', '.join(approver)} "
        f"(stages: {' -> '.join(result['stages'])})"
    )
    for line in result["endpoints"]:
        typer.echo(line)


@registry_app.command("card")
def card(
    group: Annotated[str, typer.Argument(help="The model group.")],
    version: Annotated[int, typer.Argument(help="The version number.")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write it here (.html writes HTML) instead of printing.")
    ] = None,
    fmt: Annotated[
        str | None, typer.Option("--format", help="markdown or html (default: from -o's suffix, else markdown).")
    ] = None,
    file: SpecFile = None,
    env: EnvOpt = None,
) -> None:
    """A model card for a version: intended use and limitations (from the spec), metrics, the run, data
    and code that made it, approvals and promotions.

    Example: mlstack registry card iris-classifier 1 -o card.html -f specs/quickstart.yaml"""
    from mlstack.cards import FORMATS, render
    from mlstack.commands.options import write_output

    chosen = fmt or ("html" if output is not None and output.suffix.lower() in (".html", ".htm") else "markdown")
    if chosen not in FORMATS:
        raise typer.BadParameter(f"--format is markdown or html, not '{chosen}'")
    text = render(_client(file, env).get(f"/v1/registry/groups/{group}/versions/{version}/card"), chosen)
    if output is None:
        typer.echo(text, nl=False)
    else:
        write_output(output, text)


@registry_app.command("list")
def list_versions(file: SpecFile = None, env: EnvOpt = None, json_output: JsonOpt = False) -> None:
    """Model groups and their versions.

    Example: mlstack registry list -f specs/quickstart.yaml"""
    client = _client(file, env)
    groups = [
        {**g, "versions": client.get(f"/v1/registry/groups/{g['name']}/versions")}
        for g in client.get("/v1/registry/groups")
    ]
    if json_output:
        typer.echo(json.dumps(groups, indent=2))
        return
    for group in groups:
        typer.echo(f"{group['name']} (approval: {group['approval']})")
        for v in group["versions"]:
            aliases = f" [{', '.join(v['aliases'])}]" if v["aliases"] else ""
            metrics = ", ".join(f"{k}={val:.4g}" for k, val in v["metrics"].items())
            typer.echo(f"  v{v['version']} {v['approval']}{aliases} {metrics} ({v['source']})")


@pipeline_app.command("run")
def run_pipeline(
    name: Annotated[str, typer.Argument(help="The pipeline.")],
    param: Annotated[list[str] | None, typer.Option("--param", "-p", help="Override a parameter: name=value.")] = None,
    file: SpecFile = None,
    env: EnvOpt = None,
    wait: Annotated[bool, typer.Option(help="Follow the run until it ends.")] = True,
) -> None:
    """Start a pipeline run on the local emulator.

    A run whose registration step moves an alias rolls the endpoints that follow the alias to the new
    version with their strategy (canary, linear, blue/green...), as `mlstack up` would.

    Example: mlstack pipeline run train-iris -f specs/quickstart.yaml -p max_iter=300"""
    from mlstack.errors import MlstackError

    parameters: dict[str, Any] = {}
    for item in param or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise MlstackError(f"--param takes name=value, not '{item}'")
        try:
            parameters[key] = json.loads(value)
        except json.JSONDecodeError:
            parameters[key] = value
    client = _client(file, env)
    started = client.post(f"/v1/pipelines/{name}/runs", {"parameters": parameters})
    typer.echo(f"run {started['run_id']} started")
    if wait:
        _follow(_console(), client, started["operation"])


@features_app.command("materialize")
def materialize(
    view: Annotated[str, typer.Argument(help="The feature view.")],
    file: SpecFile = None,
    env: EnvOpt = None,
) -> None:
    """Copy the latest feature values from the offline source to the online store.

    Says how many of the view's online rows are within its ttl: lookups return nulls for the others.

    Example: mlstack features materialize customer-txn-stats -f specs/fraud-detection.yaml"""
    client = _client(file, env)
    result = _follow(_console(), client, client.post(f"/v1/features/{view}/materialize", {}))["result"]
    typer.echo(_freshness(view, result))


def _freshness(view: str, result: dict[str, Any]) -> str:
    said = f"wrote {result['rows']} rows of {view}; "
    if not result["ttl"]:
        return said + f"{result['online']} rows are online (the view has no ttl)"
    said += f"{result['fresh']} of {result['online']} online rows are within the ttl ({result['ttl']}s) and served"
    if result["fresh"] < result["online"]:
        newest = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(result["newest"]))
        said += f"; lookups return nulls for the other {result['online'] - result['fresh']} (newest event: {newest})"
    return said


@features_app.command("get")
def get_features(
    view: Annotated[str, typer.Argument(help="The feature view.")],
    entity: Annotated[
        list[str],
        typer.Option(
            "--entity",
            help="One entity's join keys as key=value (comma-separated for several keys); repeat for more entities.",
        ),
    ],
    feature: Annotated[
        list[str] | None, typer.Option("--feature", help="Only this feature (repeatable); all by default.")
    ] = None,
    file: SpecFile = None,
    env: EnvOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Look up online feature values, as a model server would; null where nothing is within the ttl.

    Example: mlstack features get customer-txn-stats --entity customer_id=7 --entity customer_id=8 --json"""
    entities = [_entity(item) for item in entity]
    answer = _client(file, env).post(f"/v1/features/{view}/online", {"entities": entities, "features": feature})
    rows = [{**e, **values} for e, values in zip(entities, answer["values"], strict=True)]
    if json_output:
        typer.echo(json.dumps(rows, indent=2))
        return
    from rich.table import Table

    table = Table(*rows[0], box=None)
    for row in rows:
        table.add_row(*("null" if v is None else str(v) for v in row.values()))
    _console().print(table)


def _entity(text: str) -> dict[str, str]:
    """`customer_id=7,merchant_id=3` as {"customer_id": "7", "merchant_id": "3"} (keys compare as text)."""
    from mlstack.errors import MlstackError

    entity = {}
    for pair in text.split(","):
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise MlstackError(f"--entity takes key=value[,key=value], not '{text}'")
        entity[key.strip()] = value.strip()
    return entity
