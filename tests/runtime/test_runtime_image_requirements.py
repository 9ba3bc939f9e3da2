"""The runtime image installs what its jobs import: every third-party module reachable (imports at any
depth, inside functions too) from the entry points a cloud's plan runs in the runtime image is provided by
a distribution that `mlstack[<cloud>,runtime]` requires, directly or through its dependencies; and the step
adapter, installed without dependencies into the user's image, imports only the standard library (an
optional import, inside `try: ... except ImportError`, is allowed: the adapter runs without it)."""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
import re
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from mlstack.runtime import images, wheel

PACKAGE = Path(__file__).resolve().parents[2] / "mlstack"
# the modules each cloud's plan starts in the runtime image (`python3 -m ...`)
ENTRY_POINTS = {
    "aws": ["mlstack.monitor_job", "mlstack.deploy_job"],
    "gcp": ["mlstack.backends.gcp.runtime"],
}


def _optional(tree: ast.AST) -> set[ast.AST]:
    """Import statements inside a `try` that catches ImportError: the code runs without them."""
    guarded: set[ast.AST] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try) and any(
            isinstance(h.type, ast.Name) and h.type.id in ("ImportError", "ModuleNotFoundError") for h in node.handlers
        ):
            guarded.update(n for statement in node.body for n in ast.walk(statement))
    return guarded


def _imports(module: str, seen: set[str], third_party: set[str], optional_ok: bool = False) -> None:
    """Follow mlstack's absolute imports (mlstack writes no relative ones) and collect the rest."""
    if module in seen:
        return
    seen.add(module)
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin, module
    tree = ast.parse(Path(spec.origin).read_text())
    skipped = _optional(tree) if optional_ok else set()
    for node in ast.walk(tree):
        if node in skipped:
            continue
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            if top == "mlstack":
                if _is_module(name):
                    _imports(name, seen, third_party, optional_ok)
            elif top != "__future__" and top not in sys.stdlib_module_names:
                third_party.add(top)


def _is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def _closure(extras: list[str]) -> set[str]:
    """Distribution names mlstack[extras] pulls in, following the installed distributions' metadata."""
    found: set[str] = set()
    todo = [
        (Requirement(line.removeprefix("Requires-Dist: ")), {"", *extras})
        for line in wheel._metadata()[0].splitlines()
        if line.startswith("Requires-Dist: ")
    ]
    while todo:
        requirement, active = todo.pop()
        if requirement.marker and not any(requirement.marker.evaluate({"extra": e}) for e in active):
            continue
        name = _canonical(requirement.name)
        if name in found or name == "mlstack":
            continue
        found.add(name)
        todo += [(Requirement(text), {"", *requirement.extras}) for text in importlib.metadata.requires(name) or []]
    return found


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@pytest.mark.parametrize("cloud", sorted(ENTRY_POINTS))
def test_runtime_image_requirements_cover_what_its_jobs_import(cloud):
    extras = images.runtime_image(cloud).extras.strip("[]").split(",")
    provided = _closure(extras)
    third_party: set[str] = set()
    for module in ENTRY_POINTS[cloud]:
        # an import guarded by ImportError is optional: the job says what it skipped (e.g. MLflow forwarding)
        _imports(module, set(), third_party, optional_ok=True)
    owners = importlib.metadata.packages_distributions()
    missing = {
        top: owners.get(top) for top in third_party if not {_canonical(d) for d in owners.get(top, [])} & provided
    }
    assert not missing, f"the {cloud} runtime image lacks {missing}"


@pytest.mark.parametrize("module", ["mlstack.runtime.step", "mlstack.runtime.mlflow_model"])
def test_the_step_adapter_imports_only_the_standard_library(module):
    """Both run in the user's image, where mlstack has no dependencies (mlflow_model reads model.joblib with
    the joblib the training step wrote it with, imported where it is used)."""
    third_party: set[str] = set()
    _imports(module, set(), third_party, optional_ok=True)
    assert third_party == set()
