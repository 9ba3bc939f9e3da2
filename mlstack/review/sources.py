"""The two sides of a review: a spec file, a spec at a git revision (`origin/main:specs/x.yaml`, read
with `git show`), or nothing (`/dev/null`, as in `git diff`, for a spec that does not exist yet)."""

from __future__ import annotations

import dataclasses
import subprocess
from dataclasses import dataclass
from pathlib import Path

from mlstack.errors import MlstackError, SpecInvalid
from mlstack.spec import LoadedSpec, loads
from mlstack.spec.yaml_loader import MAX_BYTES

NOTHING = "/dev/null"


@dataclass(frozen=True)
class Source:
    label: str  # what the user wrote; errors and reports name the spec by it
    text: str | None  # None: no spec on this side
    workdir_path: str  # the spec's path in the working tree: relative paths inside it resolve from there

    @property
    def directory(self) -> Path:
        return Path(self.workdir_path).resolve().parent


def read(arg: str) -> Source:
    if arg == NOTHING:
        return Source(arg, None, arg)
    path = Path(arg)
    if path.is_file():
        return Source(arg, _decode(path.read_bytes(), arg), arg)
    if ":" in arg:
        revision, _, file = arg.partition(":")
        return Source(arg, _decode(_git_show(revision, file), arg), file)
    raise MlstackError(
        f"{arg}: no such file; give a spec file, a git revision and path (REV:path, e.g. origin/main:{arg}) "
        f"or {NOTHING} for no spec"
    )


def _decode(raw: bytes, label: str) -> str:
    if len(raw) > MAX_BYTES:
        raise MlstackError(f"{label}: the spec is {len(raw) / 2**20:.1f} MiB; the limit is {MAX_BYTES // 2**20} MiB")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise MlstackError(f"{label}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def _git_show(revision: str, file: str) -> bytes:
    if not revision or not file:
        raise MlstackError(f"'{revision}:{file}': write a git revision and a path, e.g. origin/main:specs/app.yaml")
    try:
        done = subprocess.run(
            # `--end-of-options`: a revision such as `--output=x` is a revision, never an option.
            ["git", "show", "--end-of-options", f"{revision}:{file}"],
            capture_output=True,
            check=False,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
    except FileNotFoundError:
        raise MlstackError(f"reading {revision}:{file} needs git, which is not installed") from None
    if done.returncode != 0:
        reason = done.stderr.decode(errors="replace").strip().removeprefix("fatal: ")
        raise MlstackError(f"cannot read {file} at git revision {revision}: {reason}")
    return done.stdout


def load(source: Source, env: str | None, target: str | None) -> LoadedSpec | None:
    """The validated spec of one side; problems are located in the file as the user named it."""
    if source.text is None:
        return None
    try:
        return loads(source.text, file=source.workdir_path, env=env, target=target)
    except SpecInvalid as exc:
        raise SpecInvalid([dataclasses.replace(e, file=source.label) for e in exc.errors]) from None
