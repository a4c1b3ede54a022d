"""What a customer sees of its documents: the lists, and a word for each document's state.

Only issued documents are shown; drafts are the tenant's work in progress. The words are
msgids, translated by the page into the customer's language.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import aliased

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


def _section() -> Any:
    """Which list a document is shown in (by SECTIONS' keys; "open" for open invoices)."""
    return case(
        (and_(Document.kind == K.INVOICE, Document.status.in_(OPEN_STATES)), "open"),
        (Document.kind == K.INVOICE, "settled"),
        (Document.kind == K.PROFORMA, "proformas"),
        (Document.kind == K.CREDIT_NOTE, "credit_notes"),
        (Document.kind == K.QUOTE, "quotes"),
        (Document.kind == K.ORDER, "orders"),
        else_="",
    )


def customer_documents(customer_id: int) -> Listing:
    """The customer's issued documents: open invoices, then each other list.

    One statement for all the lists: each document is numbered within its list, newest
    first, and only the first LIST_LIMIT of each list are read (every open invoice is).
    """
    section = _section()
    place = func.row_number().over(partition_by=section,
                                   order_by=(Document.issue_date.desc(), Document.id.desc()))
    ranked = (select(Document, section.label("section"), place.label("place"))
              .where(Document.customer_id == customer_id, Document.number.is_not(None))
              .subquery())
    document = aliased(Document, ranked)
    rows = db.session.execute(
        select(document, ranked.c.section)
        .where(ranked.c.section != "", or_(ranked.c.section == "open",
                                           ranked.c.place <= LIST_LIMIT))
        .order_by(ranked.c.section, ranked.c.place)).all()
    lists: dict[str, list[Document]] = {}
    for found, key in rows:
        lists.setdefault(key, []).append(found)
    open_invoices = sorted(lists.get("open", []), key=lambda d: (d.due_date or date.max, d.id))
    totals: dict[str, Decimal] = {}
    for invoice in open_invoices:
        totals[invoice.currency] = totals.get(invoice.currency, Decimal(0)) + invoice.open_amount
    return Listing(open_invoices=open_invoices, open_totals=sorted(totals.items()),
                   sections=[(heading, lists[key]) for key, heading in SECTIONS
                             if lists.get(key)])


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
