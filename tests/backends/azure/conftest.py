"""Plans of the azure backend, shared by the tests (planning is the slow part: each spec once per run)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from azure_plans import Plan, fraud_plan, text_plan


def pytest_configure(config: pytest.Config) -> None:
    # azure-ai-ml (the second check, and the REST form of pipeline jobs) still calls marshmallow 3 APIs
    config.addinivalue_line("filterwarnings", "ignore::marshmallow.warnings.RemovedInMarshmallow4Warning")
    config.addinivalue_line("filterwarnings", "ignore::marshmallow.warnings.ChangedInMarshmallow4Warning")


@pytest.fixture
def fraud() -> Callable[[str | None], Plan]:
    return fraud_plan


@pytest.fixture
def planned() -> Callable[[str], Plan]:
    return text_plan
