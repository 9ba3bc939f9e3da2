"""Rejecting a served version stops it being served (auto and manual groups alike)."""

from __future__ import annotations

import httpx
import pytest

from tests.serving.conftest import apply, endpoint_row, spec_text


@pytest.mark.parametrize("approval", ["auto", "manual"])
def test_rejecting_the_served_version_stops_serving_until_it_is_approved(served, tmp_path, approval):
    block = """
    - name: ep
      model: {group: m, version: 1}
      compute: {vcpus: 1}
    """
    apply(served, tmp_path, spec_text(block).replace("approval: auto", f"approval: {approval}"))
    invoke = {"url": f"{served.info.url}/endpoints/ep/invocations", "json": {"instances": [[1.0]]}}
    auth = {"Authorization": f"Bearer {served.state.read_token()}"}
    assert httpx.post(**invoke, headers=auth, trust_env=False, timeout=30).status_code == 200

    answer = served.client.put("/v1/registry/groups/m/versions/1/approval", {"approval": "rejected"})
    assert any("m v1 was rejected" in e for e in answer["endpoints"])
    assert httpx.post(**invoke, headers=auth, trust_env=False, timeout=30).status_code == 404
    row = endpoint_row(served)
    assert row["status"] == "waiting" and "rejected" in row["message"]

    served.client.put("/v1/registry/groups/m/versions/1/approval", {"approval": "approved"})
    assert endpoint_row(served)["status"] == "ready"
    assert httpx.post(**invoke, headers=auth, trust_env=False, timeout=30).json()["predictions"] == [pytest.approx(2.0)]
