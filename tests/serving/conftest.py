"""Fixtures for serving tests: a real emulator on an ephemeral port, models on disk, specs whose
endpoint strategy and served version each test chooses."""

from __future__ import annotations

import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import joblib
import pytest
from sklearn.linear_model import LinearRegression

from tests.emulator.conftest import Emulator, emulator  # noqa: F401 - the fixture `served` starts

# The custom models: `double` answers, `boom` raises, `slow` hangs past the invocation timeout
# (on -1 and 999 the `picky` model does the same, so one endpoint shows every fault).
CUSTOM_MODELS = """
import time


def double(instances):
    return [2 * row[0] for row in instances]


def boom(instances):
    raise ValueError("this model always fails")


def picky(instances):
    if any(row[0] == 999 for row in instances):
        time.sleep(30)
    if any(row[0] < 0 for row in instances):
        raise ValueError("negative input")
    return [2 * row[0] for row in instances]
"""
TIMEOUT = 1.0


def write_models(folder: Path) -> None:
    """v1 answers 2x, v2 answers 2x + 100: which version answered is plain from the prediction."""
    joblib.dump(LinearRegression().fit([[0.0], [1.0]], [0.0, 2.0]), folder / "v1.joblib")
    joblib.dump(LinearRegression().fit([[0.0], [1.0]], [100.0, 102.0]), folder / "v2.joblib")
    (folder / "models.py").write_text(CUSTOM_MODELS)
    (folder / "custom.bin").write_text("custom models keep their state in code here")


def spec_text(endpoint: str, extra: str = "") -> str:
    """A platform with versions 1-2 (scikit-learn) and 3-5 (custom: double, boom, picky) of group m,
    and the given endpoint block (YAML under `endpoints:`)."""
    return (
        textwrap.dedent(
            """
        apiVersion: mlstack/v1
        name: serving
        owner: tests@example.com
        registry:
          model_groups:
            - name: m
              approval: auto
              versions:
                - {version: 1, artifact: v1.joblib}
                - {version: 2, artifact: v2.joblib}
                - {version: 3, artifact: custom.bin, framework: custom, entrypoint: "models:double"}
                - {version: 4, artifact: custom.bin, framework: custom, entrypoint: "models:boom"}
                - {version: 5, artifact: custom.bin, framework: custom, entrypoint: "models:picky"}
        endpoints:
        """
        )
        + textwrap.indent(textwrap.dedent(endpoint), "  ")
        + textwrap.dedent(extra)
    )


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest, tmp_path: Path) -> Emulator:
    """The emulator fixture, started with a 1 s invocation timeout and the test models next to its spec."""
    monkeypatch.setenv("MLSTACK_INVOCATION_TIMEOUT", str(TIMEOUT))
    write_models(tmp_path)
    return request.getfixturevalue("emulator")


def apply(emu: Emulator, folder: Path, text: str) -> dict[str, Any]:
    spec = folder / "mlstack.yaml"
    spec.write_text(text)
    result = emu.apply(spec)
    assert result["status"] == "succeeded", result["message"]
    return result


def wait_for(check: Callable[[], Any], timeout: float = 20.0, every: float = 0.1) -> Any:
    """Poll until `check` returns something truthy; fail with its last value after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            assert value, f"gave up after {timeout}s"
            return value
        time.sleep(every)


def endpoint_row(emu: Emulator, name: str = "ep") -> dict[str, Any]:
    return emu.client.get(f"/v1/resources/endpoint/{name}")
