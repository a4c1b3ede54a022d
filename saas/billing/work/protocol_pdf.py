"""A work protocol as a printable PDF (R5.5): the job, the hours, the materials and room
for the customer's signature. Made from plain values; no Flask, no database."""

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
from saas.billing.work.netting_pdf import _escape


@dataclass(frozen=True)
class ProtocolPrint:
    number: str
    seller: str
    customer: str
    site: str
    performed_on: date
    technician: str
    work_done: str
    hours: Decimal
    labour: str
    billable: bool
    materials: tuple[tuple[str, Decimal, str], ...]  # name, quantity, unit


def _plain(value: Decimal) -> str:
    return f"{value.normalize():f}"


def render_protocol(protocol: ProtocolPrint) -> bytes:
    """The protocol's PDF."""
    register_fonts()
    body = ParagraphStyle("body", fontName=FONT, fontSize=10, leading=13)
    heading = ParagraphStyle("heading", body, fontName=FONT_BOLD, fontSize=15, leading=19)
    bold = ParagraphStyle("bold", body, fontName=FONT_BOLD)
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=20 * mm,
        bottomMargin=20 * mm,
        title=f"Work protocol {protocol.number}",
    )
    facts = Table(
        [
            ["Customer", Paragraph(_escape(protocol.customer), body)],
            ["Site", Paragraph(_escape(protocol.site or "—"), body)],
            ["Done on", protocol.performed_on.isoformat()],
            ["Technician", Paragraph(_escape(protocol.technician or "—"), body)],
            [
                "Hours",
                f"{_plain(protocol.hours)}" + (f" ({protocol.labour})" if protocol.labour else ""),
            ],
            ["Billable", "yes" if protocol.billable else "no"],
        ],
        colWidths=(35 * mm, 135 * mm),
    )
    facts.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (0, -1), FONT_BOLD, 10),
                ("FONT", (1, 0), (1, -1), FONT, 10),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    rows: list[list[object]] = [["Material", "Quantity", "Unit"]]
    rows += [
        [Paragraph(_escape(name), body), _plain(quantity), unit]
        for name, quantity, unit in protocol.materials
    ] or [["None", "", ""]]
    materials = Table(rows, colWidths=(110 * mm, 30 * mm, 30 * mm), repeatRows=1)
    materials.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), FONT, 10),
                ("FONT", (0, 0), (-1, 0), FONT_BOLD, 10),
                ("LINEBELOW", (0, 0), (-1, 0), 0.5, HexColor("#555555")),
                ("ALIGN", (1, 0), (1, -1), "RIGHT"),
            ]
        )
    )
    signatures = Table(
        [["", ""], ["Technician", "Customer"]],
        colWidths=(80 * mm, 80 * mm),
        rowHeights=(18 * mm, 6 * mm),
    )
    signatures.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), FONT, 9),
                ("LINEABOVE", (0, 1), (0, 1), 0.5, HexColor("#555555")),
                ("LINEABOVE", (1, 1), (1, 1), 0.5, HexColor("#555555")),
            ]
        )
    )
    work = [
        Paragraph(_escape(line), body) for line in protocol.work_done.splitlines() if line.strip()
    ] or [Paragraph("—", body)]
    document.build(
        [
            Paragraph(_escape(f"Work protocol {protocol.number}"), heading),
            Paragraph(_escape(protocol.seller), body),
            Spacer(1, 6 * mm),
            facts,
            Spacer(1, 6 * mm),
            Paragraph("Work done", bold),
            *work,
            Spacer(1, 6 * mm),
            Paragraph("Materials used", bold),
            materials,
            Spacer(1, 14 * mm),
            signatures,
        ]
    )
    return buffer.getvalue()
