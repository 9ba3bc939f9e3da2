import asyncio
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"
EXAMPLE_SPECS = sorted(SPECS.glob("*.yaml"))


@pytest.fixture
def fraud_text() -> str:
    return (SPECS / "fraud-detection.yaml").read_text()


@pytest.fixture(autouse=True)
def _a_current_event_loop():
    """Pulumi's SDK (mocks included) awaits on the main thread's current loop, as a Pulumi program has one;
    a test that ran asyncio.run() leaves none, and the next test in that worker would fail for it."""
    yield
    try:
        asyncio.get_event_loop_policy().get_event_loop()
    except RuntimeError:
        asyncio.set_event_loop(asyncio.new_event_loop())
