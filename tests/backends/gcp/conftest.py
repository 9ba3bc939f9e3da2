"""Shared fixtures: the fraud-detection spec as a GCP user writes it, and planning helpers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from mlstack.plan import PlannedResource, plan
from mlstack.resolve import resolve
from mlstack.spec import loads

ROOT = Path(__file__).resolve().parents[3]
FRAUD = ROOT / "specs" / "fraud-detection.yaml"


def fraud_text() -> str:
    return FRAUD.read_text()


class Plan:
    def __init__(self, resources: list[PlannedResource]) -> None:
        self.resources = resources

    def of(self, type_: str) -> list[PlannedResource]:
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str, name: str) -> PlannedResource:
        found = [r for r in self.resources if r.type == type_ and r.name == name]
        assert len(found) == 1, f"{type_}::{name} not planned; have {sorted(r.key for r in self.resources)}"
        return found[0]

    def inputs(self, type_: str, name: str) -> dict:
        return self.one(type_, name).inputs

    def names(self, type_: str) -> list[str]:
        return sorted(r.name for r in self.of(type_))


def plan_text(text: str, env: str | None = None) -> Plan:
    return Plan(plan(resolve(loads(text, file="spec.yaml", env=env, target="gcp"))))


@pytest.fixture(scope="session")
def plan_spec() -> Callable[..., Plan]:
    return plan_text


@pytest.fixture(scope="session")
def fraud() -> Plan:
    return plan_text(fraud_text())


@pytest.fixture
def vertex(monkeypatch: pytest.MonkeyPatch):
    """The fake Vertex in place of google.cloud.aiplatform_v1's service clients; rollout waits recorded."""
    from gcp_fakes import Metrics, Vertex
    from google.cloud import aiplatform_v1, monitoring_v3

    from mlstack.backends.gcp.providers import clients

    fake = Vertex()
    for name, factory in fake.clients().items():
        monkeypatch.setattr(aiplatform_v1, name, factory)
    fake.metrics = Metrics()
    monkeypatch.setattr(monitoring_v3, "MetricServiceClient", fake.metrics.client)
    fake.pauses = []
    monkeypatch.setattr(clients, "pause", fake.pauses.append)
    return fake
