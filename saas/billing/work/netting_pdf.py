"""The netting statement as a PDF (R5.10): both sides with every line, totals, the result.

Made from plain values (no Flask, no database): the view builds a ``StatementPrint`` from
the stored statement and calls ``render_netting``. Fonts are the documents' (Source Sans
Pro, every letter of the seed languages).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from reportlab.lib.colors import HexColor
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from saas.billing.documents.pdf import FONT, FONT_BOLD, register_fonts
from saas.billing.work.netting_rules import Outcome, Side

COLUMNS = (22 * mm, 84 * mm, 18 * mm, 12 * mm, 22 * mm, 22 * mm)


@dataclass(frozen=True)
class PrintLine:
    side: Side
    occurred_on: date
    description: str
    quantity: Decimal
    unit: str
    unit_price: Decimal
    net: Decimal


@dataclass(frozen=True)
class StatementPrint:
    number: str
    seller: str
    partner: str
    period_start: date
    period_end: date
    currency: str
    given_total: Decimal
    received_total: Decimal
    difference: Decimal
    outcome: Outcome
    settled_by: str  # "Invoice INV-2026-00012", "Payable of the difference", ""
    lines: tuple[PrintLine, ...]


def _money(value: Decimal) -> str:
    return f"{value:,.2f}".replace(",", " ")


def _side_table(
    title: str, lines: list[PrintLine], total: Decimal, cell: ParagraphStyle, currency: str
) -> Table:
    rows: list[list[object]] = [["Date", title, "Qty", "Unit", "Price", f"Net {currency}"]]
    for line in lines:
        rows.append(
            [
                line.occurred_on.isoformat(),
                Paragraph(_escape(line.description), cell),
                f"{line.quantity.normalize():f}",
                line.unit,
                _money(line.unit_price),
                _money(line.net),
            ]
        )
    if not lines:
        rows.append(["", "None in the period.", "", "", "", ""])
    rows.append(["", "Total", "", "", "", _money(total)])
    table = Table(rows, colWidths=COLUMNS, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), FONT, 8.5),
                ("FONT", (0, 0), (-1, 0), FONT_BOLD, 8.5),
                ("FONT", (0, -1), (-1, -1), FONT_BOLD, 8.5),
                ("LINEBELOW", (0, 0), (-1, 0), 0.5, HexColor("#555555")),
                ("LINEABOVE", (0, -1), (-1, -1), 0.5, HexColor("#555555")),
                ("ALIGN", (2, 0), (-1, -1), "RIGHT"),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return table


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render_netting(statement: StatementPrint) -> bytes:
    """The statement's PDF."""
    register_fonts()
    body = ParagraphStyle("body", fontName=FONT, fontSize=9.5, leading=12)
    cell = ParagraphStyle("cell", body, fontSize=8.5, leading=10)
    heading = ParagraphStyle("heading", body, fontName=FONT_BOLD, fontSize=14, leading=18)
    bold = ParagraphStyle("bold", body, fontName=FONT_BOLD)
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
        title=f"Netting statement {statement.number}",
    )
    given = [line for line in statement.lines if line.side is Side.GIVEN]
    received = [line for line in statement.lines if line.side is Side.RECEIVED]
    currency = statement.currency
    result = {
        Outcome.INVOICE: f"{statement.partner} pays {statement.seller}"
        f" {_money(statement.difference)} {currency}.",
        Outcome.PAYABLE: f"{statement.seller} pays {statement.partner}"
        f" {_money(statement.difference)} {currency}.",
        Outcome.EVEN: "The services given and received are even: nothing is paid.",
    }[statement.outcome]
    story = [
        Paragraph(_escape(f"Netting statement {statement.number}"), heading),
        Paragraph(_escape(f"{statement.seller} and {statement.partner}"), body),
        Paragraph(f"Period {statement.period_start} – {statement.period_end}, in {currency}", body),
        Spacer(1, 6 * mm),
        Paragraph(_escape(f"Services given to {statement.partner}"), bold),
        _side_table("Service", given, statement.given_total, cell, currency),
        Spacer(1, 6 * mm),
        Paragraph(_escape(f"Services received from {statement.partner}"), bold),
        _side_table("Service", received, statement.received_total, cell, currency),
        Spacer(1, 6 * mm),
        Paragraph(
            f"Services given {_money(statement.given_total)} − services received"
            f" {_money(statement.received_total)} = difference"
            f" {_money(statement.difference)} {currency}",
            bold,
        ),
        Paragraph(_escape(result), body),
    ]
    if statement.settled_by:
        story.append(Paragraph(_escape(f"Settled by: {statement.settled_by}"), body))
    document.build(story)
    return buffer.getvalue()
