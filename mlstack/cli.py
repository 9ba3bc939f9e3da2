"""The `mlstack` command. Each command group lives in mlstack.commands.<name> and registers itself;
modules import only typer/rich at top level so that `mlstack validate` starts fast."""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

# Pydantic scans every installed distribution for plugins on first use; the CLI uses none.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

import typer

from mlstack.errors import MlstackError, SpecInvalid, printable

# Each module defines register(app); keep this list sorted.
COMMAND_MODULES = (
    "mlstack.commands.batch",
    "mlstack.commands.catalog",
    "mlstack.commands.deploy",
    "mlstack.commands.experiments",
    "mlstack.commands.graph",
    "mlstack.commands.init",
    "mlstack.commands.local",
    "mlstack.commands.migrate",
    "mlstack.commands.monitor",
    "mlstack.commands.plan",
    "mlstack.commands.review",
    "mlstack.commands.spec",
)

ISSUES_URL = "https://github.com/mlstack/mlstack/issues"
MAX_SHOWN = 50  # a flood of errors is summarised with a count

app = typer.Typer(
    name="mlstack",
    help="One spec for a whole ML platform: validate, plan, review, migrate and run it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
for _module in COMMAND_MODULES:
    importlib.import_module(_module).register(app)


def _version(value: bool) -> None:
    if value:
        from mlstack import __version__

        typer.echo(f"mlstack {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    """One spec for a whole ML platform: validate, plan, review, migrate and run it."""


def command() -> Any:
    """The click command behind `app`, with help that shows no type for flags (`--json <bool>`) and
    names values by what they are (`--env ENV`, not `--env <str>`)."""
    from typer.core import TyperOption

    root = typer.main.get_command(app)
    pending = [root]
    while pending:
        cmd = pending.pop()
        pending.extend(getattr(cmd, "commands", {}).values())
        helper = cmd.get_help_option(typer.Context(cmd))
        for param in [*cmd.params, *([helper] if helper else [])]:
            if not isinstance(param, TyperOption) or param.metavar is not None:
                continue
            if param.is_flag:
                param.metavar = ""
            elif not param.type_descriptor.is_choice:
                param.metavar = (param.name or "value").upper()
    return root


def report(exc: BaseException) -> int:
    """Print an error for a person and return the exit code."""
    from rich.console import Console
    from rich.markup import escape

    console = Console(stderr=True, highlight=False, soft_wrap=True)
    if isinstance(exc, SpecInvalid):
        for error in exc.errors[:MAX_SHOWN]:
            console.print(f"[red]error[/red] {escape(error.render())}", markup=True, emoji=False)
        count = len(exc.errors)
        more = f" ({count - MAX_SHOWN} more not shown; fix these first)" if count > MAX_SHOWN else ""
        console.print(f"{count} problem{'s' if count != 1 else ''} found.{more}")
        return 1
    if isinstance(exc, MlstackError):
        console.print(f"[red]error[/red] {escape(printable(str(exc)))}", markup=True, emoji=False)
        return 1
    if isinstance(exc, ModuleNotFoundError) and exc.name and not exc.name.startswith("mlstack"):
        from mlstack.extras import extra_for

        extra = extra_for(exc.name)
        install = f"pip install 'mlstack[{extra}]'" if extra else "install it"
        console.print(
            f"[red]error[/red] this command needs {escape(exc.name)}, which is not installed: {escape(install)}",
            markup=True,
            emoji=False,
        )
        return 1
    console.print(
        f"[red]internal error[/red] {type(exc).__name__}: {escape(str(exc))}\n"
        f"This is a bug in mlstack; please report it at {ISSUES_URL} "
        "(set MLSTACK_DEBUG=1 for the traceback).",
        markup=True,
        emoji=False,
    )
    return 1


def main() -> None:
    try:
        command()(prog_name="mlstack")  # standalone: click prints usage errors and exits 2 itself
    except (SpecInvalid, MlstackError) as exc:
        sys.exit(report(exc))
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # the last line of defence: never a traceback for users
        if os.environ.get("MLSTACK_DEBUG"):
            raise
        sys.exit(report(exc))
