"""Backends lower a resolved spec to Pulumi resources, one module per target.

Each module has `build(resolved) -> None`, called inside a Pulumi program (the real engine under
`pulumi up`, or Pulumi's mocks under `mlstack plan`). Backends hold no decisions another backend
also needs: those live in mlstack.resolve and mlstack.targets."""

from __future__ import annotations

import importlib

from mlstack.errors import MlstackError
from mlstack.resolve import Resolved

BACKENDS = {
    "aws": "mlstack.backends.aws",
    "gcp": "mlstack.backends.gcp",
    "azure": "mlstack.backends.azure",
    "local": "mlstack.backends.local",
}
EXTRAS = {"aws": "aws", "gcp": "gcp", "azure": "azure", "local": "local"}


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
