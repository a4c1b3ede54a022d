"""Post delivery (R3.4): documents of customers who want paper, in one print batch.

A batch gathers every issued invoice, proforma and credit note of customers whose delivery
preference is post (or both) that has not been in a batch yet, and stores one merged PDF:
a cover list, then for each document an address sheet laid out for a DIN 5008 window
envelope (the recipient 20 mm from the left and 50 mm from the top, the sender's return
line above it) followed by the document's stored PDF. Each document gets a post delivery
in the batch; marking the batch printed marks them sent.
"""

from __future__ import annotations

import io

from pypdf import PdfReader, PdfWriter
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from sqlalchemy import select
from sqlalchemy.orm import selectinload, undefer

from saas.billing.customers.models import Customer, DeliveryPreference
from saas.billing.documents.models import (
    Delivery,
    DeliveryStatus,
    Document,
    PostBatch,
)
from saas.billing.documents.pdf import FONT, FONT_BOLD, register_fonts
from saas.billing.documents.services import DocumentError
from saas.billing.documents.states import DocumentKind
from saas.extensions import db
from saas.tenants import audit
from saas.tenants.models import utcnow

K = DocumentKind
POSTED_KINDS = (K.INVOICE, K.PROFORMA, K.CREDIT_NOTE)
WINDOW_LEFT, WINDOW_TOP = 20 * mm, 50 * mm  # DIN 5008 form B: the address field


def pending_documents() -> list[Document]:
    """Issued documents for post customers that no batch has carried yet, in number order."""
    posted = select(Delivery.document_id).where(Delivery.channel == "post")
    return db.session.scalars(
        select(Document).join(Customer, Customer.id == Document.customer_id)
        .where(Document.number.is_not(None), Document.kind.in_(POSTED_KINDS),
               Customer.delivery_preference.in_([DeliveryPreference.POST,
                                                  DeliveryPreference.BOTH]),
               Document.id.not_in(posted))
        .options(undefer(Document.pdf), selectinload(Document.customer))
        .order_by(Document.kind, Document.issue_date, Document.number)).all()


def _address(document: Document) -> list[str]:
    buyer = document.buyer or {}
    return [buyer.get("name", ""), *buyer.get("address_lines", ()), buyer.get("country", "")]


def _sheets(documents: list[Document]) -> bytes:
    """The cover list (first page) and one address sheet per document, in one PDF."""
    register_fonts()
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4)
    width, height = A4
    canvas.setFont(FONT_BOLD, 14)
    canvas.drawString(20 * mm, height - 20 * mm, f"Post batch: {len(documents)} documents")
    canvas.setFont(FONT, 9)
    y = height - 30 * mm
    for position, document in enumerate(documents, start=1):
        if y < 20 * mm:
            canvas.showPage()
            canvas.setFont(FONT, 9)
            y = height - 20 * mm
        canvas.drawString(20 * mm, y, f"{position}. {document.title}")
        canvas.drawString(80 * mm, y, ", ".join(line for line in _address(document) if line))
        y -= 5 * mm
    canvas.showPage()
    for document in documents:
        seller = document.seller or {}
        canvas.setFont(FONT, 7)
        canvas.drawString(WINDOW_LEFT, height - WINDOW_TOP + 5 * mm, " · ".join(
            part for part in (seller.get("name", ""), *seller.get("address_lines", ())) if part))
        canvas.setFont(FONT, 11)
        y = height - WINDOW_TOP - 4 * mm
        for line in _address(document):
            if line:
                canvas.drawString(WINDOW_LEFT, y, line)
                y -= 5 * mm
        canvas.setFont(FONT, 8)
        canvas.drawString(WINDOW_LEFT, 20 * mm, document.title)
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


def merged_pdf(documents: list[Document]) -> bytes:
    """Cover list, then address sheet and stored PDF of each document, in one file."""
    sheets = PdfReader(io.BytesIO(_sheets(documents)))
    cover_pages = len(sheets.pages) - len(documents)
    writer = PdfWriter()
    for page in sheets.pages[:cover_pages]:
        writer.add_page(page)
    for index, document in enumerate(documents):
        writer.add_page(sheets.pages[cover_pages + index])
        for page in PdfReader(io.BytesIO(document.pdf)).pages:
            writer.add_page(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def make_batch(user_id: int | None = None) -> PostBatch:
    """Gather every pending post document into a new batch with its merged PDF."""
    documents = pending_documents()
    if not documents:
        raise DocumentError("Nothing to print: no issued document of a customer who wants"
                            " post is waiting.")
    batch = PostBatch(pdf=merged_pdf(documents), created_by_id=user_id)
    db.session.add(batch)
    db.session.flush()
    for document in documents:
        db.session.add(Delivery(
            document_id=document.id, channel="post", post_batch_id=batch.id,
            recipient=", ".join(line for line in _address(document) if line)[:254],
            subject=document.title[:300], created_by_id=user_id))
    audit.record("documents.post_batch", batch,
                 f"Post batch {batch.id}: {len(documents)} documents", user_id=user_id)
    return batch


def mark_printed(batch: PostBatch, user_id: int | None = None) -> None:
    """The batch went to the printer: its documents count as sent by post."""
    if batch.printed_at is not None:
        raise DocumentError(f"Post batch {batch.id} was marked printed already.")
    now = utcnow()
    batch.printed_at = now
    for delivery in batch.deliveries:
        delivery.status, delivery.sent_at, delivery.attempts = DeliveryStatus.SENT, now, 1
    audit.record("documents.post_printed", batch, f"Post batch {batch.id} printed",
                 user_id=user_id)
