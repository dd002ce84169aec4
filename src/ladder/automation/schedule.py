"""Cron schedules for triggers (five-field expressions, evaluated with croniter in UTC)."""

from __future__ import annotations

from datetime import datetime, timezone

from croniter import croniter

from ladder.errors import ConfigError


def parse_cron(expression: str) -> str:
    """Return ``expression`` if it is a valid five-field cron expression, else raise."""
    if not isinstance(expression, str) or len(expression.split()) != 5:
        raise ConfigError(
            f"cron: expected five fields 'minute hour day month weekday', got {expression!r}"
        )
    if not croniter.is_valid(expression):
        raise ConfigError(f"cron: {expression!r} is not a valid cron expression")
    return expression


def last_fire_before(expression: str, now: datetime) -> datetime:
    """The most recent time at or before ``now`` that the schedule fires (UTC)."""
    parse_cron(expression)
    moment = now.astimezone(timezone.utc)
    fire: datetime = croniter(expression, moment).get_prev(datetime)
    if croniter.match(expression, moment.replace(second=0, microsecond=0)):
        fire = moment.replace(second=0, microsecond=0)
    return fire


def is_due(expression: str, last_fired: datetime | None, now: datetime) -> bool:
    """True when the schedule fired after ``last_fired`` (never fired: fires at the next slot)."""
    fire = last_fire_before(expression, now)
    if last_fired is None:
        return False
    return fire > last_fired
