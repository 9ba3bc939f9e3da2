"""Development mode (`environments.<name>.mode: development`): a per-user copy of the platform, as
Databricks asset bundles deploy one. Every vendor name starts with the user's prefix, so that many
engineers deploy the same spec into one account without colliding; schedules and monitors are
created paused. The prefix is checked here; each backend's name rules keep the full names within the
cloud's limits (mlstack.backends.naming cuts long names with a digest)."""

from __future__ import annotations

import re

from mlstack.errors import SpecInvalid
from mlstack.identity import current_user
from mlstack.spec import LoadedSpec

PREFIX_MAX = 16  # leaves room in the shortest limits (Azure compute names, 24) for the rest of the name


def user_prefix(user: str) -> str | None:
    """The name prefix of a user (alice.smith@example.com -> alice-smith), None when nothing usable is left."""
    local = user.split("@", 1)[0].lower()
    cleaned = re.sub(r"[^a-z0-9]+", "-", local).strip("-")[:PREFIX_MAX].rstrip("-")
    return cleaned if cleaned[:1].isalpha() else None


def is_development(loaded: LoadedSpec) -> bool:
    env = loaded.spec.environments.get(loaded.environment) if loaded.environment else None
    return env is not None and env.mode == "development"


def prefix_of(loaded: LoadedSpec, user: str | None = None) -> str:
    """The prefix every vendor name of a development deploy starts with ('' outside development mode);
    `user` is the stack's `mlstack:user` when set, else $MLSTACK_USER or $USER."""
    if not is_development(loaded):
        return ""
    who = user or current_user()
    prefix = user_prefix(who)
    if prefix is None:
        where = ("environments", loaded.environment, "mode")
        message = (
            f"development mode prefixes names with the user, and '{who}' gives no name (it must start with a "
            "letter); set MLSTACK_USER (or the stack's mlstack:user) to a short name such as 'alice'"
        )
        raise SpecInvalid([loaded.doc.error(where, message)])
    return prefix
