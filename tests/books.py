"""What the payment tests share: issuing invoices of a known amount, and the check that the
books agree with the documents and payments after every posting."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from saas.billing.customers.models import Customer
from saas.billing.documents import conversion, issuing, services
from saas.billing.documents.models import Document
from saas.billing.documents.states import DocumentKind
from saas.billing.payments import ledger
from saas.billing.payments.models import Allocation, JournalEntry, JournalLine
from saas.billing.payments.services import customer_credit
from saas.extensions import db

K = DocumentKind
ZERO = Decimal(0)


def issue_invoice(customer: Customer, vat_rate_id: int, net: str, on: date,
                  kind: DocumentKind = K.INVOICE, terms: int | None = None) -> Document:
    """An issued invoice (or proforma) of one manual line at the net (25 % VAT: the gross
    is 1.25 × net when the rate is 25 %), issued on the day, without a PDF."""
    document = services.create_document(kind, customer)
    if terms is not None:
        services.update_header(document, {"payment_terms_days": terms})
    services.add_line(document, {"description": "Service", "quantity": Decimal(1),
                                 "unit_price": Decimal(net), "vat_rate_id": vat_rate_id})
    issuing.issue_document(document, on=on, render=False)
    return document


def issue_credit_note(invoice: Document, on: date, quantity: str | None = None) -> Document:
    """An issued credit note of the whole invoice, or of a quantity of its first line."""
    quantities = None if quantity is None else {invoice.lines[0].id: Decimal(quantity)}
    note = conversion.create_credit_note(invoice, quantities)
    issuing.issue_document(note, on=on, render=False)
    return note


def assert_books_balance() -> None:
    """In the current tenant: every journal entry balances; each customer's receivables
    account is the sum of the open amounts of their issued invoices and credit notes; their
    credit account is ``customer_credit``; each paid total is its live allocations."""
    db.session.flush()
    unbalanced = db.session.execute(
        select(JournalLine.entry_id).group_by(JournalLine.entry_id)
        .having(func.sum(JournalLine.debit) != func.sum(JournalLine.credit))).all()
    assert unbalanced == []
    assert db.session.scalar(
        select(func.count()).select_from(JournalEntry)
        .where(~JournalEntry.lines.any())) == 0

    def by_customer(account: str, sign: int) -> dict[tuple[int, str], Decimal]:
        rows = db.session.execute(
            select(JournalLine.customer_id, JournalEntry.currency,
                   func.sum(JournalLine.debit - JournalLine.credit))
            .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
            .where(JournalLine.account == account)
            .group_by(JournalLine.customer_id, JournalEntry.currency)).all()
        return {(c, cur): sign * Decimal(v) for c, cur, v in rows if v}

    open_amounts = {
        (c, cur): Decimal(v) for c, cur, v in db.session.execute(
            select(Document.customer_id, Document.currency,
                   func.sum(Document.gross_total - Document.paid_total))
            .where(Document.kind.in_([K.INVOICE, K.CREDIT_NOTE]), Document.number.is_not(None))
            .group_by(Document.customer_id, Document.currency)).all() if v}
    assert by_customer(ledger.RECEIVABLES, 1) == open_amounts
    credits = by_customer(ledger.CUSTOMER_CREDIT, -1)
    customers = {key for key in (*credits, *open_amounts)}
    assert {key: customer_credit(*key) for key in customers if customer_credit(*key)} == credits

    live = (select(func.coalesce(func.sum(Allocation.amount), 0))
            .where(Allocation.reversed_at.is_(None)))
    for document in db.session.scalars(select(Document).where(Document.number.is_not(None))):
        if document.kind == K.INVOICE:
            expected = db.session.scalar(live.where(Allocation.invoice_id == document.id))
        elif document.kind == K.CREDIT_NOTE:
            expected = -db.session.scalar(live.where(Allocation.credit_note_id == document.id))
        else:
            continue
        assert document.paid_total == Decimal(expected), document.title
