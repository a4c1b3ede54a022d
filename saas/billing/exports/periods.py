"""The period an accountant export covers (pure): last month by default, checked."""

from __future__ import annotations

from datetime import date, timedelta

MAX_YEARS = 5


class ExportError(Exception):
    """A period that cannot be exported, or a document whose stored PDF is not intact."""


def last_month(today: date) -> tuple[date, date]:
    """The first and last day of the month before today's."""
    end = today.replace(day=1) - timedelta(days=1)
    return end.replace(day=1), end


def check_period(date_from: date | None, date_to: date | None) -> tuple[date, date]:
    """The period, or ExportError saying what is wrong with it."""
    if date_from is None or date_to is None:
        raise ExportError("Give the first and the last day of the period.")
    if date_from > date_to:
        raise ExportError(f"The period starts ({date_from}) after it ends ({date_to}).")
    try:
        limit = date_from.replace(year=date_from.year + MAX_YEARS)
    except ValueError:  # 29 February, in a year that has none
        limit = date_from.replace(year=date_from.year + MAX_YEARS, day=28)
    if date_to >= limit:
        raise ExportError(f"A period of at most {MAX_YEARS} years can be exported at once:"
                          f" {date_from} to {date_to} is longer.")
    return date_from, date_to
