"""Promotion between environments over the emulator's HTTP API and the CLI: a version moves stage by
stage with its approvers recorded, refusals record nothing, and an environment's endpoints serve
only versions promoted to it."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.emulator.conftest import cli
from tests.governance.conftest import apply_env, promoted_spec
from tests.serving.conftest import endpoint_row

PROMOTIONS = "/v1/registry/groups/m/versions/{}/promotions"


def auth(emu) -> dict[str, str]:
    return {"Authorization": f"Bearer {emu.state.read_token()}"}


def invoke(emu) -> httpx.Response:
    return httpx.post(
        f"{emu.info.url}/endpoints/ep/invocations",
        json={"instances": [[1.0]]},
        headers=auth(emu),
        trust_env=False,
        timeout=30,
    )


def promote(emu, version: int, to: str, *approvers: str) -> dict:
    return emu.client.post(PROMOTIONS.format(version), {"to": to, "approvers": list(approvers), "by": "ci-bot"})


class Refusal:
    def __init__(self, response: httpx.Response) -> None:
        self.status = response.status_code
        self.message = response.json()["error"]

    def __str__(self) -> str:
        return self.message


def refused(emu, version: int, to: str, *approvers: str) -> Refusal:
    """The answer to a promotion that must be refused (a 4xx with a message)."""
    body = {"to": to, "approvers": list(approvers), "by": "ci-bot"}
    response = httpx.post(f"{emu.info.url}{PROMOTIONS.format(version)}", json=body, headers=auth(emu), trust_env=False, timeout=30)
    assert 400 <= response.status_code < 500, response.text
    return Refusal(response)


def test_prod_serves_a_version_only_once_promoted_through_every_stage(served, tmp_path):
    apply_env(served, tmp_path, promoted_spec(), "prod")
    row = endpoint_row(served)
    assert row["status"] == "waiting" and "m v2 is not promoted to prod" in row["message"]
    assert invoke(served).status_code == 404

    skipped = refused(served, 2, "prod", "alice", "bob")
    assert skipped.status == 409 and "promote it to staging before prod" in str(skipped)
    assert promote(served, 2, "staging", "alice")["stages"] == ["dev", "staging"]
    assert endpoint_row(served)["status"] == "waiting"  # staging is not prod

    too_few = refused(served, 2, "prod", "alice")
    assert too_few.status == 400 and "needs 2 distinct approvers, got 1 (alice)" in str(too_few)
    twice = refused(served, 2, "prod", "alice", "Alice")
    assert twice.status == 400 and "named twice" in str(twice)
    status = served.client.get(PROMOTIONS.format(2))
    assert [p["stage"] for p in status["promotions"]] == ["staging"]  # refusals recorded nothing

    done = promote(served, 2, "prod", "alice", "bob")
    assert done["stages"] == ["dev", "staging", "prod"]
    assert any("m v2" in line for line in done["endpoints"])
    assert endpoint_row(served)["status"] == "ready"
    assert invoke(served).json()["predictions"] == [pytest.approx(102.0)]  # v2 answers 2x + 100
    history = served.client.get(PROMOTIONS.format(2))["promotions"]
    assert [(p["stage"], p["approvers"], p["promoted_by"]) for p in history] == [
        ("staging", ["alice"], "ci-bot"),
        ("prod", ["alice", "bob"], "ci-bot"),
    ]
    again = refused(served, 2, "prod", "alice", "bob")
    assert again.status == 409 and "already in prod" in str(again)


def test_the_first_stage_serves_a_version_from_its_registration(served, tmp_path):
    apply_env(served, tmp_path, promoted_spec(), "dev")
    assert endpoint_row(served)["status"] == "ready"
    first = refused(served, 2, "dev", "alice")
    assert first.status == 409 and "from its registration" in str(first)


def test_rejected_and_unknown_stages_are_refused(served, tmp_path):
    apply_env(served, tmp_path, promoted_spec(), "staging")
    served.client.put("/v1/registry/groups/m/versions/2/approval", {"approval": "rejected"})
    rejected = refused(served, 2, "staging", "alice")
    assert rejected.status == 409 and "never promoted" in str(rejected)
    unknown = refused(served, 1, "stagin", "alice")
    assert unknown.status == 400 and "did you mean 'staging'" in str(unknown)
    bad_name = refused(served, 1, "staging", "alice; rm -rf /")
    assert bad_name.status == 400 and "not a user name" in str(bad_name)


def test_a_promoted_version_that_is_rejected_stops_serving(served, tmp_path):
    apply_env(served, tmp_path, promoted_spec(), "staging")
    promote(served, 2, "staging", "alice")
    assert invoke(served).status_code == 200
    served.client.put("/v1/registry/groups/m/versions/2/approval", {"approval": "rejected"})
    assert invoke(served).status_code == 404


def test_a_group_without_stages_cannot_be_promoted(served, tmp_path):
    text = promoted_spec().replace(
        "      promotion:\n        stages: [dev, staging, prod]\n        approvers: {prod: 2}\n", ""
    )
    apply_env(served, tmp_path, text, None)
    answer = refused(served, 2, "prod", "alice")
    assert answer.status == 409 and "has no promotion stages" in str(answer)


def test_a_malformed_policy_in_a_desired_state_is_a_400(served):
    group = {"name": "m", "approval": "auto", "promotion": {"stages": ["dev"], "approvers": {"qa": 0}, "stage": "x"}}
    response = httpx.post(
        f"{served.info.url}/v1/plan",
        json={"resources": [{"kind": "model_group", "name": "m", "config": group}]},
        headers=auth(served),
        trust_env=False,
        timeout=30,  # a loaded machine may be slow to answer
    )
    assert response.status_code == 400
    assert "approvers" in response.json()["error"] and "must be one of its stages" in response.json()["error"]


def test_the_cli_promotes_and_explains_refusals(served, tmp_path):
    apply_env(served, tmp_path, promoted_spec(), "prod")
    spec = ["-f", str(tmp_path / "mlstack.yaml")]
    skipped = cli("registry", "promote", "m", "2", "--to", "prod", "--approver", "alice", *spec, cwd=tmp_path)
    assert skipped.returncode == 1 and "promote it to staging before prod" in skipped.stderr
    assert "Traceback" not in skipped.stderr
    ok = cli("registry", "promote", "m", "2", "--to", "staging", "--approver", "alice", *spec, cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert "m v2 promoted to staging" in ok.stdout and "approved by alice" in ok.stdout
    prod = cli(
        "registry", "promote", "m", "2", "--to", "prod", "--approver", "alice", "--approver", "bob",
        "--reason", "beats v1 on the holdout", *spec, cwd=tmp_path,
    )  # fmt: skip
    assert prod.returncode == 0, prod.stderr
    assert "endpoint ep: primary: m v2" in prod.stdout
    history = served.client.get(PROMOTIONS.format(2))["promotions"]
    assert history[-1]["reason"] == "beats v1 on the holdout"


def test_every_change_lands_in_the_audit_trail_with_who_and_why(served, tmp_path, monkeypatch):
    """Deploy, approve, reject, promote and rollback, each asked for over HTTP or the CLI by a named
    person, are in `mlstack audit`; a refused promotion records nothing."""
    apply_env(served, tmp_path, promoted_spec(1), "dev")
    apply_env(served, tmp_path, promoted_spec(2), "dev")  # ep moves v1 -> v2: v1 is what a rollback returns to
    spec = ["-f", str(tmp_path / "mlstack.yaml")]
    monkeypatch.setenv("MLSTACK_ACTOR", "carol@example.com")
    done = cli("registry", "promote", "m", "2", "--to", "staging", "--approver", "alice", "--reason", "holdout", *spec)
    assert done.returncode == 0, done.stderr
    assert refused(served, 2, "prod", "alice").status == 400  # one approver short: nothing recorded
    dave = {**auth(served), "X-Mlstack-Actor": "dave"}
    for approval in ("approved", "rejected"):
        url = f"{served.info.url}/v1/registry/groups/m/versions/3/approval"
        assert httpx.put(url, json={"approval": approval}, headers=dave, trust_env=False, timeout=30).status_code == 200
    url = f"{served.info.url}/v1/endpoints/ep/rollback"
    assert httpx.post(url, json={"reason": "latency"}, headers=dave, trust_env=False, timeout=30).status_code == 200

    shown = cli("audit", *spec, "--json")
    assert shown.returncode == 0, shown.stderr
    records = json.loads(shown.stdout)
    (promoted,) = [r for r in records if r["action"] == "promote"]
    assert (promoted["who"], promoted["what"], promoted["why"]) == ("carol@example.com", "m v2", "holdout")
    assert promoted["detail"] == {"to": "staging", "approvers": ["alice"], "by": promoted["detail"]["by"]}
    assert [(r["action"], r["what"]) for r in records if r["who"] == "dave"] == [
        ("approve", "m v3"),
        ("reject", "m v3"),
        ("rollback", "endpoint ep"),
    ]
    (rollback,) = [r for r in records if r["action"] == "rollback"]
    assert rollback["why"] == "latency"
    assert [(v["group"], v["version"]) for v in rollback["detail"]["from"]] == [("m", 2)]
    assert any(r["action"] in ("deploy", "update") and r["what"] == "endpoint ep" for r in records)
