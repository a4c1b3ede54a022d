"""When recurring invoices fall due: counted from the start, month ends kept, ends respected."""

from __future__ import annotations

from datetime import date

import pytest

from saas.billing.recurring.schedule import Unit, is_finished, occurrence


@pytest.mark.parametrize(("start", "every", "unit", "index", "expected"), [
    (date(2026, 1, 31), 1, Unit.MONTHS, 1, date(2026, 2, 28)),
    (date(2026, 1, 31), 1, Unit.MONTHS, 2, date(2026, 3, 31)),  # back to the 31st, no drift
    (date(2028, 1, 31), 1, Unit.MONTHS, 1, date(2028, 2, 29)),  # leap year
    (date(2026, 11, 30), 3, Unit.MONTHS, 1, date(2027, 2, 28)),
    (date(2028, 2, 29), 1, Unit.YEARS, 1, date(2029, 2, 28)),
    (date(2028, 2, 29), 1, Unit.YEARS, 4, date(2032, 2, 29)),
    (date(2026, 12, 28), 2, Unit.WEEKS, 1, date(2027, 1, 11)),
    (date(2026, 12, 30), 10, Unit.DAYS, 3, date(2027, 1, 29)),
    (date(2026, 5, 15), 1, Unit.MONTHS, 0, date(2026, 5, 15)),
], ids=["jan31-feb", "jan31-mar", "leap-feb", "quarterly-end", "leap-day-yearly",
        "leap-day-4-years", "fortnight", "ten-days", "start"])
def test_an_occurrence_is_counted_from_the_start(start, every, unit, index, expected):
    assert occurrence(start, every, unit, index) == expected


def test_a_schedule_is_finished_when_no_occurrence_is_left():
    start = date(2026, 1, 1)
    assert is_finished(start, 1, Unit.MONTHS, 3, count=3)
    assert not is_finished(start, 1, Unit.MONTHS, 2, count=3)
    assert is_finished(start, 1, Unit.MONTHS, 2, until=date(2026, 2, 28))
    assert not is_finished(start, 1, Unit.MONTHS, 2, until=date(2026, 3, 1))
    assert not is_finished(start, 1, Unit.MONTHS, 500)
    with pytest.raises(ValueError, match="every 1 or more"):
        occurrence(start, 0, Unit.DAYS, 1)
