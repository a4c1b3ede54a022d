"""Proration: the billable fraction of a billing period (pure: no Flask, no database).

Periods. A contract is billed per calendar-aligned period of its kind: a month, a quarter
(starting in January, April, July or October), a half-year (January or July) or a year
(January). A ``Period`` is the half-open range [start, end): ``end`` is the first day of the
next period, so its number of days is ``end - start`` and periods follow each other with
neither a gap nor an overlap.

Which period a run bills. Billed in advance, a run bills the period containing the run date;
billed in arrears, the period before it. A quarterly run on 2026-04-01 bills Q2 2026 (1 April
to 30 June) in advance and Q1 2026 (1 January to 31 March) in arrears.

The rule. A line active from ``active_from`` through ``active_until`` (both inclusive: the
contract's start date is its first day of service, its end or termination date its last day
of service; no ``active_until`` means open-ended) is billed, for a period, the fraction

    (days of the period on which it is active) / (days in the period)

as an exact ``Fraction``: 0 when it does not overlap the period, 1 for the whole period.
Terminating on the period's first day bills that one day; terminating on its last day bills
the whole period.

Days are actual calendar days: February has 28 days (29 in a leap year), a quarter 90 to 92,
a half-year 181 to 184, a year 365 or 366. The 30/360 convention (every month counted as 30
days) is NOT used: it cannot express a 31-day month (the 31st would be free, and a customer
terminating on the 15th would pay 15/30 for 15 of 31 days served) and it makes a day of
February cost more than a day of March. By actual days the customer pays for exactly the days
served, which is what can be explained on the invoice and to an auditor.

Example: a 100.00 EUR monthly line terminated on 2026-01-15 is billed for January
100.00 × 1 × 15/31 = 48.387… → 48.39; one starting on 2026-02-15 pays 14/28 = 1/2 of
February 2026, on 2028-02-15 15/29 of February 2028 (a leap year).

Annexes. An annex changes a line (its quantity or unit price) from its effective date,
inclusive. A line's history is a list of versions (effective_from, value), in date order, the
first being the original, in force from the line's first day. ``segments()`` cuts the active
days of a period where the version in force changes; each segment has its own fraction of the
period, and the segments' fractions sum to the billable fraction. A version effective after the
last active day (an annex after the termination) or after the period is ignored; one effective
on or before the period's first active day replaces the earlier ones for the whole period. Two
versions effective on the same day: the one given last wins (the earlier one never applies).

Rounding. Fractions and amounts stay exact; a line's amount is unit price × quantity ×
fraction, summed over its segments exactly, and rounded once, half up, to the currency's
minor unit (DESIGN.md: round once per line). Rounding each segment would add or lose a cent
whenever an annex splits a period: 20.00 for 15/31 of January plus 50.00 for 16/31 is
35.483… → 35.48 as one line, but 9.68 + 25.81 = 35.49 rounded per segment.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from itertools import pairwise
from typing import Any, Generic, NamedTuple, TypeVar

from saas.billing.money import EXACT, as_decimal, exact_product, quantize_money

T = TypeVar("T")

ONE_DAY = timedelta(days=1)


class BillingPeriod(enum.StrEnum):
    """How often a contract is billed; the value is what the database stores."""

    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    HALF_YEARLY = "half_yearly"
    YEARLY = "yearly"

    @property
    def months(self) -> int:
        """The period's length in calendar months (1, 3, 6 or 12)."""
        return _MONTHS[self]

    @property
    def label(self) -> str:
        """An English label for forms and lists ("Monthly", "Half-yearly", ...)."""
        return _LABELS[self]


_MONTHS = {
    BillingPeriod.MONTHLY: 1,
    BillingPeriod.QUARTERLY: 3,
    BillingPeriod.HALF_YEARLY: 6,
    BillingPeriod.YEARLY: 12,
}
_LABELS = {
    BillingPeriod.MONTHLY: "Monthly",
    BillingPeriod.QUARTERLY: "Quarterly",
    BillingPeriod.HALF_YEARLY: "Half-yearly",
    BillingPeriod.YEARLY: "Yearly",
}


def _check_day(value: object, name: str) -> date:
    """Return value if it is a date (not a datetime, whose time would be ignored)."""
    if isinstance(value, datetime) or not isinstance(value, date):
        raise TypeError(f"{name} must be a date, not {type(value).__name__}")
    return value


def _check_span(active_from: date, active_until: date | None) -> None:
    _check_day(active_from, "active_from")
    if active_until is not None:
        _check_day(active_until, "active_until")
        if active_until < active_from:
            raise ValueError(
                f"the last day of service ({active_until}) is before the first ({active_from})"
            )


def _add_months(first_of_month: date, months: int) -> date:
    index = first_of_month.year * 12 + first_of_month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class Period:
    """The days from ``start`` (inclusive) to ``end`` (exclusive: the next period's first day)."""

    start: date
    end: date

    def __post_init__(self) -> None:
        _check_day(self.start, "start")
        _check_day(self.end, "end")
        if self.end <= self.start:
            raise ValueError(
                f"a period must end after it starts: [{self.start}, {self.end}) has no days"
            )

    @property
    def days(self) -> int:
        """The number of days in the period (28 to 366 for a calendar-aligned one)."""
        return (self.end - self.start).days

    @property
    def last_day(self) -> date:
        """The period's last day (inclusive), e.g. 2026-03-31 for Q1 2026."""
        return self.end - ONE_DAY

    def __contains__(self, day: object) -> bool:
        if isinstance(day, datetime) or not isinstance(day, date):
            return False
        return self.start <= day < self.end

    @property
    def kind(self) -> BillingPeriod | None:
        """The kind of calendar-aligned period this is, or None for any other range of days."""
        for kind in BillingPeriod:
            if period_containing(self.start, kind) == self:
                return kind
        return None

    def label(self) -> str:
        """A short English/ISO label: "2026-01", "Q1 2026", "H2 2026", "2026".

        Any other range is labelled by its first and last days: "2026-01-15 – 2026-02-14".
        """
        kind = self.kind
        start = self.start
        if kind is BillingPeriod.MONTHLY:
            return f"{start.year:04d}-{start.month:02d}"
        if kind is BillingPeriod.QUARTERLY:
            return f"Q{(start.month - 1) // 3 + 1} {start.year:04d}"
        if kind is BillingPeriod.HALF_YEARLY:
            return f"H{(start.month - 1) // 6 + 1} {start.year:04d}"
        if kind is BillingPeriod.YEARLY:
            return f"{start.year:04d}"
        return f"{start.isoformat()} – {self.last_day.isoformat()}"


def period_containing(day: date, kind: BillingPeriod | str) -> Period:
    """Return the calendar-aligned period of the kind that contains the day.

    Months start on the 1st, quarters in January, April, July and October, half-years in
    January and July, years in January: 2026-02-28 is in Q1 2026 = [2026-01-01, 2026-04-01).
    """
    _check_day(day, "day")
    months = BillingPeriod(kind).months
    start = date(day.year, (day.month - 1) // months * months + 1, 1)
    return Period(start, _add_months(start, months))


def _check_kind(period: Period, kind: BillingPeriod | str) -> BillingPeriod:
    kind = BillingPeriod(kind)
    if period.kind is not kind:
        raise ValueError(f"{period.label()} is not a calendar-aligned {kind.value} period")
    return kind


def next_period(period: Period, kind: BillingPeriod | str) -> Period:
    """Return the period of the kind that follows ``period`` (which must be one of that kind)."""
    return period_containing(period.end, _check_kind(period, kind))


def previous_period(period: Period, kind: BillingPeriod | str) -> Period:
    """Return the period of the kind before ``period`` (which must be one of that kind)."""
    return period_containing(period.start - ONE_DAY, _check_kind(period, kind))


def period_to_bill(run_date: date, kind: BillingPeriod | str, *, in_advance: bool) -> Period:
    """Return the period a billing run on ``run_date`` bills.

    In advance, the period containing the run date; in arrears, the one before it
    (quarterly on 2026-04-01: Q2 2026 in advance, Q1 2026 in arrears).
    """
    current = period_containing(run_date, kind)
    return current if in_advance else previous_period(current, kind)


def periods_overlapping(
    active_from: date,
    active_until: date | None,
    kind: BillingPeriod | str,
    until: date,
) -> list[Period]:
    """Return, in order, the periods of the kind that overlap the active days, up to and
    including the period that contains ``until``.

    ``active_until`` is the last day of service (inclusive), None when open-ended; ``until``
    bounds the list (for a run: the run date in advance, a day of the billed period in
    arrears). Empty when ``until`` falls in a period before the first active day's.
    """
    _check_span(active_from, active_until)
    _check_day(until, "until")
    kind = BillingPeriod(kind)
    last = period_containing(until, kind)
    if active_until is not None and active_until < last.start:
        last = period_containing(active_until, kind)
    result = []
    period = period_containing(active_from, kind)
    while period.start <= last.start:
        result.append(period)
        period = next_period(period, kind)
    return result


def active_part(period: Period, active_from: date, active_until: date | None) -> Period | None:
    """Return the days of the period on which the line is active, or None if there are none.

    ``active_until`` is inclusive (None: open-ended); the result is half-open like any Period.
    """
    _check_span(active_from, active_until)
    start = max(period.start, active_from)
    if active_until is None or active_until >= period.last_day:
        end = period.end
    else:
        end = active_until + ONE_DAY
    return Period(start, end) if start < end else None


def billable_fraction(period: Period, active_from: date, active_until: date | None) -> Fraction:
    """Return (active days in the period) / (days in the period), exactly.

    0 when the line is not active in the period, 1 when it is active all of it.
    """
    part = active_part(period, active_from, active_until)
    if part is None:
        return Fraction(0)
    return Fraction(part.days, period.days)


class Version(NamedTuple, Generic[T]):
    """A line's state from ``effective_from`` (inclusive) until the next version."""

    effective_from: date
    value: T


@dataclass(frozen=True)
class Segment(Generic[T]):
    """The days [start, end) of a period in which one version of a line was in force."""

    start: date
    end: date  # exclusive
    fraction: Fraction  # of the whole period: days / period.days
    value: T

    @property
    def days(self) -> int:
        return (self.end - self.start).days


def segments(
    period: Period,
    active_from: date,
    active_until: date | None,
    versions: Sequence[tuple[date, T]],
) -> list[Segment[T]]:
    """Split the period's active days by the version of the line in force.

    ``versions`` are (effective_from, value) pairs in date order, the first being the
    original state, which must be in force by ``active_from``. Returns the segments in date
    order, none empty; their fractions sum to ``billable_fraction(period, active_from,
    active_until)``. Empty when the line is not active in the period.
    """
    _check_span(active_from, active_until)
    if not versions:
        raise ValueError("a line needs at least one version (its original state)")
    for index, (effective_from, _) in enumerate(versions):
        _check_day(effective_from, f"the effective date of version {index}")
    for (earlier, _), (later, _) in pairwise(versions):
        if later < earlier:
            raise ValueError(
                f"versions must be in date order: one effective {later} comes after {earlier}"
            )
    first = versions[0][0]
    if first > active_from:
        raise ValueError(
            f"the first version takes effect on {first}, after the line starts on "
            f"{active_from}: the line has no state before it"
        )
    part = active_part(period, active_from, active_until)
    if part is None:
        return []
    result: list[Segment[T]] = []
    for index, (effective_from, value) in enumerate(versions):
        start = max(effective_from, part.start)
        end = part.end
        if index + 1 < len(versions):
            end = min(end, versions[index + 1][0])
        if start < end:
            result.append(Segment(start, end, Fraction((end - start).days, period.days), value))
    return result


def _check_fraction(fraction: Fraction | int) -> Fraction:
    if isinstance(fraction, bool) or not isinstance(fraction, Fraction | int):
        raise TypeError(f"a fraction must be a Fraction, not {type(fraction).__name__}")
    if not 0 <= fraction <= 1:
        raise ValueError(f"a fraction of a period is between 0 and 1, not {fraction}")
    return Fraction(fraction)


def _exact(unit_price: Decimal, quantity: Decimal, fraction: Fraction | int) -> Fraction:
    return (
        Fraction(as_decimal(unit_price, "unit price"))
        * Fraction(as_decimal(quantity, "quantity"))
        * _check_fraction(fraction)
    )


def prorated_amount(
    unit_price: Decimal, quantity: Decimal, fraction: Fraction | int, currency: str
) -> Decimal:
    """Return unit price × quantity × fraction, exact, rounded once half up to the currency's
    minor unit (100.00 × 1 × 15/31 = 48.387… → 48.39 EUR; 10000 × 1 × 15/31 → 4839 JPY)."""
    return quantize_money(_exact(unit_price, quantity, fraction), currency)


def _price_and_quantity(value: Any) -> tuple[Decimal, Decimal]:
    unit_price, quantity = value
    return unit_price, quantity


def exact_amount(
    line_segments: Iterable[Segment[T]],
    price_of: Callable[[T], tuple[Decimal, Decimal]] = _price_and_quantity,
) -> Fraction:
    """Return the exact, unrounded sum of unit price × quantity × fraction over the segments.

    ``price_of`` maps a segment's value to (unit price, quantity); by default the value is
    that pair itself.
    """
    return Fraction(_exact_sum(line_segments, price_of))


def _exact_sum(line_segments: Iterable[Segment[T]],
               price_of: Callable[[T], tuple[Decimal, Decimal]]) -> Decimal | Fraction:
    """``exact_amount``, as a Decimal when every segment is a whole period (the usual
    case, and far cheaper than fractions), else as a Fraction."""
    whole, parts = Decimal(0), None
    for segment in line_segments:
        unit_price, quantity = price_of(segment.value)
        product = (exact_product(unit_price, quantity) if _check_fraction(segment.fraction) == 1
                   else _exact(unit_price, quantity, segment.fraction))
        if isinstance(product, Decimal):
            whole = EXACT.add(whole, product)
        else:
            parts = product if parts is None else parts + product
    return whole if parts is None else Fraction(whole) + parts


def line_amount(
    line_segments: Iterable[Segment[T]],
    currency: str,
    price_of: Callable[[T], tuple[Decimal, Decimal]] = _price_and_quantity,
) -> Decimal:
    """Return a line's prorated amount: the segments' exact amounts summed, then rounded
    once, half up, to the currency's minor unit.

    Once per line, not per segment, so an annex in the middle of a period adds no rounding
    cent (see the module docstring). ``price_of`` as for ``exact_amount``; no segments
    (the line is not active in the period) gives zero.
    """
    return quantize_money(_exact_sum(line_segments, price_of), currency)
