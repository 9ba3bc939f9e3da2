"""`status` and `down` as a new user meets them: status finds the emulator running for a spec in a
subfolder, down stops and keeps the state, down --purge says what it deletes first."""

from __future__ import annotations

import json
import shutil

from mlstack.emulator import process
from mlstack.emulator.layout import StateDir
from tests.emulator.conftest import REPO, cli


def test_status_down_and_purge_from_the_repository_root(tmp_path):
    specs = tmp_path / "specs"
    specs.mkdir()
    shutil.copy(REPO / "specs" / "quickstart.yaml", specs / "quickstart.yaml")
    shutil.copytree(REPO / "specs" / "quickstart", specs / "quickstart", ignore=shutil.ignore_patterns("__pycache__"))
    state = StateDir(specs / ".mlstack")
    try:
        nothing = cli("status", cwd=tmp_path)
        assert nothing.returncode == 1
        assert "no mlstack.yaml in" in nothing.stderr and "-f specs/quickstart.yaml" in nothing.stderr

        up = cli("up", "-f", "specs/quickstart.yaml", cwd=tmp_path)
        assert up.returncode == 0, up.stderr

        # No ./mlstack.yaml: plain `status` finds the one emulator running below this folder.
        found = cli("status", "--json", cwd=tmp_path)
        assert found.returncode == 0, found.stderr
        report = json.loads(found.stdout)
        assert report["running"] and report["platform"] == "quickstart"
        assert f"using the emulator running for {state.root}" in found.stderr
        assert json.loads(cli("status", "-f", "specs/quickstart.yaml", "--json", cwd=tmp_path).stdout)["running"]

        stopped = cli("down", "-f", "specs/quickstart.yaml", cwd=tmp_path)
        assert stopped.returncode == 0, stopped.stderr
        assert f"stopped the emulator; state kept in {state.root}" in stopped.stdout
        assert process.running(state) is None and state.database.is_file()
        idle = cli("status", "-f", "specs/quickstart.yaml", cwd=tmp_path)
        assert "no emulator is running for" in idle.stdout and "mlstack up -f specs/quickstart.yaml" in idle.stdout

        # The next `up` finds the trained model: nothing to create, no pipeline run.
        again = cli("up", "-f", "specs/quickstart.yaml", cwd=tmp_path)
        assert again.returncode == 0, again.stderr
        assert "0 to create, 0 to update, 0 to delete" in again.stdout

        refused = cli("down", "-f", "specs/quickstart.yaml", "--purge", cwd=tmp_path)  # no terminal to ask on
        assert refused.returncode == 1
        assert "1 model versions, 1 pipeline runs" in refused.stdout
        assert "nothing was stopped or deleted (pass --yes" in refused.stderr
        assert process.running(state) is not None and state.root.exists()

        purged = cli("down", "-f", "specs/quickstart.yaml", "--purge", "--yes", cwd=tmp_path)
        assert purged.returncode == 0, purged.stderr
        assert f"stopped the emulator and deleted {state.root}" in purged.stdout
        assert not state.root.exists()
    finally:
        process.stop(state, timeout=10)
