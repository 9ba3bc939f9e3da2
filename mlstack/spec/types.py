"""Small value types shared by the spec models: names, durations, cron schedules."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field, PlainSerializer, WithJsonSchema

from mlstack.names import IDENT_MAX, IDENT_PATTERN, NAME_MAX, NAME_PATTERN

Name = Annotated[
    str,
    Field(
        pattern=NAME_PATTERN,
        max_length=NAME_MAX,
        description="Lower-case letters, digits and hyphens; starts with a letter, ends with a letter or digit.",
    ),
]
Ident = Annotated[
    str,
    Field(pattern=IDENT_PATTERN, max_length=IDENT_MAX, description="A column name: letters, digits and underscores."),
]

# Every integer a spec holds fits a signed 32-bit field: SQLite, protobuf int32 (Vertex), the
# clouds' counts and timeouts and Python's timedelta all carry it.
MAX_INT = 2**31 - 1


def check_bounded(value: object) -> object:
    """`value` (or any integer inside a list or mapping of it) within +-MAX_INT."""
    if isinstance(value, int) and not isinstance(value, bool):
        if not -MAX_INT <= value <= MAX_INT:
            raise ValueError(f"{_short(value)} is too large: integers are at most {MAX_INT}")
    elif isinstance(value, (list, tuple)):
        for item in value:
            check_bounded(item)
    elif isinstance(value, dict):
        for item in value.values():
            check_bounded(item)
    return value


def _short(value: int) -> str:
    digits = len(str(abs(value))) if value.bit_length() < 10_000 else value.bit_length() * 3 // 10
    return f"a {digits}-digit number"


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"^\s*(\d+)\s*(s|m|h|d|w)\s*$")


def parse_duration(value: object) -> object:
    """'90s', '15m', '2h', '7d', '1w' or a whole number of seconds -> seconds."""
    if isinstance(value, bool):
        return value  # let the int validator reject it with its usual message
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        match = _DURATION.match(value)
        if not match:
            raise ValueError(
                f"'{value}' is not a duration: write a whole number with a unit s, m, h, d or w (e.g. 15m, 7d)"
            )
        if len(match.group(1)) > 12:
            raise ValueError(f"'{value[:40]}' is too long a duration: at most {MAX_INT} seconds")
        return int(match.group(1)) * _UNITS[match.group(2)]
    return value


def format_duration(seconds: int) -> str:
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


Duration = Annotated[
    int,
    BeforeValidator(parse_duration),
    Field(ge=0, le=MAX_INT),
    PlainSerializer(format_duration, return_type=str, when_used="json"),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": r"^\s*\d+\s*(s|m|h|d|w)\s*$"},
                {"type": "integer", "minimum": 0},
            ],
            "description": "A duration: a number with a unit (30s, 15m, 2h, 7d, 1w) or whole seconds.",
        }
    ),
]


def check_cron(value: str) -> str:
    # croniter is imported here, not at module import, to keep `mlstack validate` start-up small.
    from croniter import CroniterBadDateError, croniter

    fields = value.split()
    if len(fields) != 5:
        raise ValueError(
            f"'{value}' is not a 5-field cron expression (minute hour day-of-month month day-of-week), "
            "e.g. '0 3 * * *' for 03:00 daily"
        )
    if not croniter.is_valid(value):
        raise ValueError(f"'{value}' does not parse as cron (minute hour day-of-month month day-of-week)")
    try:  # from a leap year, so that 29 February counts as a day that exists
        croniter(value, datetime(2000, 1, 1, tzinfo=UTC)).get_next(datetime)
    except CroniterBadDateError:
        raise ValueError(
            f"'{value}' never fires: no month has that day (e.g. 30 February); pick a day every chosen month has"
        ) from None
    return " ".join(fields)


Cron = Annotated[
    str,
    AfterValidator(check_cron),
    Field(description="A 5-field cron expression in UTC, e.g. '0 3 * * *'.", examples=["0 * * * *"]),
]
Percent = Annotated[int, Field(ge=0, le=100)]
