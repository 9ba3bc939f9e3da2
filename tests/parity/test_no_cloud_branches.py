"""One decision, one place: outside the backends and the target dialects no code decides by a target's
name (`if cloud == "gcp"`, `dest != "local"`, `cloud in ("aws", "azure")`, a table keyed by cloud names).
It reads what the target is from its dialect (`mlstack.targets.profile(cloud)`) instead, so a new target
or a changed capability is one edit in mlstack/targets/."""

from __future__ import annotations

import ast
from pathlib import Path

from mlstack.spec.models import CLOUDS

PACKAGE = Path(__file__).resolve().parents[2] / "mlstack"
ALLOWED = ("backends", "targets")  # where a target's name may decide behaviour


def _names_a_cloud(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant):
        return node.value in CLOUDS
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return any(isinstance(e, ast.Constant) and e.value in CLOUDS for e in node.elts)
    return False


def cloud_branches(source: str) -> list[tuple[int, str]]:
    """(line, code) of each comparison with a target's name, match on one, or table keyed by them."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare) and any(_names_a_cloud(side) for side in (node.left, *node.comparators)):
            found.append((node.lineno, ast.unparse(node)))
        elif isinstance(node, ast.MatchValue) and _names_a_cloud(node.value):
            found.append((node.lineno, f"case {ast.unparse(node.value)}"))
        elif isinstance(node, ast.Dict) and any(k is not None and _names_a_cloud(k) for k in node.keys):
            found.append((node.lineno, ast.unparse(node)[:80]))
    return found


def test_the_detector_sees_each_form():
    source = """
if cloud == "gcp": pass
if (stack.setting("target") or "") != "local": pass
ok = ctx.dest in ("aws", "azure")
NEEDS = {"gcp": "the project"}
match cloud:
    case "azure": pass
same = cloud == to_cloud
kind = kind == "source"
"""
    assert [line for line, _ in cloud_branches(source)] == [2, 3, 4, 5, 7]


def test_no_decision_by_target_name_outside_backends_and_dialects():
    offenders = [
        f"{path.relative_to(PACKAGE.parent)}:{line}: {code}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.relative_to(PACKAGE).parts[0] not in ALLOWED
        for line, code in cloud_branches(path.read_text())
    ]
    assert not offenders, "read the target's dialect (mlstack.targets.profile) instead:\n" + "\n".join(offenders)
