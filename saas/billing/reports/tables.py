"""The shape every sales report shares (pure): a table of rows with columns, its totals, a
period and the one before it, the comparison of the two, and the export as CSV or XLSX.

A report is made from figures the queries summed (exact decimals); this module only
arranges, compares and writes them. Spreadsheet cells get the journal CSV's protection:
text that a spreadsheet would read as a formula starts with an apostrophe (XLSX text cells
are written as strings, never as formulas, and are neutralised the same way for the
programs that re-evaluate them on import).
"""

from __future__ import annotations

import calendar
import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from saas.billing.reports.exports import neutralise

ZERO = Decimal(0)
HUNDRED = Decimal(100)
MONEY, COUNT, PERCENT, TEXT = "money", "count", "percent", "text"


# --- periods -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Period:
        """The period before: the previous calendar months if this one is whole months;
        the same days of the month before for a month so far (1–15 Nov: 1–15 Oct);
        otherwise as many days ending the day before this one starts."""
        if self.start.day == 1 and (self.end + timedelta(days=1)).day == 1:
            months = (self.end.year - self.start.year) * 12 + self.end.month - self.start.month + 1
            start = add_months(self.start, -months)
            return Period(start, self.start - timedelta(days=1))
        if self.start.day == 1 and (self.start.year, self.start.month) == (
            self.end.year,
            self.end.month,
        ):
            return Period(add_months(self.start, -1), add_months(self.end, -1))
        return Period(self.start - timedelta(days=self.days), self.start - timedelta(days=1))

    def __str__(self) -> str:
        return f"{self.start.isoformat()} – {self.end.isoformat()}"


def add_months(day: date, months: int) -> date:
    """The same day so many months later (or earlier), clipped to the month's end."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def month_period(text: str) -> Period:
    """A month written YYYY-MM as a period; ValueError naming the format otherwise."""
    try:
        year, month = (int(part) for part in text.split("-"))
        start = date(year, month, 1)
    except (ValueError, TypeError):
        raise ValueError(f"{text!r} is not a month like 2026-11") from None
    return Period(start, add_months(start, 1) - timedelta(days=1))


# --- comparison --------------------------------------------------------------------------


def change_percent(current: Decimal, previous: Decimal) -> Decimal | None:
    """The change from the previous figure in percent (one decimal); None from nothing."""
    if not previous:
        return None
    return ((current - previous) * HUNDRED / abs(previous)).quantize(
        Decimal("0.1"), rounding=ROUND_HALF_UP
    )


def margin_percent(net: Decimal, cost: Decimal) -> Decimal | None:
    """What is left of the net after the cost, in percent of the net (one decimal)."""
    if not net:
        return None
    return ((net - cost) * HUNDRED / net).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


# --- the table ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = MONEY


@dataclass(frozen=True)
class Row:
    label: str
    values: dict[str, Decimal | int | str | None]
    key: str | int | None = None  # what the row stands for (a customer's id), if anything


@dataclass
class Report:
    name: str  # the file name's stem: "sales-by-customer"
    title: str
    columns: tuple[Column, ...]
    rows: list[Row] = field(default_factory=list)
    totals: dict[str, Decimal | int | str | None] = field(default_factory=dict)
    period: Period | None = None
    previous: Period | None = None
    currency: str = ""
    chart_series: tuple[str, ...] = ()  # the column keys the chart draws, stacked
    row_header: str = ""

    def chart_rows(self, limit: int) -> list[tuple[str, list[Decimal]]]:
        """The first rows (the largest: queries order them) with the charted values."""
        return [
            (row.label, [_decimal(row.values.get(key)) for key in self.chart_series])
            for row in self.rows[:limit]
        ]


def _decimal(value: object) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(value or 0)  # type: ignore[arg-type]


def sum_columns(rows: Sequence[Row], columns: Sequence[Column]) -> dict[str, Decimal | int]:
    """The totals of the money and count columns."""
    totals: dict[str, Decimal | int] = {}
    for column in columns:
        if column.kind in (MONEY, COUNT):
            totals[column.key] = sum(
                (row.values.get(column.key) or 0 for row in rows),
                ZERO if column.kind == MONEY else 0,
            )
    return totals


def _cell(value: object, kind: str) -> object:
    if value is None:
        return ""
    if kind == MONEY and isinstance(value, Decimal):
        return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return value


def _csv_cell(value: object, kind: str) -> str:
    """Numbers as they are (a negative amount is a number, not a formula); text made inert."""
    value = _cell(value, kind)
    return str(value) if isinstance(value, Decimal | int) else neutralise(value)


def report_csv(report: Report) -> str:
    """The report as CSV text: a header, one line a row, the totals last."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([report.row_header, *(column.label for column in report.columns)])
    for row in report.rows:
        writer.writerow(
            [
                neutralise(row.label),
                *(_csv_cell(row.values.get(c.key), c.kind) for c in report.columns),
            ]
        )
    if report.rows:
        writer.writerow(
            ["Total", *(_csv_cell(report.totals.get(c.key), c.kind) for c in report.columns)]
        )
    return out.getvalue()


def report_xlsx(report: Report) -> bytes:
    """The report as an XLSX workbook: numbers as numbers (exact decimal text in the
    file), text as neutralised strings, never formulas."""
    import xlsxwriter

    out = io.BytesIO()
    book = xlsxwriter.Workbook(
        out,
        {
            "in_memory": True,
            "strings_to_formulas": False,
            "strings_to_numbers": False,
            "strings_to_urls": False,
        },
    )
    sheet = book.add_worksheet(report.title[:31].replace("/", "-") or "Report")
    bold = book.add_format({"bold": True})
    money = book.add_format({"num_format": "#,##0.00"})
    sheet.write_string(0, 0, neutralise(report.title), bold)
    if report.period:
        sheet.write_string(1, 0, f"{report.period} {report.currency}".strip())
    header = [report.row_header, *(column.label for column in report.columns)]
    for col, label in enumerate(header):
        sheet.write_string(3, col, label, bold)
    lines = [(row.label, row.values) for row in report.rows]
    if report.rows:
        lines.append(("Total", report.totals))
    for offset, (label, values) in enumerate(lines):
        r = 4 + offset
        sheet.write_string(r, 0, neutralise(label), bold if offset == len(report.rows) else None)
        for col, column in enumerate(report.columns, start=1):
            value = _cell(values.get(column.key), column.kind)
            if isinstance(value, Decimal | int):
                sheet.write_number(r, col, value, money if column.kind == MONEY else None)
            elif value != "":
                sheet.write_string(r, col, neutralise(value))
    sheet.set_column(0, 0, 32)
    sheet.set_column(1, len(report.columns), 14)
    book.close()
    return out.getvalue()
