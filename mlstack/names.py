"""The rules for names that reach a path, a URL or a SQL identifier, in one place: the spec models
and the emulator's API check against these same patterns, so a name one accepts the other does too.

Import-free (only `re`), so `mlstack validate` and the emulator's request handlers both stay light."""

from __future__ import annotations

import re

NAME_PATTERN = r"^[a-z]([a-z0-9-]*[a-z0-9])?$"
NAME_MAX = 63
NAME_RULE = "lower-case letters, digits and hyphens, starting with a letter and ending with a letter or digit"
IDENT_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
IDENT_MAX = 64
IDENT_RULE = "letters, digits and underscores, not starting with a digit"

_NAME = re.compile(NAME_PATTERN)
_IDENT = re.compile(IDENT_PATTERN)


def name_problem(value: object, what: str) -> str | None:
    """Why `value` is not a resource name (it becomes a directory, a URL segment, a cloud name), or None."""
    if not isinstance(value, str) or len(value) > NAME_MAX or not _NAME.fullmatch(value):
        return f"{what} {_shown(value)} is not a name: {NAME_RULE}, at most {NAME_MAX} characters"
    return None


def ident_problem(value: object, what: str) -> str | None:
    """Why `value` is not a column name (it becomes a SQL identifier), or None."""
    if not isinstance(value, str) or len(value) > IDENT_MAX or not _IDENT.fullmatch(value):
        return f"{what} {_shown(value)} is not a column name: {IDENT_RULE}, at most {IDENT_MAX} characters"
    return None


def _shown(value: object) -> str:
    text = ascii(value)  # look-alike letters show as \\u escapes
    return text if len(text) <= 80 else text[:77] + "..."


# Columns the emulator's online store keeps beside a view's features; SQLite compares column names
# without case, so features must differ from these and from each other case-insensitively.
RESERVED_COLUMNS = ("__key", "__ts")


def column_clashes(names: list[str], others: tuple[str, ...] = RESERVED_COLUMNS) -> list[str]:
    """Problems with a list of column names that each pass `ident_problem` but cannot share a table."""
    problems, seen = [], {o.lower(): f"a column the online store keeps ('{o}')" for o in others}
    for name in names:
        first = seen.get(name.lower())
        if first is not None:
            problems.append(f"'{name}' clashes with {first}: column names must differ ignoring case")
        else:
            seen[name.lower()] = f"'{name}'"
    return problems
