"""Plans of the azure backend, shared by the tests (planning is the slow part: each spec once per run)."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest

import mlstack.plan
from mlstack.plan import PlannedResource, plan
from mlstack.resolve import Resolved, resolve
from mlstack.spec import load, loads

ROOT = Path(__file__).resolve().parents[3]
FRAUD = ROOT / "specs" / "fraud-detection.yaml"

_fake_outputs = mlstack.plan._fake_outputs


def _provider_shaped(typ: str, name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    """The azure-native provider returns user-assigned identities as a map keyed by identity id, where its
    inputs take a list; the plan mock echoes inputs, which Pulumi then cannot read back as the output type.
    Until mlstack.plan shapes them itself (reported to the lead), the tests do it here."""
    outputs = _fake_outputs(typ, name, inputs, region)
    identity = outputs.get("identity")
    if typ.startswith("azure-native:") and isinstance(identity, dict):
        assigned = identity.get("userAssignedIdentities")
        if isinstance(assigned, list):
            outputs["identity"] = {**identity, "userAssignedIdentities": {i: {} for i in assigned}}
    return outputs


@pytest.fixture(autouse=True, scope="session")
def _azure_native_outputs():
    mlstack.plan._fake_outputs = _provider_shaped
    yield
    mlstack.plan._fake_outputs = _fake_outputs


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


@pytest.fixture
def fraud() -> Callable[[str | None], Plan]:
    return fraud_plan


@pytest.fixture
def planned() -> Callable[[str], Plan]:
    return text_plan
