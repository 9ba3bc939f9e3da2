"""What commands share: the options, so that a spec is named the same way on every command (`-f/--file`,
`./mlstack.yaml` when absent; commands whose only argument is the spec also take it positionally, as
earlier versions did), and writing an output file."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from mlstack.errors import MlstackError

DEFAULT_SPEC = Path("mlstack.yaml")
SPEC_MARK = "apiVersion: mlstack/"

SpecFile = Annotated[
    Path | None,
    typer.Option("--file", "-f", metavar="SPEC", show_default=False, help="The spec file (default: ./mlstack.yaml)."),
]
SpecPositional = Annotated[
    Path | None,
    typer.Argument(metavar="SPEC", show_default=False, help="The spec file, as with -f."),
]
EnvOpt = Annotated[str | None, typer.Option("--env", "-e", metavar="ENV", help="Apply this environment's overrides.")]
TargetOpt = Annotated[
    str | None,
    typer.Option("--target", "-t", metavar="TARGET", help="aws, gcp, azure or local instead of the spec's own."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def named_spec(file: Path | None, positional: Path | None = None) -> Path | None:
    """The spec the user named, by -f or positionally; None when they named none."""
    if file is not None and positional is not None and file != positional:
        raise typer.BadParameter(f"two specs named: {positional} and -f {file}; name one")
    return file or positional


def spec_path(file: Path | None, positional: Path | None = None) -> Path:
    """The spec to use: the one named, else ./mlstack.yaml, else an error listing the specs nearby."""
    named = named_spec(file, positional)
    if named is not None or DEFAULT_SPEC.is_file():
        return named or DEFAULT_SPEC
    raise no_spec_here()


def no_spec_here() -> MlstackError:
    from mlstack.errors import MlstackError

    found = nearby_specs()
    hint = f"; specs here: {', '.join(f'-f {p}' for p in found)}" if found else ""
    return MlstackError(f"no {DEFAULT_SPEC} in {Path.cwd()}: name the spec with -f PATH{hint}")


def nearby_specs(limit: int = 5) -> list[Path]:
    """mlstack specs in the current folder and specs/, for hints."""
    found = []
    for pattern in ("*.yaml", "*.yml", "specs/*.yaml", "specs/*.yml"):
        for path in sorted(Path().glob(pattern)):
            try:
                with path.open(encoding="utf-8", errors="replace") as handle:
                    head = handle.read(4096)
            except OSError:
                continue
            if SPEC_MARK in head:
                found.append(path)
    return found[:limit]


def write_output(path: Path, data: str | bytes) -> None:
    """Write a command's output file and say so; a located error, not a traceback, when it cannot."""
    from mlstack.errors import MlstackError

    try:
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            path.write_text(data, encoding="utf-8")
    except OSError as exc:
        raise MlstackError(f"cannot write {path}: {exc.strerror}") from None
    typer.echo(f"wrote {path}")
