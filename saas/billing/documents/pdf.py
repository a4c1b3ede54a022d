"""The PDF of a sales document: a ``Printable`` laid out with ReportLab's platypus.

``context`` decides what is printed (every label translated, every number formatted) and
``render_pdf`` lays it out on A4 and returns the PDF bytes. Neither needs a Flask app, a
request or a database, so the benchmark and the unit tests call them bare.

Layout rules kept for speed (a table cell costs far more as a Paragraph than as a
string): plain strings in table cells, right-aligned with the table style; a Paragraph
only where text has to wrap (a line's description with its small site/reference line,
the address blocks, the notes); no table inside another's rows; all the lines in one
``Table`` (``repeatRows=1``, its row heights measured once here) that platypus splits
across pages. The footer and "Page N" are drawn by the page callback, not laid out.

User text goes into Paragraph markup through ``escape`` only (``_e``): ``A & B <Ltd>``
prints as written. The fonts are Source Sans Pro (the font-source-sans-pro wheel),
registered once per process as a family so that ``<b>`` works: the PDF's standard
Helvetica has no ą, ł, č or ș.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab import rl_config
from reportlab.lib.colors import Color, HexColor, white
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    LayoutError,
    PageTemplate,
    Paragraph,
    Table,
)
from reportlab.platypus import Image as ImageFlowable

from saas.billing.documents import pdf_sandbox
from saas.billing.documents.pdf_content import (  # noqa: F401 - part of this API
    DEFAULT_COLOR,
    QR_SIZE,
    _Image,
    _logo,
    context,
    epc_payload,
)
from saas.billing.documents.printable import (
    Printable,
)

log = logging.getLogger(__name__)

# The page: A4 portrait, 1.5 cm margins (2.2 cm at the bottom, above the footer).
PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN = 1.5 * cm
BOTTOM_MARGIN = 2.2 * cm
FOOTER_TOP = 1.9 * cm  # the footer's first line hangs from here
WIDTH = PAGE_WIDTH - 2 * MARGIN  # of the frame, which has no padding of its own
FRAME_HEIGHT = PAGE_HEIGHT - MARGIN - BOTTOM_MARGIN

FONT = "SourceSansPro"
FONT_BOLD = "SourceSansPro-Bold"
FONT_FILES = {FONT: "SourceSansPro-Regular.ttf", FONT_BOLD: "SourceSansPro-Bold.ttf"}
SIZE, LEADING = 9, 10.8  # the body text
SMALL_SIZE, SMALL_LEADING = 7.5, 9
TEXT = HexColor("#222222")
GREY = "#555555"  # the small text
DRAFT_COLOR = "#c00000"
PAD_X, PAD_TOP, PAD_BOTTOM = 3, 1.5, 1  # of every table cell

# The lines table's columns as fractions of the width, without and with a discount
# column.
COLUMNS = (0.05, 0.44, 0.08, 0.07, 0.12, 0.09, 0.15)
COLUMNS_DISCOUNT = (0.05, 0.36, 0.08, 0.07, 0.12, 0.08, 0.09, 0.15)
SUMS_WIDTH = 0.6 * WIDTH  # the VAT breakdown's table
SUMS_COLUMNS = (0.4 * SUMS_WIDTH, 0.3 * SUMS_WIDTH, 0.3 * SUMS_WIDTH)


class PdfError(RuntimeError):
    """ReportLab could not lay the document out."""


@cache
def fonts_dir() -> Path:
    """The directory of the Source Sans Pro TTF files (the font-source-sans-pro wheel)."""
    return Path(str(resources.files("font_source_sans_pro") / "files")).resolve()


@cache
def register_fonts() -> None:
    """Register Source Sans Pro Regular and Bold with ReportLab, once per process, after
    confining what ReportLab may read (``pdf_sandbox``): every PDF builder calls this first."""
    # Binary streams instead of ASCII85 text: ReportLab encodes ASCII85 in pure Python
    # without its optional accelerator (several ms a document for the fonts and images),
    # and the PDF is a fifth smaller. Process-wide, as every ReportLab setting is.
    rl_config.useA85 = 0
    # From here ReportLab reads only the fonts and the app's static files, and no URL.
    pdf_sandbox.confine(fonts_dir(), pdf_sandbox.static_dir())
    for name, filename in FONT_FILES.items():
        pdfmetrics.registerFont(TTFont(name, str(fonts_dir() / filename)))
    # No italic is printed: <i> falls back to the upright faces rather than failing.
    pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=FONT_BOLD, italic=FONT,
                                  boldItalic=FONT_BOLD)


def _e(value: object) -> str:
    """Text for Paragraph markup: ``&``, ``<`` and ``>`` escaped."""
    return escape(str(value))


class _Paragraph(Paragraph):
    """A Paragraph that breaks its lines once per width.

    A table wraps its cells when it measures itself, again for every page it is split
    over and once more when it draws them, and a frame wraps a paragraph before it tries
    to split it; breaking the lines is most of a Paragraph's cost, and the result only
    depends on the width.
    """

    _wrapped: tuple[float, tuple[float, float]] | None = None

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        if self._wrapped is not None and self._wrapped[0] == availWidth:
            return self._wrapped[1]
        size = super().wrap(availWidth, availHeight)
        self._wrapped = (availWidth, size)
        return size


@dataclass(frozen=True)
class _Styles:
    color: Color
    h1: ParagraphStyle
    h2: ParagraphStyle
    body: ParagraphStyle
    cell: ParagraphStyle  # a line's description
    small: ParagraphStyle
    small_right: ParagraphStyle  # "Scan to pay" under the QR code
    exchange: ParagraphStyle  # the exchange-rate line under the totals
    extra: ParagraphStyle  # the extra rows, last


@lru_cache(maxsize=64)
def _styles(color: str) -> _Styles:
    body = ParagraphStyle("body", fontName=FONT, fontSize=SIZE, leading=LEADING,
                          textColor=TEXT, spaceAfter=3)
    small = ParagraphStyle("small", body, fontSize=SMALL_SIZE, leading=SMALL_LEADING,
                           textColor=HexColor(GREY))
    return _Styles(
        color=HexColor(color),
        h1=ParagraphStyle("h1", body, fontName=FONT_BOLD, fontSize=18, leading=21.6,
                          textColor=HexColor(color), spaceAfter=4),
        h2=ParagraphStyle("h2", body, fontName=FONT_BOLD, fontSize=10, leading=12,
                          textColor=HexColor(color), spaceBefore=8, spaceAfter=2,
                          keepWithNext=1),
        body=body,
        cell=ParagraphStyle("cell", body, spaceAfter=0),
        small=small,
        small_right=ParagraphStyle("small_right", small, alignment=TA_RIGHT, spaceAfter=0),
        exchange=ParagraphStyle("exchange", small, spaceBefore=2),
        extra=ParagraphStyle("extra", body, spaceBefore=8),
    )


def _small(text: str) -> str:
    """Markup for the small grey text under a description or a VAT rate (escaped)."""
    return f'<font size="{SMALL_SIZE}" color="{GREY}">{_e(text)}</font>'


def _wrap(text: str, width: float, font: str = FONT, size: float = SIZE) -> str:
    """A plain table cell's text broken into lines (\\n) that fit the column's width."""
    width -= 2 * PAD_X
    if pdfmetrics.stringWidth(text, font, size) <= width:
        return text
    return "\n".join(simpleSplit(text, font, size, width))


def _cell_style(color: Color, *, header: bool = True) -> list[tuple]:
    """The table style every table shares: padding, fonts, the coloured header row."""
    style: list[tuple] = [
        ("FONT", (0, 0), (-1, -1), FONT, SIZE, LEADING),
        ("TEXTCOLOR", (0, 0), (-1, -1), TEXT),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), PAD_X),
        ("RIGHTPADDING", (0, 0), (-1, -1), PAD_X),
        ("TOPPADDING", (0, 0), (-1, -1), PAD_TOP),
        ("BOTTOMPADDING", (0, 0), (-1, -1), PAD_BOTTOM),
    ]
    if header:
        style += [
            ("FONT", (0, 0), (-1, 0), FONT_BOLD, SIZE, LEADING),
            ("TEXTCOLOR", (0, 0), (-1, 0), white),
            ("BACKGROUND", (0, 0), (-1, 0), color),
        ]
    return style


def _header(c: dict, s: _Styles) -> Table:
    """Logo top left, title, number and dates top right; seller and buyer below."""
    _ = c["_"]
    p: Printable = c["p"]
    draft = _e(_("DRAFT"))
    title = _e(c["title"])
    if c["draft"]:
        title += f' <font color="{DRAFT_COLOR}">{draft}</font>'
    info = [f"{_e(_('Number'))}: <b>{draft if c['draft'] else _e(p.number)}</b>",
            f"{_e(_('Issue date'))}: {_e(c['issue_date'])}"]
    for label, key in (("Date of supply", "delivery_date"), ("Due date", "due_date"),
                       ("Valid until", "valid_until")):
        if c[key]:
            info.append(f"{_e(_(label))}: {_e(c[key])}")
    info += [_e(line) for line in c["references"]]

    logo: _Image | None = c["logo"]
    logo_cell: list[Flowable] = []
    if logo is not None:
        image = ImageFlowable(io.BytesIO(logo.data), width=logo.width, height=logo.height)
        image.hAlign = "LEFT"
        logo_cell.append(image)
    rows = [
        [logo_cell, [_Paragraph(title, s.h1), _Paragraph("<br/>".join(info), s.body)]],
        [_party_cell(_("Seller"), c["seller"], s), _party_cell(_("Buyer"), c["buyer"], s)],
    ]
    return Table(rows, colWidths=(WIDTH / 2, WIDTH / 2), style=_cell_style(s.color, header=False),
                 hAlign="LEFT")


def _party_cell(heading: str, party: dict, s: _Styles) -> list[Flowable]:
    lines = [f"<b>{_e(party['name'])}</b>", *(_e(line) for line in party["lines"])]
    if party["country"]:
        lines.append(_e(party["country"]))
    lines += [f"{_e(label)}: {_e(value)}" for label, value in party["details"]]
    return [_Paragraph(_e(heading), s.h2), _Paragraph("<br/>".join(lines), s.body)]


def _lines_table(c: dict, s: _Styles) -> Table:
    """All the lines in one table, its header row repeated on every page."""
    _ = c["_"]
    p: Printable = c["p"]
    discount = c["any_discount"]
    widths = [share * WIDTH for share in (COLUMNS_DISCOUNT if discount else COLUMNS)]
    keys = ["position", "description", "quantity", "unit", "unit_price",
            *(["discount"] if discount else []), "vat_rate", "net"]
    labels = [_("Pos."), _("Description"), _("Qty"), _("Unit"), _("Unit price"),
              *([_("Discount")] if discount else []), _("VAT rate"),
              f"{_('Net')} ({p.currency})"]
    header = [_wrap(label, width, FONT_BOLD) for label, width in zip(labels, widths, strict=True)]
    description, unit = keys.index("description"), keys.index("unit")
    # The width ReportLab gives a cell's flowable, computed as it does (so that the
    # Paragraph's wrap cache is hit when the table draws it).
    text_width = widths[description] - PAD_X - PAD_X
    unit_width = widths[unit]
    cell = s.cell
    padding = PAD_TOP + PAD_BOTTOM
    rows: list[list] = [header]
    heights = [max(label.count("\n") + 1 for label in header) * LEADING + padding]
    for line in c["lines"]:
        row: list = [line[key] for key in keys]
        text = _e(line["description"])
        if line["small"]:
            text = f"{text}<br/>{_small(line['small'])}"
        paragraph = row[description] = _Paragraph(text, cell)
        row[unit] = _wrap(line["unit"], unit_width)
        rows.append(row)
        heights.append(max(paragraph.wrap(text_width, PAGE_HEIGHT)[1],
                           (row[unit].count("\n") + 1) * LEADING) + padding)
    style = _cell_style(s.color)
    for column, key in enumerate(keys):
        if key not in ("description", "unit"):
            style.append(("ALIGN", (column, 0), (column, -1), "RIGHT"))
    # rowHeights: measured here once. Left to ReportLab, every page's split measures all
    # the rows still to come again (and sums the heights so far at each row): quadratic
    # in the number of lines.
    # splitInRow: a line taller than a page (a very long description) is split inside
    # its row instead of failing the layout; other rows only ever break between rows.
    # ReportLab splits such a row only with the heights left for it to measure.
    measured = heights if max(heights) + heights[0] <= FRAME_HEIGHT else None
    return Table(rows, colWidths=widths, rowHeights=measured, style=style, repeatRows=1,
                 splitInRow=1, hAlign="LEFT")


def _sums_table(c: dict, s: _Styles) -> Table:
    """The VAT breakdown with the totals (and the balance rows when printed)."""
    _ = c["_"]
    width, spanned = SUMS_COLUMNS[0], SUMS_COLUMNS[0] + SUMS_COLUMNS[1]
    rows: list[list] = [[_wrap(_("VAT rate"), width, FONT_BOLD), _("Net"), _("VAT")]]
    for row in c["vat_rows"]:
        rate = row["rate"]
        if row["note"]:
            rate = _Paragraph(f"{_e(rate)}<br/>{_small(row['note'])}", s.cell)
        rows.append([rate, row["net"], row["vat"]])
    bold = [len(rows), len(rows) + 1]
    rows.append([_wrap(f"{_('Total net')} / {_('Total VAT')}", width, FONT_BOLD),
                 c["net_total"], c["vat_total"]])
    rows.append([_wrap(_("Total"), spanned, FONT_BOLD), "", c["gross_total"]])
    spans = [len(rows) - 1]
    if c["balance"] is not None:
        rows.append([_wrap(_("Balance before this invoice"), spanned), "", c["balance"]])
        rows.append([_wrap(_("Total due including balance"), spanned, FONT_BOLD), "",
                     c["total_due"]])
        spans += [len(rows) - 2, len(rows) - 1]
        bold.append(len(rows) - 1)
    style = _cell_style(s.color)
    style.append(("ALIGN", (1, 0), (-1, -1), "RIGHT"))
    style += [("FONT", (0, row), (-1, row), FONT_BOLD, SIZE, LEADING) for row in bold]
    style += [("SPAN", (0, row), (1, row)) for row in spans]
    return Table(rows, colWidths=SUMS_COLUMNS, style=style, hAlign="LEFT")


def _payment(c: dict, s: _Styles) -> list[Flowable]:
    """The payment block: terms, due date, bank accounts, reference; the QR code beside."""
    _ = c["_"]
    lines = []
    if c["terms"]:
        lines.append(f"{_e(_('Payment terms'))}: {_e(c['terms'])}")
    if c["due_date"]:
        lines.append(f"{_e(_('Due date'))}: <b>{_e(c['due_date'])}</b>")
    lines += [f"{_e(label)}: {_e(value)}" for label, value in c["banks"]]
    if c["reference"]:
        label, reference = c["reference"]
        lines.append(f"{_e(label)}: <b>{_e(reference)}</b>")
    block: list[Flowable] = [_Paragraph(_e(_("Payment")), s.h2)]
    if lines:
        block.append(_Paragraph("<br/>".join(lines), s.body))
    if not c["qr"]:
        return block
    qr = ImageFlowable(io.BytesIO(c["qr"]), width=QR_SIZE, height=QR_SIZE)
    style = _cell_style(s.color, header=False)
    style += [("TOPPADDING", (1, 0), (1, 0), 8), ("ALIGN", (1, 0), (1, 0), "RIGHT")]
    return [Table([[block, [qr, _Paragraph(_e(_("Scan to pay")), s.small_right)]]],
                  colWidths=(0.75 * WIDTH, 0.25 * WIDTH), style=style, hAlign="LEFT")]


def _story(c: dict, s: _Styles) -> list[Flowable]:
    _ = c["_"]
    story: list[Flowable] = [_header(c, s), _lines_table(c, s),
                             _Paragraph(_e(_("VAT breakdown")), s.h2), _sums_table(c, s)]
    exchange = c["exchange"]
    if exchange:
        story.append(_Paragraph(
            f"{_e(_('Exchange rate'))}: {_e(exchange['rate'])} \xa0·\xa0 "
            f"{_e(exchange['vat_label'])}: {_e(exchange['vat'])}",
            s.exchange,
        ))
    if c["payable"]:
        story += _payment(c, s)
    if c["demand"]:
        story += [_Paragraph(_e(_("Payment demand")), s.h2), _Paragraph(_e(c["demand"]), s.body)]
    if c["notes"]:
        story += [_Paragraph(_e(_("Notes")), s.h2),
                  _Paragraph("<br/>".join(_e(line) for line in c["notes"]), s.body)]
    if c["extra"]:
        story.append(_Paragraph(
            "<br/>".join(f"{_e(label)}: {_e(value)}" for label, value in c["extra"]),
            s.extra,
        ))
    return story


def _footer(footer_text: str, page_label: str) -> Callable[[Canvas, BaseDocTemplate], None]:
    """The page callback: the footer text and "Page N", drawn on every page."""
    separator = "  ·  "
    lines = simpleSplit(footer_text, FONT, SMALL_SIZE, WIDTH) if footer_text else []

    def draw(canvas: Canvas, doc: BaseDocTemplate) -> None:
        page = f"{page_label} {canvas.getPageNumber()}"
        text = list(lines)
        if text and pdfmetrics.stringWidth(text[-1] + separator + page, FONT,
                                           SMALL_SIZE) <= WIDTH:
            text[-1] += separator + page
        else:
            text.append(page)
        canvas.saveState()
        canvas.setFont(FONT, SMALL_SIZE)
        canvas.setFillColor(HexColor(GREY))
        y = FOOTER_TOP - SMALL_SIZE
        for line in text:
            canvas.drawString(MARGIN, y, line)
            y -= SMALL_LEADING
        canvas.restoreState()

    return draw


def render_pdf(p: Printable) -> bytes:
    """The document as PDF bytes. Works without a Flask app context."""
    register_fonts()
    c = context(p)
    s = _styles(c["color"])
    out = io.BytesIO()
    doc = BaseDocTemplate(
        out, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN,
        bottomMargin=BOTTOM_MARGIN, title=f"{c['title']} {p.number}".strip(),
        author=p.seller.name, lang=c["lang"],
    )
    frame = Frame(MARGIN, BOTTOM_MARGIN, WIDTH, FRAME_HEIGHT,
                  leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0, id="body")
    on_page = _footer(p.footer_text, c["_"]("Page"))
    doc.addPageTemplates([PageTemplate(id="page", frames=[frame], onPage=on_page)])
    try:
        doc.build(_story(c, s))
    except LayoutError as exc:
        raise PdfError(f"The PDF of {p.kind} {p.number or '(draft)'} could not be laid "
                       f"out: {exc}") from exc
    return out.getvalue()
