"""The sales reports' pure parts: periods and the one before, comparisons, CSV and XLSX."""

from __future__ import annotations

import csv
import html
import io
import re
import zipfile
from datetime import date
from decimal import Decimal

import pytest

from saas.billing.reports.tables import (
    COUNT,
    PERCENT,
    Column,
    Period,
    Report,
    Row,
    add_months,
    change_percent,
    margin_percent,
    month_period,
    report_csv,
    report_xlsx,
    sum_columns,
)

D = Decimal


@pytest.mark.parametrize(
    ("start", "end", "before"),
    [
        (date(2026, 10, 1), date(2026, 10, 31), (date(2026, 9, 1), date(2026, 9, 30))),
        (date(2026, 3, 1), date(2026, 3, 31), (date(2026, 2, 1), date(2026, 2, 28))),
        (date(2026, 1, 1), date(2026, 3, 31), (date(2025, 10, 1), date(2025, 12, 31))),
        (date(2026, 1, 1), date(2026, 12, 31), (date(2025, 1, 1), date(2025, 12, 31))),
        (date(2026, 10, 1), date(2026, 10, 15), (date(2026, 9, 1), date(2026, 9, 15))),
        (date(2026, 3, 1), date(2026, 3, 30), (date(2026, 2, 1), date(2026, 2, 28))),
        (date(2026, 10, 5), date(2026, 10, 14), (date(2026, 9, 25), date(2026, 10, 4))),
        (date(2026, 9, 15), date(2026, 10, 14), (date(2026, 8, 16), date(2026, 9, 14))),
        (date(2026, 10, 10), date(2026, 10, 10), (date(2026, 10, 9), date(2026, 10, 9))),
    ],
)
def test_the_previous_period(start, end, before):
    assert Period(start, end).previous() == Period(*before)


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2026, 3, 31), -1, date(2026, 2, 28)),
        (date(2026, 1, 15), -13, date(2024, 12, 15)),
        (date(2024, 2, 29), 12, date(2025, 2, 28)),
    ],
)
def test_add_months_clips_to_the_months_end(day, months, expected):
    assert add_months(day, months) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-02", Period(date(2026, 2, 1), date(2026, 2, 28))),
        ("2024-02", Period(date(2024, 2, 1), date(2024, 2, 29))),
        ("2026-12", Period(date(2026, 12, 1), date(2026, 12, 31))),
    ],
)
def test_month_period(text, expected):
    assert month_period(text) == expected


@pytest.mark.parametrize("text", ["2026-13", "2026", "", "abc-de", "2026-1-1"])
def test_month_period_refuses_what_is_not_a_month(text):
    with pytest.raises(ValueError, match="is not a month like"):
        month_period(text)


@pytest.mark.parametrize(
    ("current", "previous", "expected"),
    [
        ("150", "100", D("50.0")),
        ("50", "100", D("-50.0")),
        ("100", "0", None),
        ("0", "100", D("-100.0")),
        ("10", "-20", D("150.0")),
        ("1", "3", D("-66.7")),
    ],
)
def test_change_percent(current, previous, expected):
    assert change_percent(D(current), D(previous)) == expected


@pytest.mark.parametrize(
    ("net", "cost", "expected"),
    [
        ("200", "120", D("40.0")),
        ("100", "150", D("-50.0")),
        ("0", "10", None),
        ("3", "1", D("66.7")),
    ],
)
def test_margin_percent(net, cost, expected):
    assert margin_percent(D(net), D(cost)) == expected


def _report() -> Report:
    columns = (
        Column("net", "Net"),
        Column("n", "Documents", COUNT),
        Column("pct", "Change %", PERCENT),
    )
    rows = [
        Row('=HYPERLINK("x")', {"net": D("10.005"), "n": 2, "pct": None}),
        Row("Plain AS", {"net": D("-3.10"), "n": 1, "pct": D("12.5")}),
    ]
    report = Report(
        "sales",
        "Sales",
        columns,
        rows,
        period=Period(date(2026, 10, 1), date(2026, 10, 31)),
        currency="NOK",
        row_header="Customer",
    )
    report.totals = sum_columns(rows, columns)
    return report


def test_totals_sum_money_and_counts_only():
    assert _report().totals == {"net": D("6.905"), "n": 3}


def test_csv_neutralises_text_not_numbers_and_rounds_money_to_cents():
    rows = list(csv.reader(io.StringIO(report_csv(_report()))))
    assert rows == [
        ["Customer", "Net", "Documents", "Change %"],
        ['\'=HYPERLINK("x")', "10.01", "2", ""],
        ["Plain AS", "-3.10", "1", "12.5"],
        ["Total", "6.91", "3", ""],
    ]


def test_xlsx_writes_numbers_as_exact_numbers_and_text_never_as_formulas():
    book = zipfile.ZipFile(io.BytesIO(report_xlsx(_report())))
    sheet = book.read("xl/worksheets/sheet1.xml").decode()
    strings = [
        html.unescape(text)
        for text in re.findall(r"<t[^>]*>(.*?)</t>", book.read("xl/sharedStrings.xml").decode())
    ]
    assert "<f>" not in sheet
    assert '\'=HYPERLINK("x")' in strings and "Plain AS" in strings
    values = re.findall(r'<c r="B(\d)"[^>]*><v>([^<]*)</v>', sheet)
    assert [v for r, v in values if r in "567"] == ["10.01", "-3.10", "6.91"]
