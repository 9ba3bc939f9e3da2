"""Who runs mlstack: the name promotions record and development mode prefixes names with."""

from __future__ import annotations

import getpass
import os

from mlstack.errors import MlstackError

USER_VARIABLES = ("MLSTACK_USER", "USER")


def current_user() -> str:
    """$MLSTACK_USER, else $USER, else the login name; an error naming the variable when none is set."""
    for variable in USER_VARIABLES:
        if value := os.environ.get(variable, "").strip():
            return value
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        raise MlstackError("cannot tell who you are: set MLSTACK_USER (or USER)") from None
