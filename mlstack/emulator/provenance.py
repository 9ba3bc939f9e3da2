"""Lineage end to end: from an endpoint's serving versions back to the run, data, code, features and
approval that made each one (`mlstack lineage ENDPOINT|MODEL@VERSION`).

Everything here is read from what was recorded when it happened: the version's lineage (written at
registration from the run), the run's row, the applied feature views, and the audit trail for who
approved it. Nothing is recomputed, so the answer is what was true then, not what the files say now.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlstack.emulator.errors import NotFound

if TYPE_CHECKING:
    from mlstack.emulator.core import Emulator

APPROVAL_ACTIONS = ("approve", "reject", "pending")


def approver(core: Emulator, version: dict[str, Any]) -> dict[str, Any] | None:
    """Who decided the version's approval and when; None while it is pending with no decision."""
    # A registry that records approvers itself (promotion with approvals) is the better source.
    for key in ("approved_by", "approvals"):
        if version.get(key):
            return {"who": version[key], "source": "registry"}
    ref = f"{version['group']} v{version['version']}"
    decisions = [r for r in core.audit.query(what=ref) if r["action"] in APPROVAL_ACTIONS]
    if decisions:
        last = decisions[-1]
        return {"who": last["who"], "at": last["at"], "action": last["action"], "why": last["why"], "source": "audit"}
    if version["approval"] == "approved":
        return {"who": "registration", "source": "the group's approval policy (auto) at registration"}
    return None


def of_version(core: Emulator, group: str, number: int) -> dict[str, Any]:
    version = core.registry.version(group, number).as_dict()
    lineage = version["lineage"]
    run = None
    if version["source"].startswith("run:"):
        run_id = version["source"].removeprefix("run:")
        try:
            record = core.run(run_id)
        except NotFound:
            record = None
        if record is not None:
            run = {
                "id": run_id,
                "pipeline": record["pipeline"],
                "status": record["status"],
                "trigger": record["trigger"],
                "started_at": record["started_at"],
                "parameters": record["parameters"],
            }
    views = {c["name"]: c for c in core.configs("feature_view")}
    features = []
    for ref in lineage.get("feature_views", []):
        name = ref.split(":", 1)[0]  # a view, or one of its features as view:feature
        view = views.get(name)
        features.append(
            {
                "view": ref,
                "entity": view["entity"] if view else None,
                "features": [f["name"] for f in view["features"]] if view else [],
                "source": view["source"]["uri"] if view else None,
                "applied": view is not None,
            }
        )
    return {
        "model": f"{group}@{number}",
        "group": group,
        "version": number,
        "approval": version["approval"],
        "approver": approver(core, version),
        "aliases": version["aliases"],
        "registered_at": version["created_at"],
        "source": version["source"],
        "run": run,
        "data": {
            "uri": lineage.get("data_uri"),
            "sha256": lineage.get("data_sha256"),
            "rows": lineage.get("data_rows"),
            "training_set_sha256": lineage.get("training_set_sha256"),
        },
        "code": {
            "commit": lineage.get("code_commit"),
            "dirty": lineage.get("code_dirty"),
            "sha256": lineage.get("code_sha256"),
            "steps": lineage.get("step_code_sha256", {}),
        },
        "image": lineage.get("image"),
        "image_digest": lineage.get("image_digest"),
        "features": features,
        "metrics": version["metrics"],
        "params": version["params"],
        "artifact_sha256": lineage.get("artifact_sha256"),
    }


def of_endpoint(core: Emulator, name: str) -> dict[str, Any]:
    row = core.resource("endpoint", name)
    serving = row["observed"].get("serving", [])
    return {
        "endpoint": name,
        "status": row["status"],
        "serving": [
            {
                "variant": s["variant"],
                "role": s["role"],
                "weight": s["weight"],
                **of_version(core, s["group"], s["version"]),
            }
            for s in serving
        ],
    }
