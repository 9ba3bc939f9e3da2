"""5-field cron (the spec's form) to the 6-field `cron(...)` of EventBridge and EventBridge Scheduler.

EventBridge differs from Unix cron in three ways that matter: a year field, day-of-week numbered 1-7
from Sunday (Unix: 0-7 from Sunday), and one of day-of-month / day-of-week must be `?` (Unix ORs the two
when both are restricted, which EventBridge cannot say). Fields are expanded with croniter and written
back as explicit lists; days of the week as names so the numbering never matters."""

from __future__ import annotations

from mlstack.errors import MlstackError

_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")


def _field(values: list[object]) -> str:
    return "*" if values == ["*"] else ",".join(str(v) for v in values)


def eventbridge_cron(cron: str) -> str:
    from croniter import croniter

    fields, nth_weekday = croniter.expand(" ".join(cron.split()))
    if nth_weekday or any(not isinstance(v, int) for field in fields for v in field if v != "*"):
        raise MlstackError(f"'{cron}': EventBridge schedules take plain cron fields (no L, W or #)")
    minute, hour, day, month, weekday = (_field(f) for f in fields)
    if day != "*" and weekday != "*":
        raise MlstackError(
            f"'{cron}' restricts both the day of the month and the day of the week; EventBridge allows "
            "only one of them (use two schedules, or drop one restriction)"
        )
    if weekday == "*":
        return f"cron({minute} {hour} {day} {month} ? *)"
    days = ",".join(_DAYS[int(d) % 7] for d in fields[4])
    return f"cron({minute} {hour} ? {month} {days} *)"
