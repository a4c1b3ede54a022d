"""Proration: calendar periods, the billable fraction by actual days, annex segments and
rounding once per line. Every expected value is counted by hand (comments show the count)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from saas.billing.contracts.proration import (
    BillingPeriod,
    Period,
    Segment,
    Version,
    active_part,
    billable_fraction,
    exact_amount,
    line_amount,
    next_period,
    period_containing,
    period_to_bill,
    periods_overlapping,
    previous_period,
    prorated_amount,
    segments,
)

D = Decimal
F = Fraction
MONTHLY = BillingPeriod.MONTHLY
QUARTERLY = BillingPeriod.QUARTERLY
HALF_YEARLY = BillingPeriod.HALF_YEARLY
YEARLY = BillingPeriod.YEARLY


def d(text: str) -> date:
    return date.fromisoformat(text)


def span(start: str, end: str) -> Period:
    """A period written out by hand: [start, end)."""
    return Period(d(start), d(end))


def case_id(value: object) -> str | None:
    """Readable test ids: periods by label, kinds by value, in advance or in arrears."""
    if isinstance(value, Period):
        return value.label().replace(" ", "-") if value.kind else "unaligned"
    if isinstance(value, bool):
        return "in-advance" if value else "in-arrears"
    if isinstance(value, BillingPeriod | str):
        return str(value).replace(" – ", "..").replace(" ", "-")
    return None  # pytest's default


# Periods written out by hand (not computed by the module), with their days.
JAN26 = span("2026-01-01", "2026-02-01")  # 31
FEB26 = span("2026-02-01", "2026-03-01")  # 28
MAR26 = span("2026-03-01", "2026-04-01")  # 31
APR26 = span("2026-04-01", "2026-05-01")  # 30
FEB28 = span("2028-02-01", "2028-03-01")  # 29, leap year
Q1_26 = span("2026-01-01", "2026-04-01")  # 31 + 28 + 31 = 90
Q2_26 = span("2026-04-01", "2026-07-01")  # 30 + 31 + 30 = 91
Q3_26 = span("2026-07-01", "2026-10-01")  # 31 + 31 + 30 = 92
Q1_28 = span("2028-01-01", "2028-04-01")  # 31 + 29 + 31 = 91
H1_26 = span("2026-01-01", "2026-07-01")  # 31 + 28 + 31 + 30 + 31 + 30 = 181
H2_26 = span("2026-07-01", "2027-01-01")  # 31 + 31 + 30 + 31 + 30 + 31 = 184
Y2026 = span("2026-01-01", "2027-01-01")  # 365
Y2027 = span("2027-01-01", "2028-01-01")  # 365
Y2028 = span("2028-01-01", "2029-01-01")  # 366
OLD = "2020-01-01"  # a start long before any period below


# --- billing periods and periods ------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "months", "label"),
    [
        (MONTHLY, 1, "Monthly"),
        (QUARTERLY, 3, "Quarterly"),
        (HALF_YEARLY, 6, "Half-yearly"),
        (YEARLY, 12, "Yearly"),
    ],
    ids=str,
)
def test_billing_period_months_and_label(kind, months, label):
    assert kind.months == months
    assert kind.label == label
    assert BillingPeriod(kind.value) is kind  # the stored string maps back


@pytest.mark.parametrize(
    ("period", "days", "last_day"),
    [
        (JAN26, 31, "2026-01-31"),
        (FEB26, 28, "2026-02-28"),
        (FEB28, 29, "2028-02-29"),
        (APR26, 30, "2026-04-30"),
        (Q1_26, 90, "2026-03-31"),
        (Q1_28, 91, "2028-03-31"),
        (H2_26, 184, "2026-12-31"),
        (Y2026, 365, "2026-12-31"),
        (Y2028, 366, "2028-12-31"),
    ],
    ids=["2026-01", "2026-02", "2028-02-leap", "2026-04", "Q1-2026", "Q1-2028-leap", "H2-2026",
         "year-2026", "year-2028-leap"],
)
def test_period_days_and_last_day(period, days, last_day):
    assert period.days == days
    assert period.last_day == d(last_day)


def test_period_is_half_open():
    assert d("2026-01-01") in JAN26
    assert d("2026-01-31") in JAN26
    assert d("2026-02-01") not in JAN26  # end is the next period's first day
    assert d("2025-12-31") not in JAN26
    assert datetime(2026, 1, 15, 12, 0) not in JAN26  # a datetime is not a day
    assert "2026-01-15" not in JAN26


@pytest.mark.parametrize(
    ("period", "kind", "label"),
    [
        (JAN26, MONTHLY, "2026-01"),
        (FEB28, MONTHLY, "2028-02"),
        (Q1_26, QUARTERLY, "Q1 2026"),
        (Q3_26, QUARTERLY, "Q3 2026"),
        (span("2026-10-01", "2027-01-01"), QUARTERLY, "Q4 2026"),
        (H1_26, HALF_YEARLY, "H1 2026"),
        (H2_26, HALF_YEARLY, "H2 2026"),
        (Y2028, YEARLY, "2028"),
        (span("2026-01-15", "2026-02-15"), None, "2026-01-15 – 2026-02-14"),
        (span("2026-02-01", "2026-05-01"), None, "2026-02-01 – 2026-04-30"),  # not a quarter
    ],
    ids=case_id,
)
def test_period_kind_and_label(period, kind, label):
    assert period.kind is kind
    assert period.label() == label


@pytest.mark.parametrize(
    ("start", "end"),
    [("2026-01-01", "2026-01-01"), ("2026-02-01", "2026-01-01")],
    ids=["empty", "backwards"],
)
def test_period_refuses_no_days(start, end):
    with pytest.raises(ValueError, match="must end after it starts"):
        span(start, end)


# (a day, the kind, the period containing it, its days)
CONTAINING_CASES = [
    ("2026-01-31", MONTHLY, JAN26, 31),
    ("2026-01-01", MONTHLY, JAN26, 31),
    ("2026-02-28", MONTHLY, FEB26, 28),
    ("2028-02-29", MONTHLY, FEB28, 29),
    ("2028-02-28", MONTHLY, FEB28, 29),
    ("2026-12-31", MONTHLY, span("2026-12-01", "2027-01-01"), 31),
    ("2026-03-31", QUARTERLY, Q1_26, 90),
    ("2026-04-01", QUARTERLY, Q2_26, 91),
    ("2026-02-28", QUARTERLY, Q1_26, 90),
    ("2028-02-29", QUARTERLY, Q1_28, 91),
    ("2026-12-31", QUARTERLY, span("2026-10-01", "2027-01-01"), 92),
    ("2026-06-30", HALF_YEARLY, H1_26, 181),
    ("2026-07-01", HALF_YEARLY, H2_26, 184),
    ("2026-12-31", HALF_YEARLY, H2_26, 184),
    ("2026-12-31", YEARLY, Y2026, 365),
    ("2028-02-29", YEARLY, Y2028, 366),
    ("2026-01-01", YEARLY, Y2026, 365),
]


@pytest.mark.parametrize(
    ("day", "kind", "expected", "days"),
    CONTAINING_CASES,
    ids=[f"{day}-{kind}" for day, kind, _, _ in CONTAINING_CASES],
)
def test_period_containing_is_calendar_aligned(day, kind, expected, days):
    period = period_containing(d(day), kind)
    assert period == expected
    assert period.days == days
    assert period_containing(d(day), kind.value) == expected  # the stored string works too


@pytest.mark.parametrize(
    ("run_date", "kind", "in_advance", "expected"),
    [
        ("2026-04-01", QUARTERLY, False, Q1_26),  # in arrears: the quarter before
        ("2026-04-01", QUARTERLY, True, Q2_26),  # in advance: the quarter of the run
        ("2026-06-30", QUARTERLY, True, Q2_26),
        ("2026-01-15", MONTHLY, False, span("2025-12-01", "2026-01-01")),  # across the year
        ("2026-01-15", MONTHLY, True, JAN26),
        ("2026-03-01", MONTHLY, False, FEB26),
        ("2028-03-01", MONTHLY, False, FEB28),
        ("2026-07-01", HALF_YEARLY, False, H1_26),
        ("2026-07-01", HALF_YEARLY, True, H2_26),
        ("2027-01-01", YEARLY, False, Y2026),
        ("2026-12-31", YEARLY, True, Y2026),
    ],
    ids=case_id,
)
def test_period_to_bill(run_date, kind, in_advance, expected):
    assert period_to_bill(d(run_date), kind, in_advance=in_advance) == expected


@pytest.mark.parametrize(
    ("period", "kind", "following", "preceding"),
    [
        (JAN26, MONTHLY, FEB26, span("2025-12-01", "2026-01-01")),
        (span("2026-12-01", "2027-01-01"), MONTHLY, span("2027-01-01", "2027-02-01"),
         span("2026-11-01", "2026-12-01")),
        (Q1_26, QUARTERLY, Q2_26, span("2025-10-01", "2026-01-01")),
        (span("2026-10-01", "2027-01-01"), QUARTERLY, span("2027-01-01", "2027-04-01"), Q3_26),
        (H2_26, HALF_YEARLY, span("2027-01-01", "2027-07-01"), H1_26),
        (Y2027, YEARLY, Y2028, Y2026),
    ],
    ids=["jan", "dec", "q1", "q4", "h2", "year"],
)
def test_next_and_previous_period(period, kind, following, preceding):
    assert next_period(period, kind) == following
    assert previous_period(period, kind) == preceding


@pytest.mark.parametrize(
    ("period", "kind"),
    [(JAN26, QUARTERLY), (Q1_26, MONTHLY), (span("2026-01-15", "2026-02-15"), MONTHLY)],
    ids=["month-as-quarter", "quarter-as-month", "unaligned"],
)
def test_next_period_refuses_a_period_of_another_kind(period, kind):
    with pytest.raises(ValueError, match="is not a calendar-aligned"):
        next_period(period, kind)


@pytest.mark.parametrize(
    ("active_from", "active_until", "kind", "until", "expected"),
    [
        ("2026-02-15", "2026-08-10", QUARTERLY, "2026-12-31", [Q1_26, Q2_26, Q3_26]),
        ("2026-01-31", None, MONTHLY, "2026-04-01",
         [JAN26, FEB26, MAR26, APR26]),  # open-ended: bounded by until
        ("2026-05-10", None, MONTHLY, "2026-04-30", []),  # until is before the first period
        # an in-advance run on 1 May bills May for a contract starting on 10 May
        ("2026-05-10", None, MONTHLY, "2026-05-01", [span("2026-05-01", "2026-06-01")]),
        ("2027-07-01", "2028-06-30", YEARLY, "2030-01-01", [Y2027, Y2028]),
        ("2024-01-01", "2024-02-10", MONTHLY, "2026-01-01",
         [span("2024-01-01", "2024-02-01"), span("2024-02-01", "2024-03-01")]),
        ("2026-01-01", "2026-01-01", HALF_YEARLY, "2026-12-31", [H1_26]),  # a one-day contract
    ],
    ids=["fixed-term-quarters", "open-ended-months", "until-before-start",
         "until-in-first-period", "across-leap-year", "ended-long-ago", "one-day"],
)
def test_periods_overlapping(active_from, active_until, kind, until, expected):
    result = periods_overlapping(
        d(active_from), active_until and d(active_until), kind, d(until)
    )
    assert result == expected


# --- the billable fraction ------------------------------------------------------------------

# (period, active_from, active_until (inclusive, None = open-ended), expected fraction)
FRACTION_CASES = {
    "full-month": (JAN26, OLD, None, F(1)),
    "start-on-the-1st": (MAR26, "2026-03-01", None, F(1)),
    "start-on-the-last-day": (JAN26, "2026-01-31", None, F(1, 31)),
    "start-mid-month-31-days": (JAN26, "2026-01-15", None, F(17, 31)),  # 15th..31st = 17
    "start-mid-month-30-days": (APR26, "2026-04-15", None, F(16, 30)),  # 15th..30th = 16
    "february-2026-start-15th": (FEB26, "2026-02-15", None, F(14, 28)),  # 15th..28th = 1/2
    "february-2028-leap-start-15th": (FEB28, "2028-02-15", None, F(15, 29)),  # 15th..29th
    "february-2028-leap-full": (FEB28, "2027-11-01", None, F(1)),
    "february-2028-ends-28th": (FEB28, OLD, "2028-02-28", F(28, 29)),  # leap day not billed
    "february-2026-ends-on-last-day": (FEB26, OLD, "2026-02-28", F(1)),
    "terminated-on-first-day": (JAN26, OLD, "2026-01-01", F(1, 31)),  # the one day served
    "terminated-on-last-day": (JAN26, OLD, "2026-01-31", F(1)),
    "terminated-15th-of-31-days": (JAN26, OLD, "2026-01-15", F(15, 31)),  # not 15/30
    "terminated-15th-of-30-days": (APR26, OLD, "2026-04-15", F(15, 30)),
    "start-and-end-same-month": (APR26, "2026-04-10", "2026-04-19", F(10, 30)),  # 10..19
    "one-day-contract": (JAN26, "2026-01-20", "2026-01-20", F(1, 31)),
    "ended-before-the-period": (JAN26, OLD, "2025-12-31", F(0)),
    "starts-after-the-period": (JAN26, "2026-02-01", None, F(0)),
    "open-ended": (Q3_26, OLD, None, F(1)),
    "quarter-start-15th-middle-month": (Q1_26, "2026-02-15", None, F(45, 90)),  # 14 + 31
    "leap-quarter-start-15th-middle": (Q1_28, "2028-02-15", None, F(46, 91)),  # 15 + 31
    "quarter-terminated-first-day": (Q2_26, OLD, "2026-04-01", F(1, 91)),
    "quarter-terminated-last-day": (Q2_26, OLD, "2026-06-30", F(1)),
    # run on 2026-04-01 in arrears bills Q1 2026: January 31 + 1..15 February = 46 of 90
    "in-arrears-q1-ends-feb-15": (Q1_26, OLD, "2026-02-15", F(46, 90)),
    "half-year-h2-ends-sep-30": (H2_26, OLD, "2026-09-30", F(92, 184)),  # 31 + 31 + 30
    "half-year-h1-starts-apr-1": (H1_26, "2026-04-01", None, F(91, 181)),  # 30 + 31 + 30
    "year-2027-starts-mar-1": (Y2027, "2027-03-01", None, F(306, 365)),  # 365 - 31 - 28
    "leap-year-2028-starts-mar-1": (Y2028, "2028-03-01", None, F(306, 366)),  # 366 - 31 - 29
    "leap-year-2028-ends-feb-29": (Y2028, OLD, "2028-02-29", F(60, 366)),  # 31 + 29
    # a yearly contract 2027-07-01..2028-06-30, billed per calendar year:
    "across-leap-year-2027-part": (Y2027, "2027-07-01", "2028-06-30", F(184, 365)),  # Jul..Dec
    "across-leap-year-2028-part": (Y2028, "2027-07-01", "2028-06-30", F(182, 366)),  # Jan..Jun
    "year-ends-dec-31": (Y2026, OLD, "2026-12-31", F(1)),
    # any half-open range works: 15 January..14 February is 31 days; 1..14 February active
    "unaligned-period": (span("2026-01-15", "2026-02-15"), "2026-02-01", None, F(14, 31)),
}


@pytest.mark.parametrize(
    ("period", "active_from", "active_until", "expected"),
    list(FRACTION_CASES.values()),
    ids=list(FRACTION_CASES),
)
def test_billable_fraction(period, active_from, active_until, expected):
    result = billable_fraction(period, d(active_from), active_until and d(active_until))
    assert isinstance(result, Fraction)
    assert result == expected


@pytest.mark.parametrize(
    ("period", "active_from", "active_until", "expected"),
    [
        (JAN26, "2026-01-15", None, span("2026-01-15", "2026-02-01")),
        (JAN26, OLD, "2026-01-01", span("2026-01-01", "2026-01-02")),
        (APR26, "2026-04-10", "2026-04-19", span("2026-04-10", "2026-04-20")),
        (JAN26, OLD, "2025-12-31", None),
    ],
    ids=["from-15th", "terminated-first-day", "inside", "none"],
)
def test_active_part(period, active_from, active_until, expected):
    assert active_part(period, d(active_from), active_until and d(active_until)) == expected


# --- annexes: segments ----------------------------------------------------------------------

A, B, C = "original", "annex 1", "annex 2"

# (period, active_from, active_until, versions, expected [(start, end exclusive, fraction, value)])
SEGMENT_CASES = {
    # Q2 2026 = 91 days; annex from 15 May: April 30 + 1..14 May = 44, 15..31 May + June = 47
    "annex-15th-of-middle-month-q2": (
        Q2_26, OLD, None, [(d(OLD), A), (d("2026-05-15"), B)],
        [("2026-04-01", "2026-05-15", F(44, 91), A), ("2026-05-15", "2026-07-01", F(47, 91), B)],
    ),
    # Q1 2026 = 90 days; annex from 15 February: 31 + 14 = 45, 14 + 31 = 45
    "annex-15th-of-middle-month-q1": (
        Q1_26, OLD, None, [(d(OLD), A), (d("2026-02-15"), B)],
        [("2026-01-01", "2026-02-15", F(1, 2), A), ("2026-02-15", "2026-04-01", F(1, 2), B)],
    ),
    "annex-on-the-first-day": (
        Q2_26, OLD, None, [(d(OLD), A), (d("2026-04-01"), B)],
        [("2026-04-01", "2026-07-01", F(1), B)],
    ),
    "annex-before-the-period": (
        JAN26, OLD, None, [(d(OLD), A), (d("2025-06-01"), B)],
        [("2026-01-01", "2026-02-01", F(1), B)],
    ),
    "annex-on-the-last-day": (
        JAN26, OLD, None, [(d(OLD), A), (d("2026-01-31"), B)],
        [("2026-01-01", "2026-01-31", F(30, 31), A), ("2026-01-31", "2026-02-01", F(1, 31), B)],
    ),
    "annex-after-termination-ignored": (
        JAN26, OLD, "2026-01-20", [(d(OLD), A), (d("2026-01-25"), B)],
        [("2026-01-01", "2026-01-21", F(20, 31), A)],
    ),
    "annex-on-termination-day": (
        JAN26, OLD, "2026-01-20", [(d(OLD), A), (d("2026-01-20"), B)],
        [("2026-01-01", "2026-01-20", F(19, 31), A), ("2026-01-20", "2026-01-21", F(1, 31), B)],
    ),
    "annex-after-the-period-ignored": (
        JAN26, OLD, None, [(d(OLD), A), (d("2026-02-10"), B)],
        [("2026-01-01", "2026-02-01", F(1), A)],
    ),
    # starts 10 January (22 days active): 10..19 = 10 days, 20..31 = 12 days
    "start-mid-month-then-annex": (
        JAN26, "2026-01-10", None, [(d("2026-01-10"), A), (d("2026-01-20"), B)],
        [("2026-01-10", "2026-01-20", F(10, 31), A), ("2026-01-20", "2026-02-01", F(12, 31), B)],
    ),
    "two-annexes-in-a-month": (
        APR26, OLD, None, [(d(OLD), A), (d("2026-04-11"), B), (d("2026-04-21"), C)],
        [("2026-04-01", "2026-04-11", F(1, 3), A), ("2026-04-11", "2026-04-21", F(1, 3), B),
         ("2026-04-21", "2026-05-01", F(1, 3), C)],
    ),
    "same-day-versions-last-wins": (
        APR26, OLD, None, [(d(OLD), A), (d("2026-04-11"), B), (d("2026-04-11"), C)],
        [("2026-04-01", "2026-04-11", F(10, 30), A), ("2026-04-11", "2026-05-01", F(20, 30), C)],
    ),
    "not-active-in-the-period": (
        JAN26, OLD, "2025-12-31", [(d(OLD), A), (d("2026-01-15"), B)],
        [],
    ),
    "leap-day-annex": (
        FEB28, OLD, None, [(d(OLD), A), (d("2028-02-29"), B)],
        [("2028-02-01", "2028-02-29", F(28, 29), A), ("2028-02-29", "2028-03-01", F(1, 29), B)],
    ),
    # 2028: January..June = 31 + 29 + 31 + 30 + 31 + 30 = 182, July..December = 184
    "leap-year-annex-jul-1": (
        Y2028, OLD, None, [Version(d(OLD), A), Version(d("2028-07-01"), B)],
        [("2028-01-01", "2028-07-01", F(182, 366), A),
         ("2028-07-01", "2029-01-01", F(184, 366), B)],
    ),
}


@pytest.mark.parametrize(
    ("period", "active_from", "active_until", "versions", "expected"),
    list(SEGMENT_CASES.values()),
    ids=list(SEGMENT_CASES),
)
def test_segments(period, active_from, active_until, versions, expected):
    active_until = active_until and d(active_until)
    result = segments(period, d(active_from), active_until, versions)
    assert [(s.start, s.end, s.fraction, s.value) for s in result] == [
        (d(start), d(end), fraction, value) for start, end, fraction, value in expected
    ]
    # the invariant: the segments' fractions add up to the billable fraction
    assert sum((s.fraction for s in result), F(0)) == billable_fraction(
        period, d(active_from), active_until
    )


# --- amounts: rounded once ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("unit_price", "quantity", "fraction", "currency", "expected"),
    [
        ("100.00", "1", F(15, 31), "EUR", "48.39"),  # 1500/31 = 48.387…
        ("100.00", "1", F(17, 31), "EUR", "54.84"),  # 1700/31 = 54.838…
        ("100.01", "1", F(1, 2), "EUR", "50.01"),  # 50.005: a tie goes up
        ("99.99", "1", F(14, 28), "EUR", "50.00"),  # February 2026 from the 15th: 49.995
        ("12.00", "2.5", F(17, 31), "EUR", "16.45"),  # 30 × 17/31 = 510/31 = 16.451…
        ("10000", "1", F(15, 31), "JPY", "4839"),  # 150000/31 = 4838.709…, no decimals
        ("101", "1", F(1, 2), "JPY", "51"),  # 50.5 → 51
        ("10.000", "1", F(1, 3), "KWD", "3.333"),  # three decimals
        ("100.00", "1", F(0), "EUR", "0.00"),
        ("19.9950", "1", F(1), "EUR", "20.00"),  # a 4-decimal unit price, full period
        ("1200.00", "1", F(306, 366), "EUR", "1003.28"),  # 2028 from 1 March: 61200/61 = 1003.278…
        ("-100.00", "1", F(15, 31), "EUR", "-48.39"),  # a discount line: half away from zero
    ],
    ids=["eur-15-of-31", "eur-17-of-31", "eur-tie", "feb-2026-half", "quantity", "jpy",
         "jpy-tie", "kwd", "zero", "full", "leap-year", "negative"],
)
def test_prorated_amount(unit_price, quantity, fraction, currency, expected):
    result = prorated_amount(D(unit_price), D(quantity), fraction, currency)
    assert result == D(expected)
    assert str(result) == expected  # in the currency's minor unit


def seg(start: str, end: str, fraction: Fraction, unit_price: str, quantity: str = "1"):
    return Segment(d(start), d(end), fraction, (D(unit_price), D(quantity)))


@pytest.mark.parametrize(
    ("line_segments", "currency", "expected"),
    [
        # Q2 2026, 100.00 then 120.00 from 15 May: (4400 + 5640) / 91 = 10040/91 = 110.329…
        ([seg("2026-04-01", "2026-05-15", F(44, 91), "100.00"),
          seg("2026-05-15", "2026-07-01", F(47, 91), "120.00")], "EUR", "110.33"),
        # January, 20.00 then 50.00 from the 16th: (300 + 800) / 31 = 1100/31 = 35.483…
        ([seg("2026-01-01", "2026-01-16", F(15, 31), "20.00"),
          seg("2026-01-16", "2026-02-01", F(16, 31), "50.00")], "EUR", "35.48"),
        # April, 2 then 3 × 10.00 from the 16th: 20 × 1/2 + 30 × 1/2 = 25
        ([seg("2026-04-01", "2026-04-16", F(15, 30), "10.00", "2"),
          seg("2026-04-16", "2026-05-01", F(15, 30), "10.00", "3")], "EUR", "25.00"),
        # January in yen, 1000 then 2000 from the 16th: (15000 + 32000) / 31 = 1516.129…
        ([seg("2026-01-01", "2026-01-16", F(15, 31), "1000"),
          seg("2026-01-16", "2026-02-01", F(16, 31), "2000")], "JPY", "1516"),
        ([], "EUR", "0.00"),  # not active in the period
    ],
    ids=["q2-annex-15-may", "january-annex-16th", "quantity-change", "jpy", "no-segments"],
)
def test_line_amount(line_segments, currency, expected):
    result = line_amount(line_segments, currency)
    assert result == D(expected)
    assert str(result) == expected


def test_line_amount_rounds_once_not_per_segment():
    # January 2026: 20.00 until the 15th (15/31), 50.00 from the 16th (16/31).
    line_segments = segments(
        JAN26, d(OLD), None, [(d(OLD), D("20.00")), (d("2026-01-16"), D("50.00"))]
    )
    assert [s.fraction for s in line_segments] == [F(15, 31), F(16, 31)]
    per_segment = [
        prorated_amount(s.value, D(1), s.fraction, "EUR") for s in line_segments
    ]
    assert per_segment == [D("9.68"), D("25.81")]  # 300/31 = 9.677…, 800/31 = 25.806…
    assert sum(per_segment) == D("35.49")  # one cent too many
    # exactly 1100/31 = 35.483…, rounded once
    assert exact_amount(line_segments, lambda price: (price, D(1))) == F(1100, 31)
    assert line_amount(line_segments, "EUR", lambda price: (price, D(1))) == D("35.48")


def test_line_amount_maps_values_with_price_of():
    line_segments = [
        Segment(d("2026-01-01"), d("2026-01-16"), F(15, 31), {"price": D("100.00"), "qty": 1}),
    ]
    result = line_amount(line_segments, "EUR", lambda v: (v["price"], D(v["qty"])))
    assert result == D("48.39")  # 1500/31


# --- nonsense is refused --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: billable_fraction(JAN26, d("2026-01-15"), d("2026-01-14")),
         "last day of service .* is before the first"),
        (lambda: segments(JAN26, d(OLD), None, [(d(OLD), A), (d("2026-01-20"), B),
                                                (d("2026-01-10"), C)]),
         "versions must be in date order"),
        (lambda: segments(JAN26, d(OLD), None, []), "at least one version"),
        (lambda: segments(JAN26, d("2026-01-01"), None, [(d("2026-01-05"), A)]),
         "no state before it"),
        (lambda: segments(JAN26, d("2026-01-15"), d("2026-01-01"), [(d(OLD), A)]),
         "is before the first"),
        (lambda: periods_overlapping(d("2026-03-01"), d("2026-02-01"), MONTHLY, d("2026-12-31")),
         "is before the first"),
        (lambda: prorated_amount(D("100.00"), D(1), F(32, 31), "EUR"), "between 0 and 1"),
        (lambda: prorated_amount(D("100.00"), D(1), F(-1, 31), "EUR"), "between 0 and 1"),
        (lambda: prorated_amount(D("100.00"), D(1), F(1, 2), "XXY"), "currency"),
        (lambda: period_containing(d("2026-01-01"), "weekly"), "weekly"),
    ],
    ids=["until-before-from", "versions-out-of-order", "no-versions", "first-version-late",
         "segments-until-before-from", "overlapping-until-before-from", "fraction-above-1",
         "negative-fraction", "unknown-currency", "unknown-kind"],
)
def test_nonsense_is_refused(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize(
    "call",
    [
        lambda: billable_fraction(JAN26, datetime(2026, 1, 15, 8, 0), None),
        lambda: Period(d("2026-01-01"), "2026-02-01"),
        lambda: prorated_amount(D("100.00"), D(1), 0.5, "EUR"),
        lambda: prorated_amount(100.0, D(1), F(1, 2), "EUR"),
        lambda: segments(JAN26, d(OLD), None, [("2020-01-01", A)]),
    ],
    ids=["datetime", "string-date", "float-fraction", "float-price", "string-version-date"],
)
def test_wrong_types_are_refused(call):
    with pytest.raises(TypeError):
        call()


# --- properties over many dates -------------------------------------------------------------

offsets = st.integers(min_value=-400, max_value=400)  # days from the period's start


@given(
    day=st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31)),
    kind=st.sampled_from(list(BillingPeriod)),
    start_offset=offsets,
    length=st.none() | st.integers(min_value=0, max_value=800),
    annex_offsets=st.lists(offsets, max_size=4),
)
def test_segments_tile_the_active_days(day, kind, start_offset, length, annex_offsets):
    period = period_containing(day, kind)
    origin = period.start.toordinal()
    active_from = date.fromordinal(origin + start_offset)
    active_until = None if length is None else date.fromordinal(origin + start_offset + length)
    annexes = sorted(date.fromordinal(origin + offset) for offset in annex_offsets)
    versions = [(active_from, 0)] + [
        (annex, i + 1) for i, annex in enumerate(a for a in annexes if a >= active_from)
    ]
    fraction = billable_fraction(period, active_from, active_until)
    assert 0 <= fraction <= 1
    result = segments(period, active_from, active_until, versions)
    assert sum((s.fraction for s in result), F(0)) == fraction
    for earlier, later in zip(result, result[1:], strict=False):
        assert earlier.end == later.start  # no gap, no overlap
    assert all(s.days > 0 and s.fraction == F(s.days, period.days) for s in result)
    if result:
        part = active_part(period, active_from, active_until)
        assert (result[0].start, result[-1].end) == (part.start, part.end)
