"""Cron schedules translated to what each target's monitors accept."""

from __future__ import annotations

import re

_HOURLY = re.compile(r"^0 \* \* \* \*$")
_EVERY_N_HOURS = re.compile(r"^0 (?:\*|(\d{1,2}))/(\d{1,2}) \* \* \*$")
_DAILY = re.compile(r"^0 (\d{1,2}) \* \* \*$")


def _parts(cron: str) -> str:
    return " ".join(cron.split())


def sagemaker_expression(cron: str) -> str | None:
    """The SageMaker Model Monitor form of a 5-field cron, or None when SageMaker cannot run it.

    Model Monitor accepts only hourly, daily and every-N-hours schedules (FACTS.md)."""
    text = _parts(cron)
    if _HOURLY.match(text):
        return "cron(0 * ? * * *)"
    if match := _EVERY_N_HOURS.match(text):
        start, step = match.group(1) or "0", int(match.group(2))
        return f"cron(0 {start}/{step} ? * * *)" if 1 <= step <= 23 else None
    if match := _DAILY.match(text):
        hour = int(match.group(1))
        return f"cron(0 {hour} ? * * *)" if hour < 24 else None
    return None


def interval_hours(cron: str) -> int | None:
    """Whole hours between runs for hourly, every-N-hours and daily crons; None otherwise."""
    text = _parts(cron)
    if _HOURLY.match(text):
        return 1
    if match := _EVERY_N_HOURS.match(text):
        step = int(match.group(2))
        return step if 1 <= step <= 23 and 24 % step == 0 else None
    if _DAILY.match(text):
        return 24
    return None


SCHEDULE_HELP = {
    "sagemaker": "SageMaker Model Monitor runs hourly ('0 * * * *'), daily ('0 H * * *') or every N hours "
    "('0 */N * * *')",
    "whole_hours": "Vertex AI monitoring runs at an interval of whole hours: hourly ('0 * * * *'), every N "
    "hours dividing 24 ('0 */N * * *') or daily ('0 H * * *')",
}


def schedule_problem(rule: str, cron: str) -> str | None:
    if rule == "sagemaker" and sagemaker_expression(cron) is None:
        return f"'{cron}' cannot be scheduled: {SCHEDULE_HELP[rule]}"
    if rule == "whole_hours" and interval_hours(cron) is None:
        return f"'{cron}' cannot be scheduled: {SCHEDULE_HELP[rule]}"
    return None
