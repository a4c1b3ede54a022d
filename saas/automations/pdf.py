"""A contract or letter made from a template, as a PDF (pure: no Flask, no database).

Laid out like the reminder letter and the legal letters (``reminders.letter``): ReportLab
with the invoice PDF's fonts, the tenant's letterhead and logo, the customer's address in
the envelope window, the title, the filled-in text in paragraphs (a blank row starts a new
one), footer and page numbers.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from types import SimpleNamespace

from reportlab.platypus import BaseDocTemplate, Flowable, Frame, LayoutError, PageTemplate

from saas.billing.documents.i18n import Formatter
from saas.billing.documents.pdf import (
    BOTTOM_MARGIN,
    FRAME_HEIGHT,
    MARGIN,
    PAGE_HEIGHT,
    PAGE_WIDTH,
    WIDTH,
    PdfError,
    _e,
    _footer,
    _Paragraph,
    _styles,
    register_fonts,
)
from saas.billing.documents.pdf_content import _color, _logo
from saas.billing.reminders.letter import BODY_TOP, letterhead


@dataclass(frozen=True)
class TemplateLetter:
    title: str
    text: str  # the template filled in, plain text
    letter_date: date
    language: str
    seller: dict  # documents.issuing.snapshot_seller
    buyer: dict  # documents.issuing.snapshot_buyer
    logo: bytes | None = None


def _story(letter: TemplateLetter, color: str) -> list[Flowable]:
    s = _styles(color)
    story: list[Flowable] = [_Paragraph(_e(letter.title), s.h1)]
    for paragraph in letter.text.strip().split("\n\n"):
        rows = [row.rstrip() for row in paragraph.strip("\n").splitlines()]
        if any(rows):
            story.append(_Paragraph("<br/>".join(_e(row) for row in rows), s.body))
    return story


def render_template_letter(letter: TemplateLetter) -> bytes:
    """The letter as PDF bytes. Works without a Flask app context."""
    register_fonts()
    f = Formatter.for_language(letter.language)
    color = _color(letter.seller.get("primary_color"))
    out = io.BytesIO()
    doc = BaseDocTemplate(out, pagesize=(PAGE_WIDTH, PAGE_HEIGHT), leftMargin=MARGIN,
                          rightMargin=MARGIN, topMargin=MARGIN, bottomMargin=BOTTOM_MARGIN,
                          title=letter.title, author=letter.seller.get("name", ""),
                          lang=f.language)
    footer = _footer(letter.seller.get("footer_text") or "", f.gettext("Page"))
    info = [(f.gettext("Date"), f.date(letter.letter_date))]
    if letter.buyer.get("customer_number"):
        info.append((f.gettext("Customer no."), str(letter.buyer["customer_number"])))
    first = Frame(MARGIN, BOTTOM_MARGIN, WIDTH, PAGE_HEIGHT - BODY_TOP - BOTTOM_MARGIN,
                  leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0, id="first")
    later = Frame(MARGIN, BOTTOM_MARGIN, WIDTH, FRAME_HEIGHT, leftPadding=0, rightPadding=0,
                  topPadding=0, bottomPadding=0, id="later")
    logo = _logo(SimpleNamespace(logo=letter.logo))
    doc.addPageTemplates([
        PageTemplate(id="first", frames=[first], autoNextPageTemplate="later",
                     onPage=letterhead(letter.seller, letter.buyer, info, f, logo, footer)),
        PageTemplate(id="later", frames=[later], onPage=footer),
    ])
    try:
        doc.build(_story(letter, color))
    except LayoutError as exc:
        raise PdfError(f"{letter.title} could not be laid out: {exc}") from exc
    return out.getvalue()
