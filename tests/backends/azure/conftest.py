"""Plans of the azure backend, shared by the tests (planning is the slow part: each spec once per run)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from azure_plans import Plan, fraud_plan, text_plan

import mlstack.plan

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


def pytest_configure(config: pytest.Config) -> None:
    # azure-ai-ml (the second check, and the REST form of pipeline jobs) still calls marshmallow 3 APIs
    config.addinivalue_line("filterwarnings", "ignore::marshmallow.warnings.RemovedInMarshmallow4Warning")
    config.addinivalue_line("filterwarnings", "ignore::marshmallow.warnings.ChangedInMarshmallow4Warning")


@pytest.fixture(autouse=True, scope="package")
def _azure_native_outputs():
    mlstack.plan._fake_outputs = _provider_shaped
    yield
    mlstack.plan._fake_outputs = _fake_outputs


@pytest.fixture
def fraud() -> Callable[[str | None], Plan]:
    return fraud_plan


@pytest.fixture
def planned() -> Callable[[str], Plan]:
    return text_plan
