"""The wheel, not the checkout: build it (non-editable), install it into a fresh virtualenv, and run the
commands a user runs from a directory that has nothing of this repository but the spec files they
wrote. Dependencies come from this interpreter's site-packages (`--system-site-packages`); mlstack itself
must come from the wheel, which the test checks before anything else."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import venv
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from tests.engine.conftest import IRIS_MONITOR

REPO = Path(__file__).resolve().parents[2]
SOURCES = ("pyproject.toml", "setup.py", "README.md", "mlstack", "templates", "specs/quickstart")


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The bin/ directory of a virtualenv holding the built wheel."""
    root = tmp_path_factory.mktemp("wheel")
    source = root / "source"
    source.mkdir()
    for name in SOURCES:
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(REPO / name, source / name)
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(root / "dist"), str(source)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = (root / "dist").glob("mlstack-*.whl")
    venv.create(root / "venv", system_site_packages=True, with_pip=True)
    bin_dir = root / "venv" / "bin"
    done = subprocess.run(
        [bin_dir / "python", "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    yield bin_dir


def run(bin_dir: Path, cwd: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MLSTACK_DEBUG", "VIRTUAL_ENV")}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
    env["COLUMNS"] = "250"
    return subprocess.run(
        [bin_dir / "mlstack", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    """A user's directory: their specs, nothing else of this repository."""
    shutil.copy(REPO / "specs" / "fraud-detection.yaml", tmp_path / "fraud.yaml")
    shutil.copy(REPO / "specs" / "quickstart.yaml", tmp_path / "quickstart.yaml")
    shutil.copytree(
        REPO / "specs" / "quickstart", tmp_path / "quickstart", ignore=shutil.ignore_patterns("__pycache__")
    )
    return tmp_path


def test_mlstack_runs_from_the_wheel_not_the_checkout(installed: Path, elsewhere: Path) -> None:
    where = subprocess.run(
        [installed / "python", "-c", "import mlstack, mlstack.paths as p; print(mlstack.__file__); print(p.TEMPLATES)"],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
        check=True,
    ).stdout.split()
    venv_root = installed.parent.resolve()
    assert all(Path(p).resolve().is_relative_to(venv_root) for p in where), where
    assert (Path(where[1]) / "github" / "mlstack-review.yml").is_file()


def test_validate_plan_diff_migrate_and_init_ci_from_an_unrelated_directory(installed: Path, elsewhere: Path) -> None:
    validated = run(installed, elsewhere, "validate", "fraud.yaml")
    assert validated.returncode == 0, validated.stderr
    for target in ("aws", "gcp", "azure"):
        planned = run(installed, elsewhere, "plan", "fraud.yaml", "--target", target, "--json")
        assert planned.returncode == 0, f"{target}: {planned.stderr}"
        types = {r["type"] for r in json.loads(planned.stdout)}
        assert any(t.startswith("mlstack:endpoint:") for t in types), target

    head = yaml.safe_load((elsewhere / "fraud.yaml").read_text())
    head["endpoints"][0]["strategy"]["percent"] = 20
    (elsewhere / "head.yaml").write_text(yaml.safe_dump(head, sort_keys=False))
    diffed = run(installed, elsewhere, "diff", "fraud.yaml", "head.yaml", "--format", "markdown")
    assert diffed.returncode == 2, diffed.stderr  # changes
    assert "canary 10% → 20%" in diffed.stdout

    migrated = run(installed, elsewhere, "migrate", "fraud.yaml", "--to", "gcp", "-o", "fraud-gcp.yaml")
    assert migrated.returncode == 0, migrated.stderr
    assert yaml.safe_load((elsewhere / "fraud-gcp.yaml").read_text())["target"]["cloud"] == "gcp"

    source = "mlstack[aws] @ git+https://example.invalid/platform/mlstack@0123abc"
    ci = run(installed, elsewhere, "init-ci", "-f", "fraud.yaml", "--requirement", source)
    assert ci.returncode == 0, ci.stderr
    flow = yaml.safe_load((elsewhere / ".github" / "workflows" / "mlstack-review.yml").read_text())
    assert flow["env"]["MLSTACK_PACKAGE"] == source
    # installed from a local wheel file: a CI runner could not reach it, so init-ci asks rather than guess
    unknown = run(installed, elsewhere, "init-ci", "-f", "fraud.yaml", "--dir", "other", "--force")
    assert unknown.returncode == 1 and "pass --requirement" in unknown.stderr

    made = run(installed, elsewhere, "init", "platform", "--target", "local")
    assert made.returncode == 0, made.stderr
    assert (elsewhere / "platform" / "quickstart" / "iris.csv").is_file()
    assert run(installed, elsewhere / "platform", "validate", "mlstack.yaml").returncode == 0


def test_monitor_report_from_the_wheel(installed: Path, elsewhere: Path) -> None:
    spec = elsewhere / "quickstart.yaml"
    data = yaml.safe_load(spec.read_text())
    data["monitors"] = [IRIS_MONITOR]
    spec.write_text(yaml.safe_dump(data, sort_keys=False))
    up = run(installed, elsewhere, "up", str(spec))
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        url = next(w for w in up.stdout.split() if w.startswith("http://127.0.0.1") and "/invocations" in w)
        token = {"Authorization": f"Bearer {(elsewhere / '.mlstack' / 'token').read_text().strip()}"}
        for row in ([5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3], [5.9, 3.0, 4.2, 1.5]) * 10:
            assert httpx.post(url, json={"instances": [row]}, headers=token, timeout=30).status_code == 200
        ran = run(installed, elsewhere, "monitor", "run", "iris-drift", "-f", str(spec))
        assert ran.returncode == 0, ran.stderr
        report = elsewhere / "drift.html"
        written = run(installed, elsewhere, "monitor", "report", "iris-drift", "-f", str(spec), "--out", str(report))
        assert written.returncode == 0, written.stderr
        html = report.read_text()
        assert "<figcaption>petal_length</figcaption>" in html and "<figcaption>petal_width</figcaption>" in html
    finally:
        run(installed, elsewhere, "down", str(spec))
