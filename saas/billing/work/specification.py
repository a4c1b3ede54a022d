"""The specification of an invoice (R5.9): every billable item it billed, as a PDF.

The customer gets it attached to the invoice's e-mail (``documents.delivery``) and staff
open it from the invoice and the inbox. ``specification_of`` reads the items of an
invoice; ``render_specification`` lays plain values out with the documents' fonts and
table style (no Flask, no database).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from reportlab.lib.colors import HexColor
from reportlab.platypus import BaseDocTemplate, Frame, LayoutError, PageTemplate, Table
from sqlalchemy import select

from saas.billing.documents.i18n import Formatter
from saas.billing.documents.models import Document, DocumentLine
from saas.billing.documents.pdf import (
    BOTTOM_MARGIN,
    FONT_BOLD,
    FRAME_HEIGHT,
    LEADING,
    MARGIN,
    PAGE_HEIGHT,
    PAGE_WIDTH,
    SIZE,
    WIDTH,
    PdfError,
    _cell_style,
    _e,
    _footer,
    _Paragraph,
    _styles,
    _wrap,
    register_fonts,
)
from saas.billing.documents.pdf_content import _color
from saas.billing.work.models import BillableItem, ItemBilling
from saas.extensions import db

# Date, what, site, quantity, unit price, amount: fractions of the width.
COLUMNS = (0.12, 0.4, 0.12, 0.12, 0.12, 0.12)


@dataclass(frozen=True)
class Row:
    occurred_on: date
    description: str
    site: str
    quantity: Decimal
    unit: str
    unit_price: Decimal
    amount: Decimal


@dataclass(frozen=True)
class Specification:
    """What an invoice billed, item by item, in its currency and language."""

    title: str  # "Invoice INV-2026-00012"
    language: str
    currency: str
    seller: dict
    buyer_name: str
    groups: tuple[tuple[str, tuple[Row, ...]], ...]  # (heading, rows)

    @property
    def total(self) -> Decimal:
        return sum((row.amount for _, rows in self.groups for row in rows), Decimal(0))


def specification_of(document: Document) -> Specification | None:
    """The items the invoice billed (even those a credit note reopened since), by project."""
    # The line as billed (its quantity and price), the item for where the work came from.
    found = db.session.execute(
        select(BillableItem, DocumentLine)
        .join(ItemBilling, ItemBilling.item_id == BillableItem.id)
        .join(DocumentLine, ItemBilling.document_line_id == DocumentLine.id)
        .where(DocumentLine.document_id == document.id)
        .order_by(BillableItem.project_id, BillableItem.occurred_on, BillableItem.id)
    ).all()
    if not found:
        return None
    groups: dict[str, list[Row]] = {}
    for item, line in found:
        heading = item.project.name if item.project is not None else "Other work"
        site = item.site.code if item.site is not None else ""
        groups.setdefault(heading, []).append(
            Row(
                item.occurred_on,
                line.description,
                site,
                line.quantity,
                line.unit,
                line.unit_price,
                line.net,
            )
        )
    return Specification(
        title=document.title,
        language=document.language,
        currency=document.currency,
        seller=document.seller or {},
        buyer_name=document.buyer_name,
        groups=tuple((heading, tuple(rows)) for heading, rows in groups.items()),
    )


def attachment(document: Document) -> tuple[str, str, bytes] | None:
    """The specification as an e-mail attachment, or None when the invoice billed no items."""
    found = specification_of(document)
    if found is None:
        return None
    name = f"{document.number or 'draft'}-specification.pdf".replace("/", "-")
    return name, "application/pdf", render_specification(found)


def _table(s: Specification, f: Formatter, color: str) -> list:
    widths = [share * WIDTH for share in COLUMNS]
    labels = [
        f.gettext("Date"),
        f.gettext("Description"),
        f.gettext("Site"),
        f.gettext("Quantity"),
        f.gettext("Unit price"),
        f.gettext("Amount"),
    ]
    styles = _styles(color)
    story = []
    for heading, rows in s.groups:
        story.append(_Paragraph(_e(heading), styles.h2))
        cells = [
            [_wrap(label, width, FONT_BOLD) for label, width in zip(labels, widths, strict=True)]
        ]
        subtotal = Decimal(0)
        for row in rows:
            subtotal += row.amount
            cells.append(
                [
                    f.date(row.occurred_on),
                    _wrap(row.description, widths[1]),
                    row.site,
                    f"{f.quantity(row.quantity)} {row.unit}".strip(),
                    f.amount(row.unit_price, s.currency),
                    f.amount(row.amount, s.currency),
                ]
            )
        cells.append(
            [
                "",
                _wrap(f.gettext("Total"), widths[1], FONT_BOLD),
                "",
                "",
                "",
                f.amount(subtotal, s.currency),
            ]
        )
        style = _cell_style(HexColor(color))
        style += [
            ("ALIGN", (3, 0), (-1, -1), "RIGHT"),
            ("LINEABOVE", (0, -1), (-1, -1), 0.8, HexColor(color)),
            ("FONT", (0, -1), (-1, -1), FONT_BOLD, SIZE, LEADING),
        ]
        story.append(
            Table(
                cells,
                colWidths=widths,
                style=style,
                repeatRows=1,
                hAlign="LEFT",
                spaceBefore=4,
                spaceAfter=10,
            )
        )
    return story


def render_specification(s: Specification) -> bytes:
    """The specification as PDF bytes. Works without a Flask app context."""
    register_fonts()
    f = Formatter.for_language(s.language)
    color = _color(s.seller.get("primary_color"))
    styles = _styles(color)
    out = io.BytesIO()
    doc = BaseDocTemplate(
        out,
        pagesize=(PAGE_WIDTH, PAGE_HEIGHT),
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=BOTTOM_MARGIN,
        title=f"{f.gettext('Specification')} {s.title}",
        author=s.seller.get("name", ""),
        lang=f.language,
    )
    frame = Frame(
        MARGIN,
        BOTTOM_MARGIN,
        WIDTH,
        FRAME_HEIGHT,
        leftPadding=0,
        rightPadding=0,
        topPadding=0,
        bottomPadding=0,
    )
    footer = _footer(s.seller.get("footer_text") or "", f.gettext("Page"))
    doc.addPageTemplates([PageTemplate(id="page", frames=[frame], onPage=footer)])
    story = [
        _Paragraph(_e(f"{f.gettext('Specification')}: {s.title}"), styles.h1),
        _Paragraph(_e(f"{s.seller.get('name', '')} → {s.buyer_name}"), styles.small),
        *_table(s, f, color),
        _Paragraph(_e(f"{f.gettext('Total')}: {f.money(s.total, s.currency)}"), styles.extra),
    ]
    try:
        doc.build(story)
    except LayoutError as exc:
        raise PdfError(f"The specification could not be laid out: {exc}") from exc
    return out.getvalue()
