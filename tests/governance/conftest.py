"""Fixtures for governance tests: the serving tests' emulator and models, with a group that passes
dev -> staging -> prod and needs two approvers for prod."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlstack.emulator import desired
from mlstack.spec import load
from tests.emulator.conftest import Emulator, emulator  # noqa: F401 - the fixture `served` starts
from tests.serving.conftest import served, spec_text  # noqa: F401

ENVIRONMENTS = """
environments:
  dev: {}
  staging: {}
  prod: {}
"""
PROMOTION = """      approval: auto
      promotion:
        stages: [dev, staging, prod]
        approvers: {prod: 2}
"""


def promoted_spec(endpoint_version: int = 2) -> str:
    """Group m (versions 1-5) with the promotion policy, and endpoint ep serving one version of it."""
    block = f"""
    - name: ep
      model: {{group: m, version: {endpoint_version}}}
      compute: {{vcpus: 1}}
    """
    text = spec_text(block, ENVIRONMENTS)
    return text.replace("      approval: auto\n", PROMOTION, 1)


def apply_env(emu: Emulator, folder: Path, text: str, env: str | None) -> dict[str, Any]:
    """Apply the spec as `mlstack up --env ENV` does."""
    spec = folder / "mlstack.yaml"
    spec.write_text(text)
    op = emu.client.post("/v1/apply", desired.build(load(spec, env=env, target="local")))
    result = emu.client.follow(op["id"], lambda event: None)
    assert result["status"] == "succeeded", result["message"]
    return result
