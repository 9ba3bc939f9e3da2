"""Promotion of model versions between environments (dev -> staging -> prod) with approvers.

A group's policy comes from the spec (`promotion: {stages, approvers}`), applied as part of its
`model_group` resource together with the stage this emulator's endpoints serve from (the environment
`mlstack up --env` applied; the first stage without one). A new version is in the first stage from
its registration; each later stage needs an explicit promotion from the stage before it, by the
number of distinct approvers the policy asks for. Promotions are append-only rows in the state
database, next to the versions they name: deleting a version (a replaced artifact) deletes them."""

from __future__ import annotations

import json
import re
import sqlite3
import time
from dataclasses import dataclass
from typing import Any

from mlstack.emulator.db import Database
from mlstack.emulator.errors import BadRequest, Conflict
from mlstack.emulator.registry import Version
from mlstack.errors import did_you_mean
from mlstack.spec.models import Promotion

# People are named as in an identity provider: a user name or an e-mail address.
PERSON = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}")


@dataclass(frozen=True)
class Policy:
    promotion: Promotion
    serves: str  # the stage this emulator's endpoints serve from

    @classmethod
    def of(cls, config: dict[str, Any]) -> Policy | None:
        """The policy a `model_group` resource config carries (checked by boundary.py), None without one."""
        promotion = config.get("promotion")
        if not promotion:
            return None
        fields = {"stages": promotion["stages"], "approvers": promotion.get("approvers", {})}
        return cls(Promotion.model_validate(fields), promotion["stage"])

    @property
    def stages(self) -> list[str]:
        return self.promotion.stages

    @property
    def approvers(self) -> dict[str, int]:
        return self.promotion.approvers

    def needed(self, stage: str) -> int:
        return self.promotion.needed(stage)

    @property
    def path(self) -> str:
        return " -> ".join(self.stages)


def check_person(name: str, what: str) -> str:
    if not isinstance(name, str) or not PERSON.fullmatch(name):
        raise BadRequest(f"{what} {name!r} is not a user name or e-mail address (letters, digits, . _ @ + -)")
    return name


class Promotions:
    def __init__(self, db: Database) -> None:
        self.db = db

    def history(self, group: str, version: int) -> list[dict[str, Any]]:
        rows = self.db.query("SELECT * FROM promotions WHERE grp = ? AND version = ? ORDER BY id", (group, version))
        return [
            {
                "stage": r["stage"],
                "approvers": json.loads(r["approvers"]),
                "promoted_by": r["promoted_by"],
                "reason": r["reason"],
                "at": r["at"],
            }
            for r in rows
        ]

    def stages(self, version: Version, policy: Policy) -> list[str]:
        """The stages the version has entered, in order: the first one and each promoted to since."""
        promoted = {p["stage"] for p in self.history(version.group, version.version)}
        return [s for i, s in enumerate(policy.stages) if i == 0 or s in promoted]

    def blocked(self, version: Version, policy: Policy) -> str | None:
        """Why an endpoint of this emulator may not serve the version, if it may not."""
        if policy.serves in self.stages(version, policy):
            return None
        return (
            f"{version.ref} is not promoted to {policy.serves} "
            f"(mlstack registry promote {version.group} {version.version} --to {policy.serves} --approver NAME)"
        )

    def promote(
        self, version: Version, policy: Policy, to: str, approvers: list[str], by: str, reason: str = ""
    ) -> dict[str, Any]:
        """Record the promotion of `version` into stage `to`, or refuse it (nothing recorded)."""
        if to not in policy.stages:
            raise BadRequest(
                f"'{to}' is not a stage of model group {version.group}{did_you_mean(to, policy.stages)}; "
                f"stages: {policy.path}"
            )
        if version.approval == "rejected":
            raise Conflict(f"{version.ref} was rejected; a rejected version is never promoted")
        target = policy.stages.index(to)
        if target == 0:
            raise Conflict(f"every version is in {to} from its registration; nothing to promote")
        with self.db.transaction() as conn:  # checked and recorded at once: two promotions cannot race
            return self._promote(conn, version, policy, to, approvers, by, reason)

    def _promote(
        self,
        conn: sqlite3.Connection,
        version: Version,
        policy: Policy,
        to: str,
        approvers: list[str],
        by: str,
        reason: str,
    ) -> dict[str, Any]:
        target = policy.stages.index(to)
        entered = self.stages(version, policy)
        current = entered[-1]
        if to in entered:
            raise Conflict(f"{version.ref} is already in {to}")
        if policy.stages.index(current) != target - 1:
            previous = policy.stages[target - 1]
            raise Conflict(
                f"{version.ref} is in {current}: promote it to {previous} before {to} ({policy.path}); "
                "no stage is skipped"
            )
        names = [check_person(a, "approver") for a in approvers]
        distinct = list(dict.fromkeys(n.lower() for n in names))
        if len(distinct) < len(names):
            raise BadRequest(f"an approver is named twice ({', '.join(names)}); each approver counts once")
        needed = policy.needed(to)
        if len(names) < needed:
            given = f" ({', '.join(names)})" if names else ""
            raise BadRequest(
                f"promoting {version.ref} to {to} needs {needed} distinct approver{'s' if needed > 1 else ''}, "
                f"got {len(names)}{given}: name each with --approver"
            )
        check_person(by, "the promoter")
        record = {"stage": to, "approvers": names, "promoted_by": by, "reason": reason, "at": time.time()}
        conn.execute(
            "INSERT INTO promotions (grp, version, stage, approvers, promoted_by, reason, at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (version.group, version.version, to, json.dumps(names), by, reason, record["at"]),
        )
        return record
