"""Cron schedules as Azure recurrence triggers, for the places Azure takes no cron: feature set
materialisation (MaterializationSettings.schedule is a RecurrenceTrigger)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from mlstack.errors import MlstackError

WEEKDAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
_EVERY = re.compile(r"^\*/(\d+)$")
_RANGE = re.compile(r"^(\d+)-(\d+)(?:/(\d+))?$")


@dataclass(frozen=True)
class Recurrence:
    frequency: str  # Minute | Day | Week
    interval: int
    hours: tuple[int, ...] = ()
    minutes: tuple[int, ...] = ()
    week_days: tuple[str, ...] = ()


def _values(field: str, low: int, high: int) -> tuple[int, ...] | None:
    """A cron field's values, or None when it is `*`."""
    if field == "*":
        return None
    values: set[int] = set()
    for part in field.split(","):
        if part.isdigit():
            values.add(int(part))
        elif match := _EVERY.match(part):
            values.update(range(low, high + 1, int(match[1])))
        elif match := _RANGE.match(part):
            values.update(range(int(match[1]), int(match[2]) + 1, int(match[3] or 1)))
        else:
            raise ValueError(part)
    if not values or min(values) < low or max(values) > high:
        raise ValueError(field)
    return tuple(sorted(values))


def recurrence(cron: str) -> Recurrence:
    """The recurrence that fires at the same times as a 5-field cron (UTC). Minute steps ('*/15 * * * *')
    become a minute interval; anything else needs whole days of the month and months to be '*'."""
    fields = cron.split()
    problem = MlstackError(
        f"'{cron}' has no Azure recurrence form: use minutes and hours with '*' for day of month and month "
        "(e.g. '0 * * * *', '30 2 * * *', '0 6 * * 1-5') or '*/N * * * *'"
    )
    if len(fields) != 5:
        raise problem
    minute, hour, day, month, weekday = fields
    if day != "*" or month != "*":
        raise problem
    if (match := _EVERY.match(minute)) and hour == "*" and weekday == "*":
        return Recurrence("Minute", int(match[1]))
    try:
        minutes = _values(minute, 0, 59)
        hours = _values(hour, 0, 23) or tuple(range(24))
        days = _values(weekday, 0, 7)  # cron allows 7 for Sunday as well as 0
    except ValueError:
        raise problem from None
    if minutes is None:
        raise problem
    if days is None:
        return Recurrence("Day", 1, hours, minutes)
    return Recurrence("Week", 1, hours, minutes, tuple(WEEKDAYS[d] for d in sorted({d % 7 for d in days})))
