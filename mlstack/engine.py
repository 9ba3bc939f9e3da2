"""`mlstack deploy|destroy|refresh`: the real Pulumi engine through the Automation API.

The program is inline (served by this process; no python language host needed) and it is the very file
`pulumi up` runs: Pulumi.yaml's `main`. The workspace is the repository itself, so the stack's config is
read from `<stackConfigDir>/Pulumi.<stack>.yaml` exactly as `pulumi up -s <stack>` reads it. For the
local target the state lives in a file backend beside the emulator's state directory, unless
PULUMI_BACKEND_URL says otherwise; cloud targets use whatever backend `pulumi login` chose."""

from __future__ import annotations

import json
import os
import runpy
import shutil
import socket
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlstack.errors import MlstackError
from mlstack.project import Stack
from mlstack.targets import PROFILES

CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mlstack" / "pulumi"
INSTALL_HINT = (
    "install the Pulumi CLI (https://www.pulumi.com/docs/install/), or build it with scripts/install-pulumi.sh "
    "from an mlstack checkout"
)
WORDS = {
    "create": "created",
    "update": "updated",
    "delete": "deleted",
    "replace": "replaced",
    "create-replacement": "replaced",
    "delete-replaced": "replaced",
    "refresh": "refreshed",
    "discard": "dropped from the stack",
}
PLANNED = {"created": "create", "updated": "update", "deleted": "delete", "replaced": "replace"}
DETAIL_LIMIT = 6


class EngineFailed(MlstackError):
    """The engine ran and the operation failed (the reason was printed as it happened)."""


def cli_dir() -> Path:
    """The directory of the `pulumi` CLI to use: PATH first, then the install script's cache (newest)."""
    on_path = shutil.which("pulumi")
    if on_path:
        return Path(on_path).parent
    built = sorted(
        (p for p in CACHE.glob("*/bin/pulumi") if os.access(p, os.X_OK)),
        key=lambda p: tuple(int(x) for x in p.parent.parent.name.split(".") if x.isdigit()),
    )
    if not built:
        raise MlstackError(f"the Pulumi CLI was not found on PATH or in {CACHE}: {INSTALL_HINT}")
    return built[-1].parent


def backend_for(stack: Stack) -> tuple[str | None, Path | None]:
    """The backend URL to use (None: the user's login) and, for a file backend we chose, its directory."""
    if os.environ.get("PULUMI_BACKEND_URL"):
        return None, None
    if not emulated(stack):
        return None, None
    state = local_state(stack)
    directory = state.root.with_name(state.root.name + "-pulumi")
    return f"file://{directory}", directory


def emulated(stack: Stack) -> bool:
    """Whether the stack's target is the local emulator, which the engine starts and keeps state beside."""
    target = PROFILES.get(stack.setting("target") or "")
    return target is not None and target.emulated


def local_state(stack: Stack) -> Any:
    from mlstack.emulator.layout import state_dir_for
    from mlstack.spec import load

    loaded = load(stack.spec, env=stack.setting("env"), target="local")
    return state_dir_for(loaded.path, loaded.spec.target.local.state_dir)


def ensure_emulator(stack: Stack) -> str:
    """Start the emulator of a local stack if it is not running (as a cloud's API is simply there)."""
    from mlstack.emulator import process
    from mlstack.spec import load

    loaded = load(stack.spec, env=stack.setting("env"), target="local")
    info, _ = process.ensure(local_state(stack), loaded.spec.target.local.port)
    return info.url


def _clear_stale_locks(directory: Path) -> list[Path]:
    """Locks of this host's processes that are gone (a `kill -9` of the CLI leaves its lock behind)."""
    removed = []
    host = socket.gethostname()
    for lock in directory.glob(".pulumi/locks/**/*.json"):
        try:
            info = json.loads(lock.read_text())
        except (OSError, ValueError):
            continue
        pid = info.get("pid")
        if info.get("hostname") != host or not isinstance(pid, int):
            continue
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            lock.unlink(missing_ok=True)
            removed.append(lock)
        except PermissionError:
            continue
    return removed


def _program(stack: Stack) -> Callable[[], None]:
    main = stack.project.main

    def program() -> None:
        from pulumi.runtime import settings

        # The language host tells `pulumi up`'s program where Pulumi.yaml is; inline programs are not told.
        settings.SETTINGS.root_directory = str(stack.project.root)
        runpy.run_path(str(main), run_name="__main__")

    return program


def workspace_stack(stack: Stack) -> Any:
    from pulumi import automation as auto

    cli = cli_dir()
    backend, directory = backend_for(stack)
    env = {
        "PATH": f"{cli}{os.pathsep}{os.environ.get('PATH', '')}",
        "PULUMI_PYTHON_CMD": sys.executable,  # the dynamic-provider shim runs this interpreter
        "PULUMI_SKIP_UPDATE_CHECK": "true",
    }
    if backend is not None and directory is not None:
        directory.mkdir(parents=True, exist_ok=True)
        _clear_stale_locks(directory)
        env["PULUMI_BACKEND_URL"] = backend
        if "PULUMI_CONFIG_PASSPHRASE" not in os.environ and "PULUMI_CONFIG_PASSPHRASE_FILE" not in os.environ:
            env["PULUMI_CONFIG_PASSPHRASE"] = ""  # a local stack holds no secrets
    try:
        # PulumiCommand runs `<root>/bin/pulumi`, or `pulumi` from PATH without a root
        on_path = shutil.which("pulumi") == str(cli / "pulumi")
        command = auto.PulumiCommand() if on_path else auto.PulumiCommand(root=str(cli.parent))
    except Exception as exc:  # the SDK raises a bare Exception for a CLI that is too old or says no version
        raise MlstackError(f"the Pulumi CLI in {cli} cannot be used: {exc}; {INSTALL_HINT}") from None
    opts = auto.LocalWorkspaceOptions(work_dir=str(stack.project.root), env_vars=env, pulumi_command=command)
    return auto.create_or_select_stack(
        stack_name=stack.name, project_name=stack.project.name, program=_program(stack), opts=opts
    )


@dataclass
class Change:
    """What happened to one spec object (a `mlstack:<kind>:<Kind>` component and its resources)."""

    kind: str
    name: str
    ops: dict[str, int] = field(default_factory=dict)
    details: list[str] = field(default_factory=list)

    def words(self, planned: bool) -> str:
        said = (WORDS.get(op, op) for op in sorted(self.ops))
        if planned:  # a preview: "to create", not "created"
            said = (f"to {PLANNED.get(word, word)}" for word in said)
        return ", ".join(dict.fromkeys(said))


@dataclass
class Outcome:
    changes: dict[tuple[str, str], Change] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    resources: int = 0  # cloud resources (not mlstack's components) changed
    outputs: dict[str, Any] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return bool(self.changes)


def _leaf_changes(old: Any, new: Any, path: str = "") -> Iterator[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            yield from _leaf_changes(old.get(key), new.get(key), f"{path}.{key}" if path else str(key))
    elif old != new and not (isinstance(old, float | int) and isinstance(new, float | int) and old == new):
        yield f"{path}: {_short(old)} → {_short(new)}"


def _short(value: Any) -> str:
    text = "(none)" if value is None else json.dumps(value, sort_keys=True)
    return text if len(text) <= 60 else text[:57] + "..."


def _component(urn: str) -> tuple[str, str] | None:
    """(kind, name) of a `mlstack:<kind>:<Kind>` component URN."""
    qualified, _, name = urn.rpartition("::")
    kind_type = qualified.rpartition("::")[2].split("$")[-1]
    parts = kind_type.split(":")
    return (parts[1], name) if len(parts) == 3 and parts[0] == "mlstack" else None


class Recorder:
    """Turns the engine's events into changes per spec object."""

    def __init__(self) -> None:
        self.parents: dict[str, str] = {}
        self.outcome = Outcome()

    def __call__(self, event: Any) -> None:
        if event.diagnostic_event and event.diagnostic_event.severity == "error":
            message = event.diagnostic_event.message.strip()
            if message and message not in self.outcome.errors:
                self.outcome.errors.append(message)
        if event.resource_pre_event:
            self._step(event.resource_pre_event.metadata, done=False)
        if event.res_outputs_event:
            self._step(event.res_outputs_event.metadata, done=True)

    def _step(self, meta: Any, done: bool) -> None:
        state = meta.new or meta.old
        if state is not None and state.parent:
            self.parents[meta.urn] = state.parent
        op = str(getattr(meta.op, "value", meta.op))
        # A refresh step is known to have changed something only once it is done (its diffs);
        # every other step is recorded as it starts.
        if op in ("same", "read") or (op == "refresh") != done or (op == "refresh" and not meta.diffs):
            return
        if not meta.type.startswith(("mlstack:", "pulumi:pulumi:", "pulumi:providers:")):
            self.outcome.resources += 1
        owner = self._owner(meta.urn)
        if owner is None:
            return
        change = self.outcome.changes.setdefault(owner, Change(*owner))
        change.ops[op] = change.ops.get(op, 0) + 1
        if op in ("update", "refresh") and meta.old is not None and meta.new is not None:
            which = "outputs" if op == "refresh" else "inputs"
            old, new = getattr(meta.old, which) or {}, getattr(meta.new, which) or {}
            for line in _leaf_changes(old, new):
                if line not in change.details:
                    change.details.append(line)

    def _owner(self, urn: str) -> tuple[str, str] | None:
        seen = 0
        while urn and seen < 50:
            owner = _component(urn)
            if owner is not None:
                return owner
            urn = self.parents.get(urn, "")
            seen += 1
        return None


def summary_lines(outcome: Outcome, verb: str, planned: bool = False) -> list[str]:
    if not outcome.changes:
        return ["No changes."]
    lines = []
    for (kind, name), change in sorted(outcome.changes.items()):
        lines.append(f"{kind.replace('_', ' ')} {name}: {change.words(planned)}")
        lines.extend(f"    {d}" for d in change.details[:DETAIL_LIMIT])
        if len(change.details) > DETAIL_LIMIT:
            lines.append(f"    ... and {len(change.details) - DETAIL_LIMIT} more")
    if outcome.resources:
        lines.append(f"{outcome.resources} cloud resource{'s' if outcome.resources != 1 else ''} {verb}.")
    return lines


def run(stack: Stack, operation: str, on_output: Callable[[str], None], *, refresh_pending: bool = False) -> Outcome:
    """Run `preview`, `up`, `destroy`, `preview-destroy` or `refresh` on the stack; raise EngineFailed
    (the engine's own errors attached) when it fails."""
    from pulumi.automation import errors

    if emulated(stack) and operation in ("up", "refresh", "destroy"):
        ensure_emulator(stack)
    target = workspace_stack(stack)
    recorder = Recorder()
    common = {"on_output": on_output, "on_event": recorder, "color": "never"}
    try:
        if operation == "preview":
            target.preview(**common)
        elif operation == "up":
            target.up(**common)
            recorder.outcome.outputs = {k: v.value for k, v in target.outputs().items()}
        elif operation == "destroy":
            target.destroy(**common)
        elif operation == "preview-destroy":
            target.preview_destroy(**common)
        elif operation == "refresh":
            target.refresh(clear_pending_creates=refresh_pending or None, **common)
        else:
            raise ValueError(operation)
    except errors.CommandError as exc:
        reasons = recorder.outcome.errors or [_tail(str(exc))]
        raise EngineFailed(f"{operation} of stack {stack.name} failed:\n" + "\n".join(reasons)) from None
    return recorder.outcome


def _tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])
