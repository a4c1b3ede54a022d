"""The journal (R3.6): balanced double-entry postings for documents and payments.

Accounts (a Norwegian standard chart, NS 4102, by number):

- ``1500`` receivables: what customers owe on issued invoices (less credit notes);
- ``3000`` revenue, per VAT code; ``2700`` VAT payable, per VAT code;
- ``1920`` bank, ``1940`` card and Stripe clearing, ``1900`` cash, ``2400`` payables (a
  payment by offset: set against what the tenant owes the customer);
- ``2900`` customer credit: money received and not yet allocated to an invoice.

Postings:

- an invoice issued: debit receivables its gross; credit revenue its net and VAT payable
  its VAT, per VAT code. A credit note issued: the same, the other way round. A credit
  note's totals are negative (its lines credit), so the signs alone turn it round: its
  gross is credited to receivables, its net and VAT debited.
- a payment received: debit the method's account, credit customer credit. Allocating it
  to an invoice: debit customer credit, credit receivables. So money always goes in as
  the customer's credit, and allocations move it onto invoices; what is not allocated is
  the credit the customer has. A payment that settles invoices as it is recorded (a bank
  line booked, a card payment) is one entry, the receipt: the method's account debited,
  receivables credited what it settles and customer credit the rest — the same amounts
  as the payment's entry and its allocations' entries, netted (``receipt_postings``).
- a refund: debit customer credit, credit the method's account.
- a credit note applied to an invoice: nothing (both sides are receivables).
- undoing: an entry with every line of the original the other way round (``reverses_id``).
  Undoing an allocation made in a receipt posts the allocation's postings the other way
  round, and undoing the payment then posts its payment postings the other way round
  (``reverses_id`` the receipt): the receipt is undone in the same steps as separate entries.

Amounts are in the document's or payment's currency (``JournalEntry.currency``); every
entry balances (``balanced``), which the tests check for every posting.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from saas.billing.documents.models import Document
from saas.billing.documents.services import document_totals
from saas.billing.documents.states import DocumentKind as K
from saas.billing.payments.models import (
    Allocation,
    JournalEntry,
    JournalLine,
    Payment,
    PaymentKind,
    PaymentMethod,
)
from saas.billing.tax import VatRow
from saas.extensions import db

RECEIVABLES, REVENUE, VAT_PAYABLE = "1500", "3000", "2700"
BANK, CARD, CASH, PAYABLES, CUSTOMER_CREDIT = "1920", "1940", "1900", "2400", "2900"
ACCOUNT_NAMES = {
    RECEIVABLES: "Receivables", REVENUE: "Revenue", VAT_PAYABLE: "VAT payable",
    BANK: "Bank", CARD: "Card and Stripe clearing", CASH: "Cash", PAYABLES: "Payables",
    CUSTOMER_CREDIT: "Customer credit",
}
METHOD_ACCOUNTS = {PaymentMethod.BANK: BANK, PaymentMethod.CARD: CARD,
                   PaymentMethod.STRIPE: CARD, PaymentMethod.CASH: CASH,
                   PaymentMethod.OFFSET: PAYABLES}
ZERO = Decimal(0)


@dataclass(frozen=True)
class Posting:
    """One journal line to write: an account debited or credited."""

    account: str
    debit: Decimal = ZERO
    credit: Decimal = ZERO
    customer_id: int | None = None
    vat_code: str = ""


def balanced(postings: Iterable[Posting]) -> bool:
    """Pure: do the debits equal the credits."""
    postings = list(postings)
    return sum((p.debit for p in postings), ZERO) == sum((p.credit for p in postings), ZERO)


def _side(account: str, amount: Decimal, debit: bool, **extra: object) -> Posting:
    """A debit (or credit) of the amount; a negative amount goes to the other side."""
    if amount < 0:
        amount, debit = -amount, not debit
    return Posting(account, amount if debit else ZERO, ZERO if debit else amount, **extra)


def document_postings(kind: str, customer_id: int, gross: Decimal,
                      rows: Iterable[VatRow]) -> list[Posting]:
    """Pure: an issued invoice's (or credit note's) postings from its VAT breakdown.

    The amounts carry the direction: an invoice's are positive, a credit note's negative,
    and a negative amount goes to the other side (``_side``). Turning a credit note round
    by its kind as well would post it as an invoice, so the kind only checks the sign.
    """
    if (kind == K.CREDIT_NOTE and gross > 0) or (kind == K.INVOICE and gross < 0):
        raise ValueError(f"a {kind} of {gross} has the wrong sign")
    postings = [_side(RECEIVABLES, gross, True, customer_id=customer_id)]
    for row in rows:
        postings.append(_side(REVENUE, row.net, False, vat_code=row.code))
        if row.vat:
            postings.append(_side(VAT_PAYABLE, row.vat, False, vat_code=row.code))
    return [p for p in postings if p.debit or p.credit]


def payment_postings(payment_kind: str, method: str, customer_id: int,
                     amount: Decimal) -> list[Posting]:
    """Pure: money in (or, for a refund, out) through the method's account."""
    received = payment_kind == PaymentKind.RECEIVED
    return [_side(METHOD_ACCOUNTS[PaymentMethod(method)], amount, received),
            _side(CUSTOMER_CREDIT, amount, not received, customer_id=customer_id)]


def receipt_postings(method: str, customer_id: int, amount: Decimal,
                     allocated: Decimal) -> list[Posting]:
    """Pure: money received, ``allocated`` of it settling invoices at once: the payment's
    and the allocations' postings netted into one entry."""
    if not ZERO < allocated <= amount:
        raise ValueError(f"a receipt of {amount} cannot settle {allocated}")
    postings = [Posting(METHOD_ACCOUNTS[PaymentMethod(method)], debit=amount),
                Posting(RECEIVABLES, credit=allocated, customer_id=customer_id)]
    if amount > allocated:
        postings.append(Posting(CUSTOMER_CREDIT, credit=amount - allocated,
                                customer_id=customer_id))
    return postings


def allocation_postings(customer_id: int, amount: Decimal) -> list[Posting]:
    """Pure: the customer's credit moved onto an invoice."""
    return [Posting(CUSTOMER_CREDIT, debit=amount, customer_id=customer_id),
            Posting(RECEIVABLES, credit=amount, customer_id=customer_id)]


def _write(postings: list[Posting], **entry: object) -> JournalEntry:
    if not balanced(postings):
        raise ValueError(f"unbalanced posting {entry.get('description')}: {postings}")
    made = JournalEntry(**entry, lines=[
        JournalLine(account=p.account, debit=p.debit, credit=p.credit,
                    customer_id=p.customer_id, vat_code=p.vat_code) for p in postings])
    db.session.add(made)
    return made


def post_document(document: Document) -> JournalEntry | None:
    """Post an issued invoice or credit note (other kinds are not in the books)."""
    if document.kind not in (K.INVOICE, K.CREDIT_NOTE):
        return None
    totals = document_totals(document)
    return _write(document_postings(document.kind, document.customer_id,
                                    document.gross_total, totals.rows),
                  posted_on=document.issue_date, kind=str(document.kind),
                  description=f"{document.title}", currency=document.currency,
                  document_id=document.id)


def post_payment(payment: Payment, allocated: Decimal = ZERO) -> JournalEntry:
    """Post money received (into customer credit) or refunded (out of it); a payment
    received that settles ``allocated`` of invoices at once is posted as a receipt, and
    its allocations have no entries of their own."""
    what = "Payment from" if payment.kind == PaymentKind.RECEIVED else "Refund to"
    postings = (receipt_postings(payment.method, payment.customer_id, payment.amount,
                                 allocated) if allocated else
                payment_postings(payment.kind, payment.method, payment.customer_id,
                                 payment.amount))
    return _write(postings,
                  posted_on=payment.received_on, kind=str(payment.kind),
                  description=f"{what} {payment.customer.name}", currency=payment.currency,
                  payment_id=payment.id)


def post_allocation(allocation: Allocation) -> JournalEntry | None:
    """A payment's credit moved onto the invoice (a credit note's needs no posting)."""
    if allocation.payment_id is None:
        return None
    return _write(allocation_postings(allocation.invoice.customer_id, allocation.amount),
                  posted_on=allocation.allocated_on, kind="allocation",
                  description=f"Payment allocated to {allocation.invoice.title}",
                  currency=allocation.invoice.currency, payment_id=allocation.payment_id,
                  allocation_id=allocation.id)


def _reverse(entry: JournalEntry | None, posted_on: date) -> JournalEntry | None:
    if entry is None:
        return None
    return _write(_turned([Posting(line.account, debit=line.debit, credit=line.credit,
                                   customer_id=line.customer_id, vat_code=line.vat_code)
                           for line in entry.lines]),
                  posted_on=posted_on, kind="reversal",
                  description=f"Reversal: {entry.description}", currency=entry.currency,
                  document_id=entry.document_id, payment_id=entry.payment_id,
                  allocation_id=entry.allocation_id, reverses_id=entry.id)


def _turned(postings: list[Posting]) -> list[Posting]:
    return [Posting(p.account, debit=p.credit, credit=p.debit, customer_id=p.customer_id,
                    vat_code=p.vat_code) for p in postings]


def _payment_entry(payment_id: int) -> JournalEntry | None:
    """The payment's own entry (or receipt), not its allocations' nor a reversal."""
    return db.session.scalar(select(JournalEntry).where(
        JournalEntry.payment_id == payment_id, JournalEntry.allocation_id.is_(None),
        JournalEntry.reverses_id.is_(None)))


def reverse_allocation(allocation: Allocation, on: date) -> JournalEntry | None:
    """Post the undoing of an allocation on the day (a credit note's has nothing to undo):
    its own entry turned round, or, made in a receipt, its postings turned round."""
    original = db.session.scalar(select(JournalEntry).where(
        JournalEntry.allocation_id == allocation.id, JournalEntry.reverses_id.is_(None)))
    if original is not None or allocation.payment_id is None:
        return _reverse(original, on)
    receipt = _payment_entry(allocation.payment_id)
    if receipt is None:  # a payment never posted: nothing to undo in the books
        return None
    invoice = allocation.invoice
    return _write(_turned(allocation_postings(invoice.customer_id, allocation.amount)),
                  posted_on=on, kind="reversal",
                  description=f"Reversal: Payment allocated to {invoice.title}",
                  currency=invoice.currency, payment_id=allocation.payment_id,
                  allocation_id=allocation.id, reverses_id=receipt.id)


def reverse_payment(payment: Payment, on: date) -> JournalEntry | None:
    """Post the undoing of a payment (its allocations are undone one by one before): its
    payment postings turned round, whether its entry was those or a receipt."""
    original = _payment_entry(payment.id)
    if original is None:
        return None
    return _write(_turned(payment_postings(payment.kind, payment.method,
                                           payment.customer_id, payment.amount)),
                  posted_on=on, kind="reversal", description=f"Reversal: {original.description}",
                  currency=original.currency, payment_id=payment.id, reverses_id=original.id)
