"""Backends lower a resolved spec to Pulumi resources, one per target, all through one protocol:

- `checks.problems(resolved) -> iterable of (spec path, message)`: what the backend would refuse while
  lowering, found before anything is declared. `mlstack validate` reports them located; the lowering
  code calls the same functions, so `plan` and `pulumi up` never find a problem validate passed.
- `checks.warnings(resolved)` (optional): where the target does something other than the spec says.
- `checks.apply_problems(resolved)` (optional): what applying needs beyond planning (local files).
- `lowering.build(resolved)`: declares the resources, inside a Pulumi program (the real engine under
  `pulumi up`, or Pulumi's mocks under `mlstack plan`).
- `mocks.outputs(type, vendor name, inputs, region)` and `mocks.call(token, region)` (optional): what the
  cloud would answer, made up for `mlstack plan` so references between resources read as values.

Checks modules import no Pulumi or cloud SDK, so validation stays fast and needs no extras. Backends
hold no decisions another backend also needs: those live in mlstack.resolve and mlstack.targets."""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mlstack.errors import MlstackError, Path
from mlstack.spec.models import CLOUDS

if TYPE_CHECKING:
    from mlstack.resolve import Resolved

Problem = tuple[Path, str]


@dataclass(frozen=True)
class Backend:
    target: str
    lowering: str  # module with build(resolved), imports Pulumi
    checks: str  # module with problems(resolved), imports no Pulumi
    extra: str  # the pip extra that brings the lowering's SDKs
    mocks: str | None  # module with outputs() and call() for `mlstack plan`; None: outputs are the inputs


# The targets, in CLOUDS order (mlstack.spec.models defines the list once).
_MODULES = {
    "aws": ("mlstack.backends.aws", "mlstack.backends.aws.checks", "aws", "mlstack.backends.aws.mocks"),
    "gcp": ("mlstack.backends.gcp", "mlstack.backends.gcp.checks", "gcp", "mlstack.backends.gcp.mocks"),
    "azure": ("mlstack.backends.azure", "mlstack.backends.azure.checks", "azure", "mlstack.backends.azure.mocks"),
    "local": ("mlstack.backends.local", "mlstack.backends.local_checks", "local", None),
}
TARGETS: dict[str, Backend] = {t: Backend(t, *_MODULES[t]) for t in CLOUDS}
BACKENDS = {t: b.lowering for t, b in TARGETS.items()}
EXTRAS = {t: b.extra for t, b in TARGETS.items()}


@dataclass(frozen=True)
class Found:
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)


def problems(resolved: Resolved, *, apply: bool = False) -> Found:
    """The target backend's problems with a resolved spec (and, with `apply`, with applying it here)."""
    checks = importlib.import_module(TARGETS[resolved.cloud].checks)
    errors: list[Problem] = list(checks.problems(resolved))
    if apply and hasattr(checks, "apply_problems"):
        errors += checks.apply_problems(resolved)
    warnings: Iterable[Problem] = checks.warnings(resolved) if hasattr(checks, "warnings") else ()
    return Found(errors, list(warnings))


def mock_outputs(cloud: str, typ: str, name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    module = TARGETS[cloud].mocks
    if module is None:
        return {"name": name, **inputs}
    return importlib.import_module(module).outputs(typ, name, inputs, region)


def mock_call(cloud: str, token: str, region: str) -> dict[str, Any] | None:
    module = TARGETS[cloud].mocks
    return importlib.import_module(module).call(token, region) if module else None


def build(resolved: Resolved) -> None:
    try:
        from mlstack.backends import pickling

        pickling.guard()
        module = importlib.import_module(BACKENDS[resolved.cloud])
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("mlstack"):
            raise
        raise MlstackError(
            f"the {resolved.cloud} backend needs {exc.name}: pip install 'mlstack[{EXTRAS[resolved.cloud]}]'"
        ) from None
    module.build(resolved)
