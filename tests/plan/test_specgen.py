"""The benchmarks' generated platforms are valid specs on every target: a benchmark of a spec that
no longer validates measures nothing."""

import sys
from pathlib import Path

import pytest

from mlstack.spec import load

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from specgen import generate


@pytest.mark.parametrize("target", ["aws", "gcp", "azure", "local"])
@pytest.mark.parametrize("edited", [False, True])
def test_generated_specs_validate(tmp_path: Path, target: str, edited: bool) -> None:
    spec = tmp_path / "mlstack.yaml"
    spec.write_text(generate(12, target, edited=edited))
    loaded = load(spec, target=target)
    assert len(loaded.spec.endpoints) == 12
