"""Backends lower a resolved spec to Pulumi resources, one module per target.

Each module has `build(resolved) -> None`, called inside a Pulumi program (the real engine under
`pulumi up`, or Pulumi's mocks under `mlstack plan`). Backends hold no decisions another backend
also needs: those live in mlstack.resolve and mlstack.targets."""

from __future__ import annotations

import importlib

from mlstack.errors import MlstackError
from mlstack.resolve import Resolved
from mlstack.spec.models import CLOUDS

# One backend module per target, named after it; the pip extra that installs its SDK has the same name.
BACKENDS = {cloud: f"mlstack.backends.{cloud}" for cloud in CLOUDS}
EXTRAS = {cloud: cloud for cloud in CLOUDS}
# Deploy-time rules a backend knows and validation runs (modules free of Pulumi and SDK imports):
# each has problems(resolved) -> iterable of (spec path, message).
CHECKS = {"aws": "mlstack.backends.aws.checks"}


def deploy_problems(resolved: Resolved) -> list[tuple[tuple[str | int, ...], str]]:
    module = CHECKS.get(resolved.cloud)
    return list(importlib.import_module(module).problems(resolved)) if module else []


def build(resolved: Resolved) -> None:
    try:
        module = importlib.import_module(BACKENDS[resolved.cloud])
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("mlstack"):
            raise
        raise MlstackError(
            f"the {resolved.cloud} backend needs {exc.name}: pip install 'mlstack[{EXTRAS[resolved.cloud]}]'"
        ) from None
    module.build(resolved)
