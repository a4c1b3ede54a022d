"""The reports' pure parts: ageing buckets, the stacked bar chart, the journal's CSV."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest

from saas.billing.reports.ageing import (
    BUCKETS,
    Customer,
    OpenInvoice,
    age,
    bucket_of,
    days_past_due,
)
from saas.billing.reports.charts import stacked_bars
from saas.billing.reports.exports import HEADER, JournalRow, journal_csv, neutralise

D = Decimal
ON = date(2026, 10, 31)


@pytest.mark.parametrize("days, bucket", [
    (-10, "current"), (0, "current"), (1, "1-30"), (30, "1-30"), (31, "31-60"),
    (60, "31-60"), (61, "61-90"), (90, "61-90"), (91, "over-90"), (400, "over-90")])
def test_days_past_due_fall_in_their_bucket(days, bucket):
    assert BUCKETS[bucket_of(days)][0] == bucket


def test_days_past_due_count_from_the_due_date():
    assert days_past_due(date(2026, 10, 1), ON) == 30
    assert days_past_due(date(2026, 11, 5), ON) == -5
    assert days_past_due(None, ON) == 0


def test_ageing_sums_per_customer_and_bucket_with_credit_beside():
    fjord, havbris = Customer(1, 10001, "Fjord"), Customer(2, 10002, "Havbris")
    invoices = [
        OpenInvoice(fjord, 11, "INV-1", date(2026, 11, 10), D("100.00")),  # current
        OpenInvoice(fjord, 12, "INV-2", date(2026, 10, 1), D("200.00")),  # 30 days
        OpenInvoice(fjord, 13, "INV-3", date(2026, 7, 1), D("50.00")),  # 122 days
        OpenInvoice(havbris, 14, "INV-4", date(2026, 9, 1), D("400.00")),  # 60 days
        OpenInvoice(havbris, 15, "INV-5", date(2026, 9, 1), D("0.00")),  # settled: left out
    ]
    report = age(invoices, {fjord: D("30.00"), Customer(3, 10003, "Only credit"): D("5")},
                 ON, "NOK")
    assert [row.customer.name for row in report.rows] == ["Havbris", "Fjord", "Only credit"]
    havbris_row, fjord_row, credit_row = report.rows
    assert fjord_row.buckets == [D(100), D(200), 0, 0, D(50)]
    assert (fjord_row.total, fjord_row.overdue, fjord_row.credit, fjord_row.balance) == (
        D(350), D(250), D(30), D(320))
    assert havbris_row.buckets == [0, 0, D(400), 0, 0] and havbris_row.invoices == 1
    assert (credit_row.total, credit_row.balance) == (0, D(-5))
    assert report.totals.buckets == [D(100), D(200), D(400), 0, D(50)]
    assert (report.totals.total, report.totals.credit, report.totals.invoices) == (
        D(750), D(35), 4)


def test_stacked_bars_share_one_scale_and_stack_left_to_right():
    chart = stacked_bars([("Fjord", [D(100), D(0), D(300)]), ("Havbris", [D(200)])],
                         width=700, label_width=190, total_width=110, bar_height=20, gap=8)
    fjord, havbris = chart.bars
    # The plot is 400 wide; the longest bar (400.00) fills it: 1 unit per 1.00.
    assert [(s.series, s.x, s.width) for s in fjord.segments] == [
        (0, D("190.0"), D("100.0")), (2, D("290.0"), D("300.0"))]
    assert (fjord.total, fjord.end, fjord.y) == (D(400), D("590.0"), D(8))
    assert [(s.x, s.width) for s in havbris.segments] == [(D("190.0"), D("200.0"))]
    assert havbris.y == D(36) and chart.axis_y == D(64) and chart.height == 88
    assert [x for x, _ in chart.ticks] == [D("190.0"), D("290.0"), D("390.0"), D("490.0"),
                                           D("590.0")]
    assert [value for _, value in chart.ticks] == [0, D(100), D(200), D(300), D(400)]


def test_a_chart_of_nothing_has_no_bars_and_no_scale():
    chart = stacked_bars([])
    assert chart.bars == () and chart.ticks == ()
    assert stacked_bars([("Zero", [D(0), D(-5)])]).bars[0].segments == ()


@pytest.mark.parametrize("value, cell", [
    ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"), ("+1", "'+1"),
    ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"), ("\rx", "'\rx"),
    ("Invoice INV-1", "Invoice INV-1"), ("", ""), (None, ""), (10055, "10055"),
])
def test_a_cell_a_spreadsheet_would_run_is_made_text(value, cell):
    assert neutralise(value) == cell


def test_the_journal_csv_has_one_row_per_line_with_plain_amounts():
    rows = [JournalRow(date(2026, 10, 1), 7, "invoice", "Invoice INV-2026-00001", "1500",
                       "Receivables", 10055, D("1250.0000"), D("0"), "NOK", ""),
            JournalRow(date(2026, 10, 1), 7, "invoice", "=cmd|' /C calc'!A0", "2700",
                       "VAT payable", None, D("0"), D("250.00"), "NOK", "-S25")]
    text = journal_csv(rows)
    parsed = list(csv.reader(io.StringIO(text)))
    assert parsed[0] == list(HEADER)
    assert parsed[1] == ["2026-10-01", "7", "invoice", "Invoice INV-2026-00001", "1500",
                         "Receivables", "10055", "1250.00", "0.00", "NOK", ""]
    assert parsed[2][3] == "'=cmd|' /C calc'!A0" and parsed[2][10] == "'-S25"
    assert parsed[2][6] == "" and parsed[2][8] == "250.00"
