"""Plans of the azure backend, shared by the tests (planning is the slow part: each spec once per run)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from mlstack.plan import PlannedResource, plan
from mlstack.resolve import Resolved, resolve
from mlstack.spec import load, loads

ROOT = Path(__file__).resolve().parents[3]
FRAUD = ROOT / "specs" / "fraud-detection.yaml"


SECRET_SIG = "4dabf18193072939515e22adb298388d"  # Pulumi's marker of a secret value in serialized inputs


def secret_value(value: Any) -> Any:
    """The value inside a secret input (the plan keeps Pulumi's envelope so that secrets stay visible as such)."""
    assert isinstance(value, dict) and SECRET_SIG in value, value
    return value["value"]


class Plan:
    """The planned resources of one spec, looked up by type and logical name."""

    def __init__(self, resolved: Resolved, resources: list[PlannedResource]) -> None:
        self.resolved = resolved
        self.resources = resources

    def of(self, kind: str) -> list[PlannedResource]:
        return [r for r in self.resources if r.type.rsplit(":", 1)[-1] == kind]

    def one(self, kind: str, name: str) -> PlannedResource:
        found = [r for r in self.of(kind) if r.name == name]
        assert len(found) == 1, f"{kind} {name}: {[r.name for r in self.of(kind)]}"
        return found[0]

    def inputs(self, kind: str, name: str) -> dict[str, Any]:
        return self.one(kind, name).inputs


@cache
def fraud_plan(env: str | None) -> Plan:
    resolved = resolve(load(FRAUD, env=env, target="azure"))
    return Plan(resolved, plan(resolved))


@cache
def text_plan(text: str) -> Plan:
    resolved = resolve(loads(text, target="azure"))
    return Plan(resolved, plan(resolved))
