"""Payments: record money received or refunded, settle invoices with it, undo.

Every change here keeps three things together, in the caller's transaction: the
allocations, each settled document's ``paid_total`` and status (issued → partly paid →
paid, and back when undone), and the journal (``ledger``). Nothing is deleted: a payment
or an allocation is reversed, and the journal gets the reversing entry.

What a customer has paid and not allocated is their credit (``customer_credit``): it can
be allocated to invoices later, or refunded (a ``refund`` payment, which takes it out).
An issued credit note settles invoices the same way (``apply_credit_note``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from saas import clock
from saas.billing.customers.models import Customer
from saas.billing.documents.models import Document
from saas.billing.documents.services import move
from saas.billing.documents.states import DocumentKind as K
from saas.billing.documents.states import DocumentStatus as S
from saas.billing.money import as_decimal, check_currency, quantize_money
from saas.billing.payments import ledger
from saas.billing.payments.models import (
    Allocation,
    BankLine,
    BankLineStatus,
    Payment,
    PaymentKind,
    PaymentMethod,
)
from saas.extensions import db
from saas.tenants import audit
from saas.tenants.access import tenant_today
from saas.tenants.services import ServiceError

SETTLEABLE = (S.ISSUED, S.PARTLY_PAID, S.PAID)


class PaymentError(ServiceError):
    """A refused payment or allocation, with the form field it concerns."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def _amount(value: Decimal, currency: str, field: str = "amount") -> Decimal:
    try:
        amount = as_decimal(value)
    except (TypeError, ValueError):
        raise PaymentError("Give the amount as a number.", field) from None
    if amount <= 0:
        raise PaymentError("The amount must be more than zero.", field)
    if quantize_money(amount, currency) != amount:
        raise PaymentError(f"{amount} has more decimals than {currency} has.", field)
    return amount


# --- reading -----------------------------------------------------------------------------


def allocated(payment: Payment) -> Decimal:
    """What of the payment settles invoices (live allocations)."""
    return sum((a.amount for a in payment.allocations if a.reversed_at is None), Decimal(0))


def unallocated(payment: Payment) -> Decimal:
    return Decimal(0) if payment.is_reversed else payment.amount - allocated(payment)


def customer_credit(customer_id: int, currency: str) -> Decimal:
    """Paid and not allocated, less refunds: what the customer has to their credit."""
    live = (Payment.customer_id == customer_id, Payment.currency == currency,
            Payment.reversed_at.is_(None))
    received = db.session.scalar(select(func.coalesce(func.sum(Payment.amount), 0)).where(
        *live, Payment.kind == PaymentKind.RECEIVED))
    refunded = db.session.scalar(select(func.coalesce(func.sum(Payment.amount), 0)).where(
        *live, Payment.kind == PaymentKind.REFUND))
    used = db.session.scalar(
        select(func.coalesce(func.sum(Allocation.amount), 0))
        .join(Payment, Payment.id == Allocation.payment_id)
        .where(*live, Allocation.reversed_at.is_(None)))
    return Decimal(received) - Decimal(refunded) - Decimal(used)


def credit_note_left(credit_note: Document) -> Decimal:
    """What of an issued credit note is not yet applied to invoices."""
    return credit_note.gross_total - (credit_note.paid_total or Decimal(0))


# --- recording ---------------------------------------------------------------------------


def record_payment(customer: Customer, amount: Decimal, received_on: date, *,
                   method: PaymentMethod | str = PaymentMethod.BANK,
                   currency: str | None = None, reference: str = "", note: str = "",
                   allocations: Sequence[tuple[Document, Decimal]] = (),
                   bank_line: BankLine | None = None,
                   user_id: int | None = None) -> Payment:
    """Money received from the customer, settling the given invoices by the given amounts.

    What the allocations leave of the amount is the customer's credit. Refused, with
    nothing recorded: an amount of zero or less, allocations to another customer's
    documents, to what is not an issued invoice, beyond an invoice's open amount, in
    another currency, or more in all than the payment.
    """
    currency = currency or customer.currency
    try:
        check_currency(currency)
    except ValueError as exc:
        raise PaymentError(str(exc), "currency") from None
    amount = _amount(amount, currency)
    try:
        method = PaymentMethod(method)
    except ValueError:
        raise PaymentError(f"{method!r} is not a payment method.", "method") from None
    if received_on is None:
        raise PaymentError("Give the day the money was received.", "received_on")
    if bank_line is not None and bank_line.status == BankLineStatus.MATCHED:
        raise PaymentError("That bank line is booked already.")
    requested = [(invoice, _amount(part, currency, "allocations"))
                 for invoice, part in allocations]
    if sum((part for _, part in requested), Decimal(0)) > amount:
        raise PaymentError(f"The allocations add up to more than the {amount} {currency}"
                           " received.", "allocations")
    payment = Payment(customer_id=customer.id, customer=customer,
                      kind=PaymentKind.RECEIVED, received_on=received_on, amount=amount,
                      currency=currency, method=method, reference=reference.strip()[:140],
                      note=note.strip(), bank_line_id=bank_line.id if bank_line else None,
                      created_by_id=user_id)
    db.session.add(payment)
    db.session.flush()
    if bank_line is not None:
        bank_line.status = BankLineStatus.MATCHED
    ledger.post_payment(payment)
    for invoice, part in requested:
        allocate(payment, invoice, part, on=received_on, user_id=user_id)
    audit.record("payments.recorded", payment,
                 f"Payment of {amount} {currency} from {customer.name} ({method.label})",
                 user_id=user_id)
    return payment


def _check_settleable(invoice: Document, customer_id: int, currency: str,
                      amount: Decimal) -> None:
    if invoice.customer_id != customer_id:
        raise PaymentError(f"{invoice.title} is another customer's.", "allocations")
    if invoice.kind != K.INVOICE or invoice.status not in SETTLEABLE:
        raise PaymentError(f"{invoice.title} is not an issued invoice to settle.",
                           "allocations")
    if invoice.currency != currency:
        raise PaymentError(f"{invoice.title} is in {invoice.currency}, not {currency}.",
                           "allocations")
    if amount > invoice.open_amount:
        raise PaymentError(f"{invoice.title} has only {invoice.open_amount:.2f}"
                           f" {currency} open.", "allocations")


def allocate(payment: Payment, invoice: Document, amount: Decimal, *,
             on: date | None = None, user_id: int | None = None) -> Allocation:
    """Settle (part of) an invoice from what the payment has not yet allocated."""
    amount = _amount(amount, payment.currency, "allocations")
    if payment.is_reversed or payment.kind != PaymentKind.RECEIVED:
        raise PaymentError("Only a payment received, and not reversed, settles invoices.")
    if amount > unallocated(payment):
        raise PaymentError(f"Only {unallocated(payment)} {payment.currency} of the payment"
                           " is left to allocate.", "allocations")
    _lock(invoice)
    _check_settleable(invoice, payment.customer_id, payment.currency, amount)
    allocation = Allocation(invoice_id=invoice.id, invoice=invoice, payment=payment,
                            amount=amount, allocated_on=on or tenant_today(),
                            created_by_id=user_id)
    db.session.add(allocation)
    db.session.flush()
    _settle(invoice, user_id)
    ledger.post_allocation(allocation)
    return allocation


def apply_credit_note(credit_note: Document, invoice: Document, amount: Decimal, *,
                      on: date | None = None, user_id: int | None = None) -> Allocation:
    """Settle (part of) an invoice with what is left of an issued credit note."""
    if credit_note.kind != K.CREDIT_NOTE or credit_note.number is None:
        raise PaymentError("Only an issued credit note can be applied.", "credit_note_id")
    amount = _amount(amount, credit_note.currency, "amount")
    _lock(credit_note)
    if amount > credit_note_left(credit_note):
        raise PaymentError(f"Only {credit_note_left(credit_note):.2f}"
                           f" {credit_note.currency} of {credit_note.title} is left.",
                           "amount")
    _lock(invoice)
    _check_settleable(invoice, credit_note.customer_id, credit_note.currency, amount)
    allocation = Allocation(invoice_id=invoice.id, invoice=invoice,
                            credit_note_id=credit_note.id, credit_note=credit_note,
                            amount=amount, allocated_on=on or tenant_today(),
                            created_by_id=user_id)
    db.session.add(allocation)
    db.session.flush()
    credit_note.paid_total = (credit_note.paid_total or Decimal(0)) + amount
    _settle(invoice, user_id)
    ledger.post_allocation(allocation)
    audit.record("payments.credit_applied", invoice,
                 f"{credit_note.title}: {amount} {credit_note.currency} applied to"
                 f" {invoice.title}", user_id=user_id)
    return allocation


def refund(customer: Customer, amount: Decimal, paid_on: date, *, currency: str | None = None,
           method: PaymentMethod | str = PaymentMethod.BANK, reference: str = "",
           user_id: int | None = None) -> Payment:
    """Pay back (part of) the customer's credit."""
    currency = currency or customer.currency
    amount = _amount(amount, currency)
    credit = customer_credit(customer.id, currency)
    if amount > credit:
        raise PaymentError(f"{customer.name} has {credit:.2f} {currency} to their credit.",
                           "amount")
    payment = Payment(customer_id=customer.id, customer=customer, kind=PaymentKind.REFUND,
                      received_on=paid_on, amount=amount, currency=currency,
                      method=PaymentMethod(method), reference=reference.strip()[:140],
                      created_by_id=user_id)
    db.session.add(payment)
    db.session.flush()
    ledger.post_payment(payment)
    audit.record("payments.refunded", payment,
                 f"Refund of {amount} {currency} to {customer.name}", user_id=user_id)
    return payment


# --- undoing -----------------------------------------------------------------------------


def reverse_allocation(allocation: Allocation, *, user_id: int | None = None) -> None:
    """Undo one allocation: the invoice is open again by that much."""
    if allocation.reversed_at is not None:
        raise PaymentError("That allocation is reversed already.")
    invoice = allocation.invoice
    _lock(invoice)
    allocation.reversed_at = clock.now()
    if allocation.credit_note is not None:
        allocation.credit_note.paid_total -= allocation.amount
    db.session.flush()
    _settle(invoice, user_id)
    ledger.reverse_allocation(allocation)


def reverse_payment(payment: Payment, *, user_id: int | None = None) -> None:
    """Undo a payment and every allocation of it; its bank line waits for staff again."""
    if payment.is_reversed:
        raise PaymentError("That payment is reversed already.")
    for allocation in payment.allocations:
        if allocation.reversed_at is None:
            reverse_allocation(allocation, user_id=user_id)
    payment.reversed_at, payment.reversed_by_id = clock.now(), user_id
    ledger.reverse_payment(payment)
    if payment.bank_line_id is not None:
        line = db.session.get(BankLine, payment.bank_line_id)
        line.status, line.matched_automatically = BankLineStatus.UNMATCHED, False
        payment.bank_line_id = None  # the line may be booked again
    audit.record("payments.reversed", payment,
                 f"Payment of {payment.amount} {payment.currency} reversed", user_id=user_id)


# --- the invoice's side ------------------------------------------------------------------


def _lock(document: Document) -> None:
    """Lock the document's row for the rest of the transaction (two payments at once)."""
    db.session.execute(select(Document.id).where(Document.id == document.id)
                       .with_for_update())
    db.session.refresh(document, ["paid_total", "status"])


def _settle(invoice: Document, user_id: int | None) -> None:
    """The invoice's paid total from its live allocations, and its status from that."""
    paid = db.session.scalar(select(func.coalesce(func.sum(Allocation.amount), 0)).where(
        Allocation.invoice_id == invoice.id, Allocation.reversed_at.is_(None)))
    invoice.paid_total = Decimal(paid)
    if invoice.status == S.CREDITED:
        return
    target = (S.PAID if invoice.paid_total >= invoice.gross_total
              else S.PARTLY_PAID if invoice.paid_total > 0 else S.ISSUED)
    if target != invoice.status:
        move(invoice, target, user_id=user_id)
