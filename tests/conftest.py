from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"
EXAMPLE_SPECS = sorted(SPECS.glob("*.yaml"))


@pytest.fixture
def fraud_text() -> str:
    return (SPECS / "fraud-detection.yaml").read_text()
