"""A command whose optional dependency is missing names the extra to install, not an internal error."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlstack.extras import extra_for

REPO = Path(__file__).resolve().parents[2]


def _without(module: str, *args: str) -> subprocess.CompletedProcess[str]:
    # a None entry in sys.modules makes `import module` raise ModuleNotFoundError, as if not installed
    code = f"import sys; sys.modules[{module!r}] = None; sys.argv = ['mlstack', *sys.argv[1:]]; "
    code += "from mlstack.cli import main; main()"
    env = {k: v for k, v in os.environ.items() if k != "MLSTACK_DEBUG"}
    env["PYTHONPATH"] = str(REPO)
    return subprocess.run([sys.executable, "-c", code, *args], cwd=REPO, env=env, capture_output=True, text=True)


def test_migrate_without_its_extra_says_which_to_install() -> None:
    done = _without("ruamel", "migrate", "specs/fraud-detection.yaml", "--to", "gcp")
    assert done.returncode == 1
    assert "this command needs ruamel.yaml, which is not installed: pip install 'mlstack[migrate]'" in done.stderr
    assert "internal error" not in done.stderr


@pytest.mark.parametrize(
    ("module", "extra"),
    [
        ("pulumi_aws", "aws"),
        ("google.cloud.aiplatform", "gcp"),
        ("azure", "azure"),
        ("sklearn", "local"),
        ("pulumi", "pulumi"),
    ],
)
def test_the_extra_comes_from_the_packaging_metadata(module: str, extra: str) -> None:
    assert extra_for(module) == extra
