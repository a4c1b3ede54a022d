"""What a customer sees of its documents: the lists, and a word for each document's state.

Only issued documents are shown; drafts are the tenant's work in progress. The words are
msgids, translated by the page into the customer's language.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from saas.billing.documents.models import Document
from saas.billing.documents.states import DocumentKind, DocumentStatus
from saas.extensions import db

K, S = DocumentKind, DocumentStatus
OPEN_STATES = (S.ISSUED, S.PARTLY_PAID)
# Settled invoices and the other kinds are listed up to this many each, newest first.
LIST_LIMIT = 50
# The headings of the lists, after the open invoices, in the order shown.
SECTIONS = (
    ("settled", "Paid and credited invoices"),
    ("proformas", "Proforma invoices"),
    ("credit_notes", "Credit notes"),
    ("quotes", "Quotes"),
    ("orders", "Order confirmations"),
)


@dataclass
class Listing:
    # Open invoices come first, all of them: the Stripe step lets several be paid at once.
    open_invoices: list[Document]
    open_totals: list[tuple[str, Decimal]]
    sections: list[tuple[str, list[Document]]] = field(default_factory=list)
    limit: int = LIST_LIMIT


def customer_documents(customer_id: int) -> Listing:
    """The customer's issued documents: open invoices, then each other list."""

    def issued(*conditions) -> list[Document]:
        return list(db.session.scalars(
            select(Document).where(Document.customer_id == customer_id,
                                   Document.number.is_not(None), *conditions)
            .order_by(Document.issue_date.desc(), Document.id.desc())))

    open_invoices = issued(Document.kind == K.INVOICE, Document.status.in_(OPEN_STATES))
    open_invoices.sort(key=lambda d: (d.due_date or date.max, d.id))
    totals: dict[str, Decimal] = {}
    for invoice in open_invoices:
        totals[invoice.currency] = totals.get(invoice.currency, Decimal(0)) + invoice.open_amount
    lists = {
        "settled": (Document.kind == K.INVOICE, Document.status.not_in(OPEN_STATES)),
        "proformas": (Document.kind == K.PROFORMA,),
        "credit_notes": (Document.kind == K.CREDIT_NOTE,),
        "quotes": (Document.kind == K.QUOTE,),
        "orders": (Document.kind == K.ORDER,),
    }
    sections = [(heading, issued(*lists[key])[:LIST_LIMIT]) for key, heading in SECTIONS]
    return Listing(open_invoices=open_invoices, open_totals=sorted(totals.items()),
                   sections=[(heading, docs) for heading, docs in sections if docs])


def quote_is_open(document: Document, today: date) -> bool:
    """A quote the customer may still accept or decline."""
    return (document.kind == K.QUOTE and document.status == S.SENT
            and (document.valid_until is None or today <= document.valid_until))


def status_word(document: Document, today: date) -> str:
    """How the document's state reads to its customer (a msgid)."""
    kind, status = document.kind, document.status
    if kind == K.QUOTE:
        if status == S.SENT:
            return "Awaiting your answer" if quote_is_open(document, today) else "Expired"
        return {S.ACCEPTED: "Accepted", S.CONVERTED: "Accepted", S.DECLINED: "Declined",
                S.EXPIRED: "Expired"}.get(status, "Issued")
    if kind == K.ORDER:
        return "Confirmed"
    if kind in (K.INVOICE, K.PROFORMA):
        if status in OPEN_STATES:
            if document.due_date is not None and document.due_date < today:
                return "Overdue"
            return "Partly paid" if status == S.PARTLY_PAID else "Open"
        return {S.PAID: "Paid", S.CONVERTED: "Paid", S.CREDITED: "Credited"}.get(
            status, "Issued")
    return "Issued"


# Every word status_word() may return, for the catalogue test.
STATUS_WORDS = ("Awaiting your answer", "Expired", "Accepted", "Declined", "Issued",
                "Confirmed", "Overdue", "Partly paid", "Open", "Paid", "Credited")
