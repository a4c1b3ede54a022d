"""The payment reminder and payment demand letter (R6.4, R6.5): a PDF made from plain values.

``DemandLetter`` says everything the letter prints; ``render_letter`` lays it out on A4 with
the invoice PDF's fonts, styles and footer (``saas.billing.documents.pdf``), and
``wording`` gives the translated texts the reminder e-mail shares with the letter. No Flask,
no database: the reminder job builds the value and calls these bare.

The first page is a letter for a window envelope: the letterhead (logo left, the seller
right) drawn above the address field, the seller's return line and the buyer's address in
the DIN 5008 window (where the post batch's address sheets put it), the date and references
beside it; the body flows below and on to further pages when the open items are many.

A reminder fee and interest on late payment are charges of their own, printed after the
open items with a note saying so: the invoices themselves are never changed.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cached_property, lru_cache
from types import SimpleNamespace

from reportlab.lib.colors import HexColor
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader, simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    LayoutError,
    PageTemplate,
    Table,
)

from saas.billing.documents.i18n import Formatter
from saas.billing.documents.pdf import (
    BOTTOM_MARGIN,
    FONT,
    FONT_BOLD,
    FRAME_HEIGHT,
    GREY,
    LEADING,
    MARGIN,
    PAGE_HEIGHT,
    PAGE_WIDTH,
    SIZE,
    SMALL_SIZE,
    TEXT,
    WIDTH,
    PdfError,
    _cell_style,
    _e,
    _footer,
    _Paragraph,
    _Styles,
    _styles,
    _wrap,
    register_fonts,
)
from saas.billing.documents.pdf_content import _bank_rows, _color, _Image, _logo
from saas.billing.documents.printable import BankDetails

FRIENDLY, REMINDER, DEMAND = "friendly", "reminder", "demand"  # reminders.models.Tone
DEMAND_NOTICE_DAYS = 7  # the payment demand's last term before further steps
BANK_FIELDS = ("label", "iban", "bic", "bban", "currency")  # of a seller snapshot's account

# DIN 5008 form B, as the post batch's address sheets (documents/post.py) lay it out: the
# return line 45 mm and the address from 54 mm below the top edge, 20 mm from the left;
# the date and references beside it from 125 mm; the letter's text from 95 mm.
WINDOW_LEFT, WINDOW_WIDTH = 20 * mm, 85 * mm
RETURN_LINE_TOP, ADDRESS_TOP, ADDRESS_LEADING = 45 * mm, 54 * mm, 4.5 * mm
INFO_LEFT = 125 * mm
BODY_TOP = 95 * mm
LETTERHEAD_LINES = 7  # of the seller block, so that it stays above the window
ADDRESS_SIZE = 10

# The open items' columns as fractions of the width: number, issue date, due date, days
# overdue, amount.
COLUMNS = (0.28, 0.17, 0.17, 0.14, 0.24)


@dataclass(frozen=True)
class OpenItem:
    """An open invoice of the customer, as the letter lists it."""

    number: str
    issue_date: date | None
    due_date: date | None
    amount: Decimal  # still to pay on it
    days_overdue: int  # 0 or less: not overdue yet


@dataclass(frozen=True)
class DemandLetter:
    """Everything a reminder letter prints, in one currency and one language."""

    language: str
    currency: str
    tone: str  # FRIENDLY (before or at the due date), REMINDER (overdue), DEMAND (last, formal)
    level_name: str  # the level as the tenant named it ("Second reminder"), printed small
    message: str  # the tenant's opening paragraph for the level; "" = the tone's wording
    letter_date: date
    seller: dict  # the seller snapshot (documents.issuing.snapshot_seller)
    buyer: dict  # the buyer snapshot (documents.issuing.snapshot_buyer)
    invoice_number: str  # the invoice this reminder is about
    invoice_due: date | None
    items: tuple[OpenItem, ...]  # the customer's open invoices in the currency, it included
    fee: Decimal  # the reminder fee, charged on its own
    interest: Decimal  # interest on late payment, charged on its own
    interest_days: int
    interest_rate: Decimal  # annual, in percent: Decimal("11.25")
    payment_reference: str = ""
    logo: bytes | None = None
    # The demand's term before further steps (debt collection) may follow. Norway's
    # inkassovarsel, for one, needs at least 14 days (inkassoloven § 9).
    notice_days: int = DEMAND_NOTICE_DAYS

    @property
    def open_total(self) -> Decimal:
        return sum((item.amount for item in self.items), Decimal(0))

    @property
    def total_due(self) -> Decimal:
        return self.open_total + self.fee + self.interest

    @cached_property
    def words(self) -> Wording:
        """The letter's texts, worked out once for its e-mail and its PDF."""
        return wording(self)


@dataclass(frozen=True)
class Wording:
    """What a reminder says, translated and formatted: shared by the letter and its e-mail."""

    title: str
    opening: str
    payment_request: str
    closing: tuple[str, ...]  # sentences, each its own paragraph
    items: tuple[dict[str, str], ...]  # number, issue_date, due_date, days_overdue, amount
    open_total: str
    charges: tuple[tuple[str, str], ...]  # (label, amount) of the fee and the interest
    charges_note: str  # "" when nothing is charged
    total_due: str
    banks: tuple[tuple[str, str], ...]  # ("Main (EUR): IBAN", "DE89 ..."), ("BIC", "...")
    reference: str  # the payment reference line, or the request to quote the number
    regards: str


TITLES = {FRIENDLY: "Payment reminder", REMINDER: "Payment reminder", DEMAND: "Payment demand"}


def _opening(letter: DemandLetter, f: Formatter) -> str:
    if letter.message.strip():
        return letter.message.strip()
    number = letter.invoice_number
    if letter.tone == DEMAND:
        return f.gettext(
            "Despite our earlier reminders, invoice %(number)s has still not been paid. We"
            " hereby formally demand payment of the total due shown below.", number=number)
    if letter.tone == FRIENDLY:
        first = f.gettext("We would like to remind you that invoice %(number)s is due for"
                          " payment.", number=number)
    else:
        first = f.gettext("According to our records, invoice %(number)s has not been paid by"
                          " its due date.", number=number)
    return f"{first} {f.gettext('Below is an overview of the invoices open on your account.')}"


def _closing(letter: DemandLetter, f: Formatter) -> tuple[str, ...]:
    disregard = f.gettext("If you have already paid, please disregard this reminder.")
    questions = f.gettext("If you have any questions about these invoices, please contact us.")
    if letter.tone == FRIENDLY:
        return (disregard,)
    if letter.tone == DEMAND:
        return (f.ngettext(
            "If the total due is not paid within %(num)d day of the date of this letter, we"
            " may take further steps to recover the debt, including debt collection, without"
            " further notice.",
            "If the total due is not paid within %(num)d days of the date of this letter, we"
            " may take further steps to recover the debt, including debt collection, without"
            " further notice.", letter.notice_days), questions)
    return (disregard, questions)


def _payment_request(letter: DemandLetter, f: Formatter) -> str:
    total = f.money(letter.total_due, letter.currency)
    if letter.tone == FRIENDLY and letter.invoice_due is not None:
        return f.gettext("We kindly ask you to pay the total due of %(amount)s by %(date)s.",
                         amount=total, date=f.date(letter.invoice_due))
    return f.gettext("We kindly ask you to pay the total due of %(amount)s without delay.",
                     amount=total)


def bank_rows(seller: dict, currency: str, f: Formatter) -> tuple[tuple[str, str], ...]:
    """The seller snapshot's accounts for the currency (or for none; all when none is), as
    the invoice prints them: ("Main (EUR): IBAN", "DE89 3704 ..."), ("BIC", "COBADEFFXXX")."""
    accounts = tuple(
        BankDetails(**{key: account.get(key) or "" for key in BANK_FIELDS})
        for account in seller.get("bank_accounts") or ())
    matching = tuple(a for a in accounts if a.currency in (currency, ""))
    return tuple(_bank_rows(SimpleNamespace(bank_accounts=matching or accounts), f))


def _charges(letter: DemandLetter, f: Formatter) -> tuple[tuple[str, str], ...]:
    charges = []
    if letter.fee:
        charges.append((f.gettext("Reminder fee"), f.money(letter.fee, letter.currency)))
    if letter.interest:
        period = f.ngettext("%(num)d day at %(rate)s a year", "%(num)d days at %(rate)s a year",
                            letter.interest_days, rate=f.percent(letter.interest_rate))
        charges.append((f"{f.gettext('Interest on late payment')} ({period})",
                        f.money(letter.interest, letter.currency)))
    return tuple(charges)


def wording(letter: DemandLetter) -> Wording:
    """The letter's texts in its language, every amount and date formatted."""
    f = Formatter.for_language(letter.language)
    charges = _charges(letter, f)
    if letter.payment_reference:
        reference = f"{f.gettext('Payment reference')}: {letter.payment_reference}"
    else:
        reference = f.gettext("Please quote the invoice number with your payment.")
    return Wording(
        title=f.gettext(TITLES.get(letter.tone, TITLES[REMINDER])),
        opening=_opening(letter, f),
        payment_request=_payment_request(letter, f),
        closing=_closing(letter, f),
        items=tuple(
            {"number": item.number, "issue_date": f.date(item.issue_date),
             "due_date": f.date(item.due_date),
             "days_overdue": str(item.days_overdue) if item.days_overdue > 0 else "",
             "amount": f.money(item.amount, letter.currency)}
            for item in letter.items),
        open_total=f.money(letter.open_total, letter.currency),
        charges=charges,
        charges_note=f.gettext(
            "The reminder fee and the interest are charged separately from the invoices"
            " listed; the invoices themselves remain unchanged.") if charges else "",
        total_due=f.money(letter.total_due, letter.currency),
        banks=bank_rows(letter.seller, letter.currency, f),
        reference=reference,
        regards=f.gettext("Kind regards"),
    )


# --- Layout ---------------------------------------------------------------------------


def _seller_lines(seller: dict, f: Formatter) -> list[str]:
    lines = [line for line in seller.get("address_lines") or () if line]
    if seller.get("country"):
        lines.append(f.country(seller["country"]))
    if seller.get("org_number"):
        lines.append(f"{f.gettext('Org. no.')}: {seller['org_number']}")
    if seller.get("vat_id"):
        lines.append(f"{f.gettext('VAT ID')}: {seller['vat_id']}")
    return lines


def _buyer_lines(buyer: dict, f: Formatter) -> list[str]:
    lines = [line for line in buyer.get("address_lines") or () if line]
    if buyer.get("country"):
        lines.append(f.country(buyer["country"]))
    return lines


def _fit(lines: list[str], font: str, size: float, width: float) -> list[str]:
    """Lines broken to fit the width (a long street or company name wraps)."""
    fitted: list[str] = []
    for line in lines:
        if pdfmetrics.stringWidth(line, font, size) <= width:
            fitted.append(line)
        else:
            fitted += simpleSplit(line, font, size, width)
    return fitted


def _letterhead(letter: DemandLetter, f: Formatter, logo: _Image | None,
                footer: Callable[[Canvas, BaseDocTemplate], None]
                ) -> Callable[[Canvas, BaseDocTemplate], None]:
    """The first page's callback: letterhead, window address, date and references, footer."""
    info = [(f.gettext("Date"), f.date(letter.letter_date))]
    if letter.buyer.get("customer_number"):
        info.append((f.gettext("Customer no."), str(letter.buyer["customer_number"])))
    info.append((f.gettext("Invoice"), letter.invoice_number))
    if letter.invoice_due is not None:
        info.append((f.gettext("Due date"), f.date(letter.invoice_due)))
    return letterhead(letter.seller, letter.buyer, info, f, logo, footer)


def letterhead(seller: dict, buyer: dict, info: list[tuple[str, str]], f: Formatter,
               logo: _Image | None, footer: Callable[[Canvas, BaseDocTemplate], None]
               ) -> Callable[[Canvas, BaseDocTemplate], None]:
    """A letter's first page (reminders, account statements): the seller's letterhead, the
    buyer's address in the envelope window, the labelled ``info`` rows beside it, the
    footer."""
    right = PAGE_WIDTH - MARGIN
    head = _fit(_seller_lines(seller, f), FONT, SIZE, WIDTH / 2)
    name = seller.get("name", "")
    return_line = " · ".join(
        part for part in (name, *(seller.get("address_lines") or ())) if part)
    return_line = _fit([return_line], FONT, SMALL_SIZE - 1, WINDOW_WIDTH)[0]
    address_name = _fit([buyer.get("name", "")], FONT_BOLD, ADDRESS_SIZE, WINDOW_WIDTH)
    address = _fit(_buyer_lines(buyer, f), FONT, ADDRESS_SIZE, WINDOW_WIDTH)

    def draw(canvas: Canvas, doc: BaseDocTemplate) -> None:
        canvas.saveState()
        top = PAGE_HEIGHT - MARGIN
        if logo is not None:
            canvas.drawImage(_image_reader(logo.data), MARGIN, top - logo.height, logo.width,
                             logo.height, mask="auto")
        canvas.setFillColor(TEXT)
        canvas.setFont(FONT_BOLD, SIZE + 1)
        y = top - SIZE
        canvas.drawRightString(right, y, name)
        canvas.setFont(FONT, SIZE)
        for line in head[:LETTERHEAD_LINES - 1]:
            y -= LEADING
            canvas.drawRightString(right, y, line)
        canvas.setFillColor(HexColor(GREY))
        canvas.setFont(FONT, SMALL_SIZE - 1)
        canvas.drawString(WINDOW_LEFT, PAGE_HEIGHT - RETURN_LINE_TOP, return_line)
        canvas.setFillColor(TEXT)
        y = PAGE_HEIGHT - ADDRESS_TOP
        canvas.setFont(FONT_BOLD, ADDRESS_SIZE)
        for line in address_name:
            canvas.drawString(WINDOW_LEFT, y, line)
            y -= ADDRESS_LEADING
        canvas.setFont(FONT, ADDRESS_SIZE)
        for line in address:
            canvas.drawString(WINDOW_LEFT, y, line)
            y -= ADDRESS_LEADING
        y = PAGE_HEIGHT - ADDRESS_TOP
        for label, value in info:
            canvas.setFont(FONT, SIZE)
            canvas.drawString(INFO_LEFT, y, f"{label}:")
            canvas.setFont(FONT_BOLD, SIZE)
            canvas.drawRightString(right, y, value)
            y -= LEADING + 1
        canvas.restoreState()
        footer(canvas, doc)

    return draw


@lru_cache(maxsize=16)
def _image_reader(data: bytes) -> ImageReader:
    """The logo decoded once per process, not once per letter (a few tenants per worker)."""
    return ImageReader(io.BytesIO(data))


def _items_table(w: Wording, currency: str, f: Formatter, s: _Styles) -> Table:
    """The open items, then the charges and the total due, in one table."""
    widths = [share * WIDTH for share in COLUMNS]
    labels = [f.gettext("Invoice"), f.gettext("Issue date"), f.gettext("Due date"),
              f.gettext("Days overdue"), f"{f.gettext('Amount')} ({currency})"]
    rows: list[list[str]] = [
        [_wrap(label, width, FONT_BOLD) for label, width in zip(labels, widths, strict=True)]]
    for item in w.items:
        rows.append([_wrap(item["number"], widths[0]), item["issue_date"], item["due_date"],
                     item["days_overdue"], item["amount"]])
    first_sum = len(rows)
    label_width = sum(widths[:4])
    if w.charges:
        rows.append([_wrap(f.gettext("Open invoices"), label_width), "", "", "", w.open_total])
        rows += [[_wrap(label, label_width), "", "", "", amount] for label, amount in w.charges]
    rows.append([_wrap(f.gettext("Total due"), label_width, FONT_BOLD), "", "", "",
                 w.total_due])
    style = _cell_style(s.color)
    style += [
        ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
        ("ALIGN", (0, first_sum), (0, -1), "LEFT"),
        ("LINEABOVE", (0, first_sum), (-1, first_sum), 0.5, s.color),
        ("LINEABOVE", (0, -1), (-1, -1), 0.8, s.color),
        ("FONT", (0, -1), (-1, -1), FONT_BOLD, SIZE, LEADING),
    ]
    style += [("SPAN", (0, row), (3, row)) for row in range(first_sum, len(rows))]
    return Table(rows, colWidths=widths, style=style, repeatRows=1, hAlign="LEFT",
                 spaceBefore=4)


def _story(letter: DemandLetter, w: Wording, f: Formatter, s: _Styles) -> list[Flowable]:
    story: list[Flowable] = [_Paragraph(_e(w.title), s.h1)]
    if letter.level_name:
        story.append(_Paragraph(_e(letter.level_name), s.small))
    story += [_Paragraph("<br/>".join(_e(line) for line in w.opening.splitlines()), s.body),
              _items_table(w, letter.currency, f, s)]
    if w.charges_note:
        story.append(_Paragraph(_e(w.charges_note), s.exchange))
    lines = [_e(w.payment_request)]
    lines += [f"{_e(label)}: {_e(value)}" for label, value in w.banks]
    if letter.payment_reference:
        lines.append(f"{_e(f.gettext('Payment reference'))}: <b>{_e(letter.payment_reference)}"
                     "</b>")
    else:
        lines.append(_e(w.reference))
    story += [_Paragraph(_e(f.gettext("Payment")), s.h2), _Paragraph("<br/>".join(lines), s.body)]
    story += [_Paragraph(_e(sentence), s.extra if n == 0 else s.body)
              for n, sentence in enumerate(w.closing)]
    story.append(_Paragraph(f"{_e(w.regards)}<br/><b>{_e(letter.seller.get('name', ''))}</b>",
                            s.extra))
    return story


def render_letter(letter: DemandLetter) -> bytes:
    """The reminder letter as PDF bytes. Works without a Flask app context."""
    register_fonts()
    f = Formatter.for_language(letter.language)
    w = letter.words
    s = _styles(_color(letter.seller.get("primary_color")))
    out = io.BytesIO()
    doc = BaseDocTemplate(
        out, pagesize=(PAGE_WIDTH, PAGE_HEIGHT), leftMargin=MARGIN, rightMargin=MARGIN,
        topMargin=MARGIN, bottomMargin=BOTTOM_MARGIN,
        title=f"{w.title} {letter.invoice_number}".strip(),
        author=letter.seller.get("name", ""), lang=f.language,
    )
    footer = _footer(letter.seller.get("footer_text") or "", f.gettext("Page"))
    first_height = PAGE_HEIGHT - BODY_TOP - BOTTOM_MARGIN
    first = Frame(MARGIN, BOTTOM_MARGIN, WIDTH, first_height, leftPadding=0, rightPadding=0,
                  topPadding=0, bottomPadding=0, id="first")
    later = Frame(MARGIN, BOTTOM_MARGIN, WIDTH, FRAME_HEIGHT, leftPadding=0, rightPadding=0,
                  topPadding=0, bottomPadding=0, id="later")
    logo = _logo(letter)  # reads only .logo
    doc.addPageTemplates([
        PageTemplate(id="first", frames=[first], onPage=_letterhead(letter, f, logo, footer),
                     autoNextPageTemplate="later"),
        PageTemplate(id="later", frames=[later], onPage=footer),
    ])
    try:
        doc.build(_story(letter, w, f, s))
    except LayoutError as exc:
        raise PdfError(f"The reminder letter for {letter.invoice_number} could not be laid"
                       f" out: {exc}") from exc
    return out.getvalue()
