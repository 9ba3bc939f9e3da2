"""`mlstack init` makes a repository in which validate, plan and `mlstack deploy` of its dev stack work."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mlstack.emulator import process
from mlstack.emulator.layout import StateDir
from tests.engine.conftest import client, invoke, mlstack, resources


@pytest.mark.parametrize("target", ["aws", "gcp", "azure"])
def test_a_cloud_scaffold_validates_and_plans(target: str, tmp_path: Path) -> None:
    pulumi_bin = None  # offline: no engine
    made = mlstack(pulumi_bin, tmp_path, "init", "acme-ml", "--target", target, "--requirement", ".[all]")
    assert made.returncode == 0, made.stderr
    repo = tmp_path / "acme-ml"
    spec = (repo / "mlstack.yaml").read_text()
    assert spec.startswith("# yaml-language-server: $schema=./mlstack.schema.json")
    assert (repo / "mlstack.schema.json").is_file()
    assert yaml.safe_load((repo / "stacks" / "Pulumi.dev.yaml").read_text())["config"]["mlstack:target"] == target
    assert (
        yaml.safe_load((repo / ".github" / "workflows" / "mlstack-review.yml").read_text())["env"]["MLSTACK_PACKAGE"]
        == ".[all]"
    )
    validated = mlstack(pulumi_bin, repo, "validate", "mlstack.yaml")
    assert validated.returncode == 0, validated.stdout + validated.stderr
    planned = mlstack(pulumi_bin, repo, "plan", "mlstack.yaml", "--json")
    assert planned.returncode == 0, planned.stderr
    assert any(r["type"] == "mlstack:endpoint:Endpoint" for r in yaml.safe_load(planned.stdout))
    again = mlstack(pulumi_bin, tmp_path, "init", "acme-ml", "--target", target)
    assert again.returncode == 1 and "only starts new repositories" in again.stderr


@pytest.mark.engine
def test_a_local_scaffold_deploys_and_destroys(tmp_path: Path, pulumi_bin: Path) -> None:
    made = mlstack(pulumi_bin, tmp_path, "init", "platform", "--target", "local")
    assert made.returncode == 0, made.stderr
    repo = tmp_path / "platform"
    assert (repo / "__main__.py").read_text().count("\n") <= 6, "the program is a few lines calling mlstack"
    try:
        assert mlstack(pulumi_bin, repo, "validate", "mlstack.yaml").returncode == 0
        up = mlstack(pulumi_bin, repo, "deploy", "dev", "--yes")
        assert up.returncode == 0, up.stdout + up.stderr
        state = repo / ".mlstack"
        assert resources(state) == [
            ("endpoint", "iris"),
            ("model_group", "iris-classifier"),
            ("pipeline", "train-iris"),
        ]
        with_client = client(state)
        (endpoint,) = with_client.get("/v1/endpoints")
        with_client.close()
        answer = invoke(state, endpoint["url"], [[6.7, 3.0, 5.2, 2.3]]).json()
        assert answer["predictions"] == [2]
        assert (repo / ".mlstack-pulumi" / ".pulumi").is_dir(), "a local stack's state sits beside the emulator's"
        down = mlstack(pulumi_bin, repo, "destroy", "dev", "--yes")
        assert down.returncode == 0, down.stdout + down.stderr
        assert resources(state) == []
    finally:
        process.stop(StateDir(repo / ".mlstack"), timeout=10)
