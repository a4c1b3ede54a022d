"""The account statement as a letter (R1.3, R3.12): a PDF made from plain values.

Laid out like the reminder letter (``reminders.letter``), with its fonts, letterhead,
window address and footer: the seller's letterhead above the DIN 5008 window with the
customer's address, the date, customer number and period beside it, then the movements
with the balance running from the opening to the closing balance, over as many pages as
they need. No Flask, no database: the view builds the value and calls ``render_statement``.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from reportlab.lib.colors import HexColor
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import BaseDocTemplate, Flowable, Frame, LayoutError, PageTemplate, Table

from saas.billing.documents.i18n import Formatter
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
from saas.billing.documents.pdf_content import _color, _Image, _logo
from saas.billing.reminders.letter import BODY_TOP, letterhead

# The columns as fractions of the width: date, text, due date, charges, payments, balance.
COLUMNS = (0.13, 0.33, 0.13, 0.137, 0.137, 0.136)


@dataclass(frozen=True)
class Movement:
    posted_on: date
    text: str
    due_date: date | None
    charge: Decimal
    payment: Decimal
    balance: Decimal


@dataclass(frozen=True)
class StatementLetter:
    """Everything a statement prints, in one currency and one language."""

    language: str
    currency: str
    statement_date: date
    date_from: date
    date_to: date
    seller: dict  # documents.issuing.snapshot_seller
    buyer: dict  # documents.issuing.snapshot_buyer
    opening: Decimal
    movements: tuple[Movement, ...]
    logo: bytes | None = None

    @property
    def closing(self) -> Decimal:
        return self.movements[-1].balance if self.movements else self.opening


def _letterhead(s: StatementLetter, f: Formatter, logo: _Image | None,
                footer: Callable[[Canvas, BaseDocTemplate], None]
                ) -> Callable[[Canvas, BaseDocTemplate], None]:
    """The first page: letterhead, the window address, date and period beside it, footer."""
    info = [(f.gettext("Date"), f.date(s.statement_date))]
    if s.buyer.get("customer_number"):
        info.append((f.gettext("Customer no."), str(s.buyer["customer_number"])))
    info += [(f.gettext("From"), f.date(s.date_from)), (f.gettext("To"), f.date(s.date_to)),
             (f.gettext("Currency"), s.currency)]
    return letterhead(s.seller, s.buyer, info, f, logo, footer)


def _table(s: StatementLetter, f: Formatter, color: str) -> Table:
    """The movements between the opening and the closing balance, in one table."""
    widths = [share * WIDTH for share in COLUMNS]
    labels = [f.gettext("Date"), f.gettext("Description"), f.gettext("Due date"),
              f.gettext("Charges"), f.gettext("Payments"), f.gettext("Balance")]
    rows: list[list[str]] = [
        [_wrap(label, width, FONT_BOLD) for label, width in zip(labels, widths, strict=True)],
        [f.date(s.date_from), _wrap(f.gettext("Opening balance"), widths[1]), "", "", "",
         f.amount(s.opening, s.currency)]]
    for line in s.movements:
        rows.append([f.date(line.posted_on), _wrap(line.text, widths[1]),
                     f.date(line.due_date), f.amount(line.charge, s.currency) if line.charge
                     else "", f.amount(line.payment, s.currency) if line.payment else "",
                     f.amount(line.balance, s.currency)])
    rows.append([f.date(s.date_to), _wrap(f.gettext("Closing balance"), widths[1], FONT_BOLD),
                 "", "", "", f.amount(s.closing, s.currency)])
    style = _cell_style(HexColor(color))
    style += [
        ("ALIGN", (3, 0), (-1, -1), "RIGHT"),
        ("LINEABOVE", (0, -1), (-1, -1), 0.8, HexColor(color)),
        ("FONT", (0, -1), (-1, -1), FONT_BOLD, SIZE, LEADING),
    ]
    return Table(rows, colWidths=widths, style=style, repeatRows=1, hAlign="LEFT",
                 spaceBefore=4)


def _story(s: StatementLetter, f: Formatter, color: str) -> list[Flowable]:
    styles = _styles(color)
    closing = f.money(s.closing, s.currency)
    if s.closing > 0:
        summary = f.gettext("The balance due is %(amount)s.", amount=closing)
    elif s.closing < 0:
        summary = f.gettext("The balance in your favour is %(amount)s.",
                            amount=f.money(-s.closing, s.currency))
    else:
        summary = f.gettext("Your account is settled.")
    return [_Paragraph(_e(f.gettext("Account statement")), styles.h1),
            _Paragraph(_e(f"{f.date(s.date_from)} – {f.date(s.date_to)}"), styles.small),
            _table(s, f, color),
            _Paragraph(_e(summary), styles.extra),
            _Paragraph(_e(f.gettext("If you have any questions about your account, please"
                                    " contact us.")), styles.body)]


def render_statement(statement: StatementLetter) -> bytes:
    """The statement as PDF bytes. Works without a Flask app context."""
    register_fonts()
    f = Formatter.for_language(statement.language)
    color = _color(statement.seller.get("primary_color"))
    out = io.BytesIO()
    doc = BaseDocTemplate(
        out, pagesize=(PAGE_WIDTH, PAGE_HEIGHT), leftMargin=MARGIN, rightMargin=MARGIN,
        topMargin=MARGIN, bottomMargin=BOTTOM_MARGIN,
        title=f"{f.gettext('Account statement')} {statement.buyer.get('name', '')}".strip(),
        author=statement.seller.get("name", ""), lang=f.language,
    )
    footer = _footer(statement.seller.get("footer_text") or "", f.gettext("Page"))
    first = Frame(MARGIN, BOTTOM_MARGIN, WIDTH, PAGE_HEIGHT - BODY_TOP - BOTTOM_MARGIN,
                  leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0, id="first")
    later = Frame(MARGIN, BOTTOM_MARGIN, WIDTH, FRAME_HEIGHT, leftPadding=0, rightPadding=0,
                  topPadding=0, bottomPadding=0, id="later")
    logo = _logo(statement)  # reads only .logo
    doc.addPageTemplates([
        PageTemplate(id="first", frames=[first],
                     onPage=_letterhead(statement, f, logo, footer),
                     autoNextPageTemplate="later"),
        PageTemplate(id="later", frames=[later], onPage=footer),
    ])
    try:
        doc.build(_story(statement, f, color))
    except LayoutError as exc:
        raise PdfError(f"The statement could not be laid out: {exc}") from exc
    return out.getvalue()
