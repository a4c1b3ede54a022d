"""The clock the application reads: real time, unless a test or a replay sets it.

Everything that depends on "today" (due reminders, overdue lists, expiry) asks here or
takes the day as an argument, so tests move time with ``frozen(...)`` instead of sleeping.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

_frozen: ContextVar[datetime | None] = ContextVar("saas.clock", default=None)


def now() -> datetime:
    """The current moment, timezone-aware (UTC)."""
    return _frozen.get() or datetime.now(UTC)


def today_in(timezone: str | None) -> date:
    """Today's date where the tenant is (UTC for an unknown zone)."""
    try:
        zone = ZoneInfo(timezone or "UTC")
    except (KeyError, ValueError):
        zone = ZoneInfo("UTC")
    return now().astimezone(zone).date()


@contextmanager
def frozen(at: datetime | date) -> Iterator[None]:
    """Run the block at a fixed moment (a date means noon UTC of that day)."""
    if not isinstance(at, datetime):
        at = datetime.combine(at, time(12), tzinfo=UTC)
    elif at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    token = _frozen.set(at)
    try:
        yield
    finally:
        _frozen.reset(token)
