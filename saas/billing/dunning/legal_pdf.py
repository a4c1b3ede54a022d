"""A legal stage's document as a PDF letter (pure: no Flask, no database).

Two kinds: a pre-legal **payment demand** (the claim and a last term before legal steps)
and a **summons** (statement of claim) with the claim broken down — principal per
invoice, interest to date at the yearly rate, fees — and the total claimed. Laid out like
the reminder letter and the account statement (``reminders.letter``): ReportLab with the
invoice PDF's fonts (Source Sans Pro, every letter of the seed languages), letterhead,
the customer's address in the DIN 5008 window, footer and page numbers.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, timedelta

from reportlab.lib.colors import HexColor
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
from saas.billing.documents.pdf_content import _color, _logo
from saas.billing.dunning.claims import Claim
from saas.billing.reminders.letter import BODY_TOP, bank_rows, letterhead

DEMAND, SUMMONS = "demand", "summons"  # models.StageDocument
TITLES = {DEMAND: "Payment demand before legal action", SUMMONS: "Statement of claim"}
# Invoice, due date, days overdue, principal, interest.
COLUMNS = (0.28, 0.17, 0.15, 0.2, 0.2)


@dataclass(frozen=True)
class LegalLetter:
    kind: str  # DEMAND or SUMMONS
    language: str
    stage_name: str
    case_number: int
    letter_date: date
    days_to_pay: int
    message: str  # the stage's template paragraph; "" = the built-in wording
    seller: dict  # documents.issuing.snapshot_seller
    buyer: dict  # documents.issuing.snapshot_buyer
    claim: Claim
    logo: bytes | None = None

    @property
    def pay_by(self) -> date:
        return self.letter_date + timedelta(days=self.days_to_pay)


def _opening(letter: LegalLetter, f: Formatter) -> str:
    if letter.message.strip():
        return letter.message.strip()
    total = f.money(letter.claim.total, letter.claim.currency)
    if letter.kind == SUMMONS:
        return f.gettext(
            "The claimant claims from the respondent %(total)s: the unpaid invoices below,"
            " interest on late payment to %(date)s and the costs of collection.",
            total=total,
            date=f.date(letter.claim.on),
        )
    return f.gettext(
        "Despite our reminders, the invoices below are still unpaid. Unless %(total)s reaches"
        " us by %(date)s, we will take legal action without further notice, at your cost.",
        total=total,
        date=f.date(letter.pay_by),
    )


def _table(letter: LegalLetter, f: Formatter, color: str) -> Table:
    claim, currency = letter.claim, letter.claim.currency
    widths = [share * WIDTH for share in COLUMNS]
    labels = [
        f.gettext("Invoice"),
        f.gettext("Due date"),
        f.gettext("Days overdue"),
        f"{f.gettext('Principal')} ({currency})",
        f"{f.gettext('Interest')} ({currency})",
    ]
    rows: list[list[str]] = [
        [_wrap(label, width, FONT_BOLD) for label, width in zip(labels, widths, strict=True)]
    ]
    for item in claim.items:
        rows.append(
            [
                _wrap(item.number, widths[0]),
                f.date(item.due_date),
                str(item.days),
                f.amount(item.principal, currency),
                f.amount(item.interest, currency),
            ]
        )
    first_sum = len(rows)
    label_width = sum(widths[:3])
    rows.append(
        [
            _wrap(f.gettext("Principal"), label_width),
            "",
            "",
            "",
            f.amount(claim.principal, currency),
        ]
    )
    rows.append(
        [
            _wrap(
                f.gettext(
                    "Interest to %(date)s at %(rate)s a year",
                    date=f.date(claim.on),
                    rate=f.percent(claim.rate),
                ),
                label_width,
            ),
            "",
            "",
            "",
            f.amount(claim.interest, currency),
        ]
    )
    rows += [
        [_wrap(fee.label, label_width), "", "", "", f.amount(fee.amount, currency)]
        for fee in claim.fees
    ]
    rows.append(
        [
            _wrap(f.gettext("Total claimed"), label_width, FONT_BOLD),
            "",
            "",
            "",
            f.amount(claim.total, currency),
        ]
    )
    style = _cell_style(HexColor(color))
    style += [
        ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
        ("LINEABOVE", (0, first_sum), (-1, first_sum), 0.5, HexColor(color)),
        ("LINEABOVE", (0, -1), (-1, -1), 0.8, HexColor(color)),
        ("FONT", (0, -1), (-1, -1), FONT_BOLD, SIZE, LEADING),
    ]
    style += [("SPAN", (0, row), (3, row)) for row in range(first_sum, len(rows))]
    return Table(rows, colWidths=widths, style=style, repeatRows=1, hAlign="LEFT", spaceBefore=4)


def _story(letter: LegalLetter, f: Formatter, color: str) -> list[Flowable]:
    s = _styles(color)
    story: list[Flowable] = [
        _Paragraph(_e(f.gettext(TITLES[letter.kind])), s.h1),
        _Paragraph(_e(letter.stage_name), s.small),
        _Paragraph("<br/>".join(_e(line) for line in _opening(letter, f).splitlines()), s.body),
        _table(letter, f, color),
    ]
    lines = [
        _e(
            f.gettext(
                "Please pay %(total)s by %(date)s to:",
                total=f.money(letter.claim.total, letter.claim.currency),
                date=f.date(letter.pay_by),
            )
        )
    ]
    lines += [
        f"{_e(label)}: {_e(value)}"
        for label, value in bank_rows(letter.seller, letter.claim.currency, f)
    ]
    lines.append(
        _e(f.gettext("Quote case number %(number)s with your payment.", number=letter.case_number))
    )
    story += [
        _Paragraph(_e(f.gettext("Payment")), s.h2),
        _Paragraph("<br/>".join(lines), s.body),
        _Paragraph(
            f"{_e(f.gettext('Kind regards'))}<br/><b>{_e(letter.seller.get('name', ''))}</b>",
            s.extra,
        ),
    ]
    return story


def render_legal_letter(letter: LegalLetter) -> bytes:
    """The stage's document as PDF bytes. Works without a Flask app context."""
    register_fonts()
    f = Formatter.for_language(letter.language)
    color = _color(letter.seller.get("primary_color"))
    out = io.BytesIO()
    title = f"{f.gettext(TITLES[letter.kind])} {letter.case_number}"
    doc = BaseDocTemplate(
        out,
        pagesize=(PAGE_WIDTH, PAGE_HEIGHT),
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=BOTTOM_MARGIN,
        title=title,
        author=letter.seller.get("name", ""),
        lang=f.language,
    )
    footer = _footer(letter.seller.get("footer_text") or "", f.gettext("Page"))
    info = [
        (f.gettext("Date"), f.date(letter.letter_date)),
        (f.gettext("Case no."), str(letter.case_number)),
    ]
    if letter.buyer.get("customer_number"):
        info.append((f.gettext("Customer no."), str(letter.buyer["customer_number"])))
    first = Frame(
        MARGIN,
        BOTTOM_MARGIN,
        WIDTH,
        PAGE_HEIGHT - BODY_TOP - BOTTOM_MARGIN,
        leftPadding=0,
        rightPadding=0,
        topPadding=0,
        bottomPadding=0,
        id="first",
    )
    later = Frame(
        MARGIN,
        BOTTOM_MARGIN,
        WIDTH,
        FRAME_HEIGHT,
        leftPadding=0,
        rightPadding=0,
        topPadding=0,
        bottomPadding=0,
        id="later",
    )
    doc.addPageTemplates(
        [
            PageTemplate(
                id="first",
                frames=[first],
                onPage=letterhead(letter.seller, letter.buyer, info, f, _logo(letter), footer),
                autoNextPageTemplate="later",
            ),
            PageTemplate(id="later", frames=[later], onPage=footer),
        ]
    )
    try:
        doc.build(_story(letter, f, color))
    except LayoutError as exc:
        raise PdfError(
            f"The document of case {letter.case_number} could not be laid out: {exc}"
        ) from exc
    return out.getvalue()
