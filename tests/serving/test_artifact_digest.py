"""An artifact swapped in the registry after registration is refused, not loaded (loading runs code)."""

from __future__ import annotations

import shutil

from tests.serving.conftest import apply, endpoint_row, spec_text


def test_a_swapped_artifact_is_refused_at_the_next_load(served, tmp_path):
    block = """
    - name: ep
      model: {group: m, version: 1}
      compute: {vcpus: 1}
    """
    apply(served, tmp_path, spec_text(block))
    version = served.client.get("/v1/registry/groups/m/versions/1")
    assert len(version["lineage"]["artifact_sha256"]) == 64
    shutil.copy(tmp_path / "v2.joblib", version["artifact"])  # someone else's file in its place

    served.kill()
    served.restart()
    row = endpoint_row(served)
    assert row["status"] == "failed" and "is not the file registered" in row["message"], row
