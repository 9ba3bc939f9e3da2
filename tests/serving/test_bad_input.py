"""Bad client input to an endpoint is a 4xx with a reason, never counted as a model error."""

from __future__ import annotations

import httpx

from tests.serving.conftest import apply, spec_text


def test_bad_instances_are_client_errors_and_ids_come_back_as_sent(served, tmp_path):
    block = """
    - name: ep
      model: {group: m, version: 1}
      compute: {vcpus: 1}
    """
    apply(served, tmp_path, spec_text(block))
    url = f"{served.info.url}/endpoints/ep/invocations"
    auth = {"Authorization": f"Bearer {served.state.read_token()}", "content-type": "application/json"}
    with httpx.Client(headers=auth, trust_env=False, timeout=30) as http:
        for body in (b'{"instances": [[NaN]]}', b'{"instances": [["abc"]]}', b"[" * 100_000 + b"]" * 100_000):
            answer = http.post(url, content=body)
            assert answer.status_code == 400, (body[:40], answer.text)
        named = http.post(url, content=b'{"instances": [{"x": "abc"}]}')
        assert 400 <= named.status_code < 500, named.text

        cid = "Zürich-订单-1".encode()
        answer = http.post(url, content=b'{"instances": [[1.0]]}', headers={"x-mlstack-correlation-id": cid})
        assert answer.status_code == 200
        assert dict(answer.headers.raw)[b"x-mlstack-correlation-id"] == cid
        assert answer.json()["correlation_id"] == cid.decode()
