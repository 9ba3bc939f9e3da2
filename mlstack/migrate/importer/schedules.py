"""SageMaker's schedule expressions back to the spec's 5-field cron: Model Monitor's `cron(0 H ? * * *)`
forms and EventBridge's 6-field `cron(...)`. Each inverse is checked by converting forward again."""

from __future__ import annotations

import re

from mlstack.errors import MlstackError
from mlstack.targets.schedules import sagemaker_expression

_MONITOR = re.compile(r"cron\(0 (\*|\d{1,2}|\d{1,2}/\d{1,2}) \? \* \* \*\)")
_EVENTBRIDGE = re.compile(r"cron\((\S+) (\S+) (\S+) (\S+) (\S+) (\S+)\)")
_DAYS = {"SUN": 0, "MON": 1, "TUE": 2, "WED": 3, "THU": 4, "FRI": 5, "SAT": 6}


def from_monitor(expression: str) -> str | None:
    match = _MONITOR.fullmatch(expression.strip())
    if not match:
        return None
    hour = match.group(1)
    if hour == "*":
        cron = "0 * * * *"
    elif "/" in hour:
        start, step = hour.split("/")
        cron = f"0 */{step} * * *" if start == "0" else f"0 {start}/{step} * * *"
    else:
        cron = f"0 {hour} * * *"
    return cron if sagemaker_expression(cron) == expression.strip() else None


def _weekday(field: str) -> str:
    def one(day: str) -> str:
        if day.upper() in _DAYS:
            return str(_DAYS[day.upper()])
        return str(int(day) - 1) if day.isdigit() else day  # EventBridge numbers Sunday 1

    return (
        "*" if field in ("?", "*") else ",".join("-".join(one(d) for d in part.split("-")) for part in field.split(","))
    )


def from_eventbridge(expression: str) -> str | None:
    from croniter import croniter

    from mlstack.backends.aws.cron import eventbridge_cron

    match = _EVENTBRIDGE.fullmatch(expression.strip())
    if not match or match.group(6) != "*":
        return None
    minute, hour, day, month, weekday, _year = match.groups()
    cron = f"{minute} {hour} {'*' if day == '?' else day} {month} {_weekday(weekday)}"
    if not croniter.is_valid(cron):
        return None
    try:
        eventbridge_cron(cron)  # the aws backend can schedule it again
    except MlstackError:
        return None
    return cron
