"""Post delivery (R3.4): documents and reminders of customers who want paper, in one batch.

A batch gathers every issued invoice, proforma and credit note of customers whose delivery
preference is post (or both) that has not been in a batch yet, and stores one merged PDF:
a cover list, then for each document an address sheet laid out for a DIN 5008 window
envelope (the recipient 20 mm from the left and 50 mm from the top, the sender's return
line above it) followed by the document's stored PDF. Each document gets a post delivery
in the batch; marking the batch printed marks them sent. Reminders of those customers
come too: the payment-demand letter (its address already sits in the window) followed by
a copy of the invoice; printing marks the reminder sent.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from pypdf import PdfReader, PdfWriter
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from sqlalchemy import Select, select
from sqlalchemy.orm import joinedload, selectinload, undefer

from saas.billing.customers.models import Customer, DeliveryPreference
from saas.billing.documents.models import (
    Delivery,
    DeliveryStatus,
    Document,
    PostBatch,
)
from saas.billing.documents.pdf import FONT, FONT_BOLD, register_fonts
from saas.billing.documents.printing import issued_pdf
from saas.billing.documents.services import DocumentError
from saas.billing.documents.states import DocumentKind
from saas.extensions import db
from saas.tenants import audit
from saas.tenants.models import utcnow

K = DocumentKind
POSTED_KINDS = (K.INVOICE, K.PROFORMA, K.CREDIT_NOTE)
WINDOW_LEFT, WINDOW_TOP = 20 * mm, 50 * mm  # DIN 5008 form B: the address field


def pending_documents_query() -> Select:
    """Issued documents for post customers that no batch has carried yet."""
    posted = select(Delivery.document_id).where(Delivery.channel == "post",
                                                Delivery.reminder_id.is_(None))
    return (select(Document).join(Customer, Customer.id == Document.customer_id)
            .where(Document.number.is_not(None), Document.kind.in_(POSTED_KINDS),
                   Customer.delivery_preference.in_([DeliveryPreference.POST,
                                                      DeliveryPreference.BOTH]),
                   Document.id.not_in(posted)))


def pending_documents() -> list[Document]:
    """Issued documents for post customers that no batch has carried yet, in number order."""
    return db.session.scalars(
        pending_documents_query()
        .options(undefer(Document.pdf), selectinload(Document.customer))
        .order_by(Document.kind, Document.issue_date, Document.number)).all()


def pending_reminders_query() -> Select:
    """Reminders worked out for post customers that no batch has carried yet."""
    from saas.billing.reminders.models import Reminder, ReminderStatus  # late: no cycle

    posted = select(Delivery.reminder_id).where(Delivery.channel == "post",
                                                Delivery.reminder_id.is_not(None))
    return (select(Reminder).join(Customer, Customer.id == Reminder.customer_id)
            .where(Reminder.status.in_([ReminderStatus.TO_PRINT, ReminderStatus.PREPARED,
                                        ReminderStatus.SENT, ReminderStatus.FAILED]),
                   Reminder.open_amount.is_not(None),
                   Customer.delivery_preference.in_([DeliveryPreference.POST,
                                                      DeliveryPreference.BOTH]),
                   Reminder.id.not_in(posted)))


def pending_reminders() -> list:  # noqa: ANN201 - reminders (imported late: no cycle)
    """Reminders worked out for post customers that no batch has carried yet."""
    from saas.billing.reminders.models import Reminder

    return db.session.scalars(
        pending_reminders_query()
        .options(joinedload(Reminder.document).undefer(Document.pdf),
                 joinedload(Reminder.customer))
        .order_by(Reminder.reminded_on, Reminder.id)).all()


@dataclass(frozen=True)
class Piece:
    """One item of a batch: what the cover lists, the pages to print, the delivery it makes."""

    title: str
    address: list[str]
    seller: dict
    pdfs: tuple[bytes, ...]
    address_sheet: bool  # False when the first page already shows the address in the window
    document_id: int
    reminder_id: int | None = None


def pending_pieces() -> list[Piece]:
    """Documents (after an address sheet), then reminder letters with the invoice copy."""
    from saas.billing.reminders.sending import letter_pdf

    pieces = [Piece(document.title, _address(document), document.seller or {},
                    (issued_pdf(document),), True, document.id)
              for document in pending_documents()]
    for reminder in pending_reminders():
        document = reminder.document
        pieces.append(Piece(f"{reminder.level_name}: {document.title}", _address(document),
                            document.seller or {}, (letter_pdf(reminder), issued_pdf(document)),
                            False, document.id, reminder.id))
    return pieces


def _address(document: Document) -> list[str]:
    buyer = document.buyer or {}
    return [buyer.get("name", ""), *buyer.get("address_lines", ()), buyer.get("country", "")]


def _sheets(pieces: list[Piece]) -> bytes:
    """The cover list (first pages) and one address sheet per piece that needs one."""
    register_fonts()
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4)
    width, height = A4
    canvas.setFont(FONT_BOLD, 14)
    canvas.drawString(20 * mm, height - 20 * mm, f"Post batch: {len(pieces)} documents")
    canvas.setFont(FONT, 9)
    y = height - 30 * mm
    for position, piece in enumerate(pieces, start=1):
        if y < 20 * mm:
            canvas.showPage()
            canvas.setFont(FONT, 9)
            y = height - 20 * mm
        canvas.drawString(20 * mm, y, f"{position}. {piece.title}")
        canvas.drawString(100 * mm, y, ", ".join(line for line in piece.address if line))
        y -= 5 * mm
    canvas.showPage()
    for piece in pieces:
        if not piece.address_sheet:
            continue
        canvas.setFont(FONT, 7)
        canvas.drawString(WINDOW_LEFT, height - WINDOW_TOP + 5 * mm, " · ".join(
            part for part in (piece.seller.get("name", ""),
                              *piece.seller.get("address_lines", ())) if part))
        canvas.setFont(FONT, 11)
        y = height - WINDOW_TOP - 4 * mm
        for line in piece.address:
            if line:
                canvas.drawString(WINDOW_LEFT, y, line)
                y -= 5 * mm
        canvas.setFont(FONT, 8)
        canvas.drawString(WINDOW_LEFT, 20 * mm, piece.title)
        canvas.showPage()
    canvas.save()
    return out.getvalue()


def concatenate(parts: list[bytes]) -> bytes:
    """The pages of several PDFs, one after the other, in one file."""
    writer = PdfWriter()
    for part in parts:
        for page in PdfReader(io.BytesIO(part)).pages:
            writer.add_page(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def merged_pdf(pieces: list[Piece]) -> bytes:
    """Cover list, then each piece: its address sheet (if it needs one) and its PDFs."""
    sheets = PdfReader(io.BytesIO(_sheets(pieces)))
    with_sheet = sum(piece.address_sheet for piece in pieces)
    cover_pages = len(sheets.pages) - with_sheet
    writer = PdfWriter()
    for page in sheets.pages[:cover_pages]:
        writer.add_page(page)
    next_sheet = cover_pages
    for piece in pieces:
        if piece.address_sheet:
            writer.add_page(sheets.pages[next_sheet])
            next_sheet += 1
        for data in piece.pdfs:
            for page in PdfReader(io.BytesIO(data)).pages:
                writer.add_page(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def make_batch(user_id: int | None = None) -> PostBatch:
    """Gather every pending post document and reminder into a batch with its merged PDF."""
    pieces = pending_pieces()
    if not pieces:
        raise DocumentError("Nothing to print: no issued document or reminder of a customer"
                            " who wants post is waiting.")
    batch = PostBatch(pdf=merged_pdf(pieces), created_by_id=user_id)
    db.session.add(batch)
    db.session.flush()
    for piece in pieces:
        db.session.add(Delivery(
            document_id=piece.document_id, reminder_id=piece.reminder_id, channel="post",
            post_batch_id=batch.id,
            recipient=", ".join(line for line in piece.address if line)[:254],
            subject=piece.title[:300], created_by_id=user_id))
    audit.record("documents.post_batch", batch,
                 f"Post batch {batch.id}: {len(pieces)} documents", user_id=user_id)
    return batch


def mark_printed(batch: PostBatch, user_id: int | None = None) -> None:
    """The batch went to the printer: its documents count as sent by post."""
    if batch.printed_at is not None:
        raise DocumentError(f"Post batch {batch.id} was marked printed already.")
    now = utcnow()
    batch.printed_at = now
    for delivery in batch.deliveries:
        delivery.status, delivery.sent_at, delivery.attempts = DeliveryStatus.SENT, now, 1
        if delivery.reminder_id is not None:
            from saas.billing.reminders.sending import mirror_outcome

            mirror_outcome(delivery.reminder_id, DeliveryStatus.SENT, "")
    audit.record("documents.post_printed", batch, f"Post batch {batch.id} printed",
                 user_id=user_id)
