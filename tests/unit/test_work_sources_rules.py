"""Guarding charges, netting and project margin (R5.6, R5.10, R5.11): the pure rules."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest

from saas.billing.work.guarding_rules import (
    GuardingMode,
    month_days,
    parse_hours,
    period_charge,
)
from saas.billing.work.margin_rules import (
    TimeRow,
    WorkKind,
    hours_of,
    project_margin,
    time_per_member,
)
from saas.billing.work.netting_rules import Outcome, Side, SpecLine, net

D = Decimal


@pytest.mark.parametrize(
    ("typed", "hours"),
    [
        ("", "0"),
        ("  ", "0"),
        ("8", "8.00"),
        ("7,5", "7.50"),
        ("7.75", "7.75"),
        ("24", "24.00"),
        ("0", "0.00"),
    ],
)
def test_hours_typed_into_a_day(typed, hours):
    assert parse_hours(typed) == D(hours)


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("abc", "not a number"),
        ("-1", "negative"),
        ("24.25", "at most 24"),
        ("7.1", "quarters"),
    ],
)
def test_hours_that_are_refused_say_why(typed, message):
    with pytest.raises(ValueError, match=message):
        parse_hours(typed)


@pytest.mark.parametrize(
    ("year", "month", "days"), [(2026, 2, 28), (2028, 2, 29), (2026, 11, 30), (2026, 12, 31)]
)
def test_a_month_grid_has_every_day(year, month, days):
    grid = month_days(year, month)
    assert (len(grid), grid[0], grid[-1].day) == (days, date(year, month, 1), days)


@pytest.mark.parametrize(
    ("mode", "hours", "rate", "lump", "quantity", "price"),
    [
        # by the hour: the period's hours at the site's rate
        (GuardingMode.HOURLY, ["12", "12", "8.5"], "38.50", None, "32.5", "38.50"),
        # by the hour without a rate: the pricing engine prices it (no unit price)
        (GuardingMode.HOURLY, ["24"] * 30, None, None, "720", None),
        # a lump sum: once, whatever the hours
        (GuardingMode.LUMP_SUM, ["24"] * 31, None, "9800", "1", "9800"),
        (GuardingMode.LUMP_SUM, ["0.25"], "38.50", "9800", "1", "9800"),
    ],
)
def test_a_periods_charge(mode, hours, rate, lump, quantity, price):
    charge = period_charge(
        mode,
        [D(h) for h in hours],
        period_label="2026-11",
        hourly_rate=D(rate) if rate else None,
        lump_sum=D(lump) if lump else None,
    )
    assert (charge.quantity, charge.unit_price) == (D(quantity), D(price) if price else None)
    assert charge.hours == sum((D(h) for h in hours), D(0))


@pytest.mark.parametrize("mode", list(GuardingMode))
def test_a_period_nobody_guarded_is_not_billed(mode):
    assert (
        period_charge(mode, [D(0), D(0)], period_label="x", hourly_rate=D(30), lump_sum=D(100))
        is None
    )


def test_a_lump_sum_site_without_its_amount_is_refused():
    with pytest.raises(ValueError, match="agreed amount"):
        period_charge(GuardingMode.LUMP_SUM, [D(8)], period_label="x")


def _line(side, quantity, price):
    return SpecLine(side, date(2026, 11, 3), "service", D(quantity), "h", D(price))


@pytest.mark.parametrize(
    ("given", "received", "outcome", "difference", "totals"),
    [
        ([("10", "100")], [("2", "150")], Outcome.INVOICE, "700.00", ("1000.00", "300.00")),
        ([("1", "50")], [("3", "40")], Outcome.PAYABLE, "70.00", ("50.00", "120.00")),
        ([("2", "60")], [("1", "120")], Outcome.EVEN, "0", ("120.00", "120.00")),
        ([], [("1", "99.99")], Outcome.PAYABLE, "99.99", ("0", "99.99")),
        ([("1", "10")], [], Outcome.INVOICE, "10.00", ("10.00", "0")),
        # each line rounded half up to the minor unit, then summed: 3 × 0.335 = 1.005 → 1.01
        ([("3", "0.335"), ("3", "0.335")], [], Outcome.INVOICE, "2.02", ("2.02", "0")),
    ],
)
def test_only_the_difference_changes_hands(given, received, outcome, difference, totals):
    lines = [_line(Side.GIVEN, *g) for g in given] + [_line(Side.RECEIVED, *r) for r in received]
    result = net(lines, "EUR")
    assert (result.outcome, result.difference) == (outcome, D(difference))
    assert (result.given, result.received) == tuple(D(t) for t in totals)


def test_netting_in_a_currency_without_decimals():
    result = net([_line(Side.GIVEN, "1", "100.5"), _line(Side.RECEIVED, "1", "40.4")], "JPY")
    assert (result.given, result.received, result.difference) == (D(101), D(40), D(61))


def _rows(*rows):
    return [TimeRow(member, WorkKind(kind), minutes) for member, kind, minutes in rows]


def test_time_is_split_per_member_and_kind():
    members, without = time_per_member(
        _rows(
            ("Ann", "billable", 300),
            ("Ann", "internal", 90),
            ("Ann", "billable", 120),
            ("Bob", "bug_fix", 180),
        ),
        {"Ann": D("40")},
        "EUR",
    )
    assert [(m.member, m.billable, m.internal, m.bug_fix, m.total, m.cost) for m in members] == [
        ("Ann", D(7), D("1.5"), D(0), D("8.5"), D("340.00")),
        ("Bob", D(0), D(0), D(3), D(3), D(0)),
    ]
    assert without == ["Bob"]


@pytest.mark.parametrize(
    ("minutes", "hours"), [(0, "0"), (20, "0.33"), (40, "0.67"), (90, "1.5"), (61, "1.02")]
)
def test_minutes_show_as_hours_to_two_decimals(minutes, hours):
    assert hours_of(minutes) == D(hours)


@pytest.mark.parametrize(
    ("invoiced", "open_", "rows", "payables", "cost", "margin", "percent"),
    [
        ("1000", "500", [("Ann", "billable", 600)], ["200"], "600.00", "900.00", "60.0"),
        ("0", "0", [("Ann", "internal", 120)], [], "80.00", "-80.00", None),
        ("300", "0", [("Ann", "billable", 600)], ["100"], "500.00", "-200.00", "-66.7"),
        # 20 minutes at 40 an hour: 13.333… → 13.33, from the exact minutes, not 0.33 h
        ("100", "0", [("Ann", "bug_fix", 20)], [], "13.33", "86.67", "86.7"),
        # minutes are summed per member before rounding: 3 × 20 min = 1 h = 40.00
        ("100", "0", [("Ann", "billable", 20)] * 3, [], "40.00", "60.00", "60.0"),
    ],
)
def test_the_gross_margin_of_a_project(invoiced, open_, rows, payables, cost, margin, percent):
    result = project_margin(
        currency="EUR",
        revenue_invoiced=D(invoiced),
        revenue_to_invoice=D(open_),
        time_rows=_rows(*rows),
        rates={"Ann": D(40)},
        payables=[D(p) for p in payables],
    )
    assert (result.cost, result.margin) == (D(cost), D(margin))
    assert result.margin_percent == (D(percent) if percent else None)
    assert result.revenue == D(invoiced) + D(open_)


def test_the_netting_statement_prints_both_sides_and_the_result():
    from pypdf import PdfReader

    from saas.billing.work.netting_pdf import PrintLine, StatementPrint, render_netting

    lines = (
        PrintLine(
            Side.GIVEN,
            date(2026, 11, 3),
            "Konwój – odbiór, Łódź",
            D(2),
            "szt.",
            D("180"),
            D("360.00"),
        ),
        PrintLine(
            Side.RECEIVED,
            date(2026, 11, 4),
            "Ochrona – zastępstwo",
            D(8),
            "h",
            D("30"),
            D("240.00"),
        ),
    )
    pdf = render_netting(
        StatementPrint(
            "NS-0001",
            "Ochrona Sokół",
            "Agencja Żubr",
            date(2026, 11, 1),
            date(2026, 11, 30),
            "PLN",
            D("360.00"),
            D("240.00"),
            D("120.00"),
            Outcome.INVOICE,
            "Invoice INV-1",
            lines,
        )
    )
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    for expected in (
        "NS-0001",
        "Konwój – odbiór, Łódź",
        "Ochrona – zastępstwo",
        "120.00",
        "Agencja Żubr pays Ochrona Sokół",
    ):
        assert expected in text
