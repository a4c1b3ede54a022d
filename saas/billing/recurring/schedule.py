"""When a recurring invoice falls due (pure: no database).

The k-th occurrence is ``start + k × interval``, always counted from the start, never from
the previous occurrence: a schedule on the 31st falls on the last day of shorter months
and comes back to the 31st (Jan 31, Feb 28, Mar 31 …), without drifting to the 28th.
"""

from __future__ import annotations

import enum
from datetime import date

from dateutil.relativedelta import relativedelta


class Unit(enum.StrEnum):
    DAYS = "days"
    WEEKS = "weeks"
    MONTHS = "months"
    YEARS = "years"

    @property
    def label(self) -> str:
        return self.value


class Ending(enum.StrEnum):
    NEVER = "never"  # until stopped
    UNTIL = "until"  # no occurrence after a date
    COUNT = "count"  # a number of occurrences

    @property
    def label(self) -> str:
        return {"never": "Until stopped", "until": "Until a date",
                "count": "A number of times"}[self.value]


def occurrence(start: date, every: int, unit: Unit, index: int) -> date:
    """The date of occurrence number ``index`` (0 is the start)."""
    if every < 1 or index < 0:
        raise ValueError("A schedule repeats every 1 or more units, from occurrence 0.")
    steps = every * index
    delta = {Unit.DAYS: relativedelta(days=steps), Unit.WEEKS: relativedelta(weeks=steps),
             Unit.MONTHS: relativedelta(months=steps),
             Unit.YEARS: relativedelta(years=steps)}[unit]
    return start + delta


def is_finished(start: date, every: int, unit: Unit, next_index: int, *,
                until: date | None = None, count: int | None = None) -> bool:
    """True when the schedule has no occurrence left after ``next_index - 1``."""
    if count is not None and next_index >= count:
        return True
    return until is not None and occurrence(start, every, unit, next_index) > until
