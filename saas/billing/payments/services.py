"""Payments: record money received or refunded, settle invoices with it, undo.

Every change here keeps three things together, in the caller's transaction: the
allocations, each settled document's ``paid_total`` and status (issued → partly paid →
paid, and back when undone), and the journal (``ledger``). Nothing is deleted: a payment
or an allocation is reversed, and the journal gets the reversing entry.

What a customer has paid and not allocated is their credit (``customer_credit``): it can
be allocated to invoices later, or refunded (a ``refund`` payment, which takes it out).
An issued credit note settles invoices the same way (``apply_credit_note``); issuing one
applies it to the invoice it corrects as far as that invoice is open (``book_issued``).

A credit note's totals are negative, and so is its ``paid_total``: what is applied of it,
counted towards zero, so that ``open_amount`` (gross less paid) is what is left of it,
negative, and the customer's receivables are the sum of the open amounts of their issued
invoices and credit notes.

Rows are locked in one order, so that two requests never wait for each other: the
customer (whose credit a change uses), the payment, the credit note, the invoices by id.
Every check runs before anything is written; the caller rolls back on a refusal.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal

from sqlalchemy import case, func, select

from saas import clock
from saas.billing.customers.models import Customer
from saas.billing.documents.models import Document
from saas.billing.documents.services import move
from saas.billing.documents.states import DocumentKind as K
from saas.billing.documents.states import DocumentStatus as S
from saas.billing.money import as_decimal, check_currency, quantize_money
from saas.billing.payments import ledger, settlement
from saas.billing.payments.models import (
    Allocation,
    BankLine,
    BankLineStatus,
    Payment,
    PaymentKind,
    PaymentMethod,
)
from saas.extensions import db
from saas.tenants import audit, scoping
from saas.tenants.access import tenant_today_of
from saas.tenants.services import ServiceError

ZERO = Decimal(0)
SETTLEABLE = (S.ISSUED, S.PARTLY_PAID, S.PAID)
# A credit note also settles the invoice it credits, which is "credited" by then.
SETTLEABLE_BY_CREDIT_NOTE = (*SETTLEABLE, S.CREDITED)


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


def _method(method: PaymentMethod | str) -> PaymentMethod:
    try:
        return PaymentMethod(method)
    except ValueError:
        raise PaymentError(f"{method!r} is not a payment method.", "method") from None


def _currency(currency: str) -> str:
    try:
        return check_currency(currency)
    except (TypeError, ValueError) as exc:
        raise PaymentError(str(exc), "currency") from None


def today() -> date:
    """Today where the current tenant is (the clock tests freeze)."""
    return tenant_today_of(scoping.require_tenant_id())


# --- reading -----------------------------------------------------------------------------


def allocated(payment: Payment) -> Decimal:
    """What of the payment settles invoices (live allocations)."""
    return sum((a.amount for a in payment.allocations if a.reversed_at is None), ZERO)


def unallocated(payment: Payment) -> Decimal:
    """What of a payment received is the customer's credit (nothing of a refund)."""
    if payment.is_reversed or payment.kind != PaymentKind.RECEIVED:
        return ZERO
    return payment.amount - allocated(payment)


def left_to_allocate(payment: Payment) -> Decimal:
    """What of the payment may still settle invoices: its unallocated part, as far as the
    customer's credit still has it (a refund takes from the credit, not from a payment)."""
    left = unallocated(payment)
    if left <= 0:
        return ZERO
    return max(min(left, customer_credit(payment.customer_id, payment.currency)), ZERO)


def customer_credit(customer_id: int, currency: str) -> Decimal:
    """Paid and not allocated, less refunds: what the customer has to their credit."""
    live = (Payment.customer_id == customer_id, Payment.currency == currency,
            Payment.reversed_at.is_(None))
    signed = case((Payment.kind == PaymentKind.REFUND, -Payment.amount), else_=Payment.amount)
    paid = db.session.scalar(select(func.coalesce(func.sum(signed), 0)).where(*live))
    used = db.session.scalar(
        select(func.coalesce(func.sum(Allocation.amount), 0))
        .join(Payment, Payment.id == Allocation.payment_id)
        .where(*live, Allocation.reversed_at.is_(None)))
    return Decimal(paid) - Decimal(used)


def credit_note_left(credit_note: Document) -> Decimal:
    """What of an issued credit note is not yet applied to invoices (positive)."""
    return -credit_note.open_amount


def open_invoices(customer_id: int, currency: str) -> list[Document]:
    """The customer's issued invoices in the currency with something open, oldest due first."""
    return list(db.session.scalars(
        select(Document).where(
            Document.customer_id == customer_id, Document.currency == currency,
            Document.kind == K.INVOICE, Document.status.in_(SETTLEABLE),
            Document.gross_total > Document.paid_total)
        .order_by(Document.due_date, Document.id)))


def allocations_of(document: Document) -> list[Allocation]:
    """Every allocation settling the invoice, or made from the credit note, oldest first."""
    column = (Allocation.credit_note_id if document.kind == K.CREDIT_NOTE
              else Allocation.invoice_id)
    return list(db.session.scalars(select(Allocation).where(column == document.id)
                                   .order_by(Allocation.id)))


# --- recording ---------------------------------------------------------------------------


def _merged(parts: Iterable[tuple[Document, Decimal]], currency: str,
            ) -> list[tuple[Document, Decimal]]:
    """The parts checked as amounts, one per invoice (summed), in the order rows are locked."""
    merged: dict[int, tuple[Document, Decimal]] = {}
    for invoice, part in parts:
        amount = _amount(part, currency, "allocations")
        if invoice.id in merged:
            amount += merged[invoice.id][1]
        merged[invoice.id] = (invoice, amount)
    return [merged[key] for key in sorted(merged)]


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
    currency = _currency(currency or customer.currency)
    amount = _amount(amount, currency)
    method = _method(method)
    if received_on is None:
        raise PaymentError("Give the day the money was received.", "received_on")
    if bank_line is not None and bank_line.status == BankLineStatus.MATCHED:
        raise PaymentError("That bank line is booked already.")
    requested = _merged(allocations, currency)
    if sum((part for _, part in requested), ZERO) > amount:
        raise PaymentError(f"The allocations add up to more than the {amount} {currency}"
                           " received.", "allocations")
    _lock_customer(customer.id)
    for invoice, part in requested:
        _lock(invoice)
        _check_settleable(invoice, customer.id, currency, part)
    payment = Payment(customer_id=customer.id, customer=customer,
                      kind=PaymentKind.RECEIVED, received_on=received_on, amount=amount,
                      currency=currency, method=method, reference=reference.strip()[:140],
                      note=note.strip(), bank_line_id=bank_line.id if bank_line else None,
                      created_by_id=user_id)
    db.session.add(payment)
    db.session.flush()
    if bank_line is not None:
        bank_line.status = BankLineStatus.MATCHED
    for invoice, part in requested:
        _allocate(payment, invoice, part, received_on, user_id, post=False)
    # One entry, the receipt, for the money and what it settles (ledger.receipt_postings).
    ledger.post_payment(payment, sum((part for _, part in requested), ZERO))
    audit.record("payments.recorded", payment,
                 f"Payment of {amount} {currency} from {customer.name} ({method.label})",
                 user_id=user_id)
    return payment


def record_prepayment(proforma: Document, amount: Decimal, received_on: date, *,
                      method: PaymentMethod | str = PaymentMethod.BANK, reference: str = "",
                      user_id: int | None = None) -> Payment:
    """A proforma paid (R3.7): the money is the customer's credit until the final invoice
    is made from the proforma (``settle_from_credit``); the proforma is then paid."""
    if proforma.kind != K.PROFORMA or proforma.status != S.ISSUED:
        raise PaymentError("Only an issued proforma invoice that is not paid yet takes a"
                           " prepayment.")
    amount = _amount(amount, proforma.currency)
    if amount < proforma.gross_total:
        raise PaymentError(
            f"A proforma is paid in full: {proforma.gross_total:.2f} {proforma.currency}."
            " Record a part as a payment on account from the customer's page.", "amount")
    payment = record_payment(proforma.customer, amount, received_on, method=method,
                             currency=proforma.currency, reference=reference,
                             note=f"Prepayment of {proforma.title}", user_id=user_id)
    move(proforma, S.PAID, user_id=user_id)
    return payment


def _check_settleable(invoice: Document, customer_id: int, currency: str,
                      amount: Decimal, statuses: tuple[S, ...] = SETTLEABLE) -> None:
    if invoice.customer_id != customer_id:
        raise PaymentError(f"{invoice.title} is another customer's.", "allocations")
    if invoice.kind != K.INVOICE or invoice.status not in statuses:
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
    return allocate_all(payment, [(invoice, amount)], on=on, user_id=user_id)[0]


def allocate_all(payment: Payment, parts: Sequence[tuple[Document, Decimal]], *,
                 on: date | None = None, user_id: int | None = None) -> list[Allocation]:
    """Settle several invoices from what the payment has not yet allocated; all or none."""
    requested = _merged(parts, payment.currency)
    if not requested:
        raise PaymentError("Give an amount for at least one invoice.", "allocations")
    _lock_customer(payment.customer_id)
    _lock_payment(payment)
    if payment.is_reversed or payment.kind != PaymentKind.RECEIVED:
        raise PaymentError("Only a payment received, and not reversed, settles invoices.")
    total, left = sum((part for _, part in requested), ZERO), left_to_allocate(payment)
    if total > left:
        raise PaymentError(f"Only {left:.2f} {payment.currency} of the payment is left to"
                           f" allocate, not {total:.2f}.", "allocations")
    for invoice, part in requested:
        _lock(invoice)
        _check_settleable(invoice, payment.customer_id, payment.currency, part)
    return [_allocate(payment, invoice, part, on or today(), user_id)
            for invoice, part in requested]


def _allocate(payment: Payment, invoice: Document, amount: Decimal, on: date,
              user_id: int | None, *, post: bool = True) -> Allocation:
    """``post``: the allocation's own entry (not when the payment's receipt carries it)."""
    allocation = Allocation(invoice_id=invoice.id, invoice=invoice, payment=payment,
                            amount=amount, allocated_on=on, created_by_id=user_id)
    db.session.add(allocation)
    db.session.flush()
    _settle(invoice, user_id)
    if post:
        ledger.post_allocation(allocation)
    return allocation


def settle_from_credit(invoice: Document, *, on: date | None = None,
                       user_id: int | None = None) -> list[Allocation]:
    """Settle the invoice from the customer's credit, oldest payments first, as far as it
    goes (the final invoice of a paid proforma)."""
    _lock_customer(invoice.customer_id)
    payments = db.session.scalars(
        select(Payment).where(Payment.customer_id == invoice.customer_id,
                              Payment.currency == invoice.currency,
                              Payment.kind == PaymentKind.RECEIVED,
                              Payment.reversed_at.is_(None))
        .order_by(Payment.received_on, Payment.id).with_for_update()).all()
    _lock(invoice)
    credit = customer_credit(invoice.customer_id, invoice.currency)
    made = []
    for payment in payments:
        part = min(unallocated(payment), invoice.open_amount, credit)
        if part > 0 and invoice.status in SETTLEABLE:
            made.append(_allocate(payment, invoice, part, on or today(), user_id))
            credit -= part
    return made


def apply_credit_note(credit_note: Document, invoice: Document, amount: Decimal, *,
                      on: date | None = None, user_id: int | None = None) -> Allocation:
    """Settle (part of) an invoice with what is left of an issued credit note."""
    return apply_credit_note_all(credit_note, [(invoice, amount)], on=on,
                                 user_id=user_id)[0]


def apply_credit_note_all(credit_note: Document, parts: Sequence[tuple[Document, Decimal]],
                          *, on: date | None = None,
                          user_id: int | None = None) -> list[Allocation]:
    """Settle several invoices with what is left of an issued credit note; all or none."""
    if credit_note.kind != K.CREDIT_NOTE or credit_note.number is None:
        raise PaymentError("Only an issued credit note can be applied.", "credit_note_id")
    requested = _merged(parts, credit_note.currency)
    if not requested:
        raise PaymentError("Give an amount for at least one invoice.", "allocations")
    _lock(credit_note)
    total, left = sum((part for _, part in requested), ZERO), credit_note_left(credit_note)
    if total > left:
        raise PaymentError(f"Only {left:.2f} {credit_note.currency} of {credit_note.title}"
                           f" is left to apply, not {total:.2f}.", "allocations")
    for invoice, part in requested:
        _lock(invoice)
        _check_settleable(invoice, credit_note.customer_id, credit_note.currency, part,
                          SETTLEABLE_BY_CREDIT_NOTE)
    made = []
    for invoice, part in requested:
        allocation = Allocation(invoice_id=invoice.id, invoice=invoice,
                                credit_note_id=credit_note.id, credit_note=credit_note,
                                amount=part, allocated_on=on or today(),
                                created_by_id=user_id)
        db.session.add(allocation)
        credit_note.paid_total -= part  # towards zero: see the top
        db.session.flush()
        _settle(invoice, user_id)
        audit.record("payments.credit_applied", invoice,
                     f"{credit_note.title}: {part} {credit_note.currency} applied to"
                     f" {invoice.title}", user_id=user_id)
        made.append(allocation)
    return made


def book_issued(document: Document, user_id: int | None = None) -> None:
    """Post an issued invoice or credit note; a credit note settles the invoice it credits
    as far as that is open (what is left of it is the customer's to apply elsewhere)."""
    ledger.post_document(document)
    source = document.source
    if document.kind != K.CREDIT_NOTE or source is None or source.kind != K.INVOICE:
        return
    db.session.flush()
    _lock(source)
    part = min(credit_note_left(document), source.open_amount)
    if part > 0 and source.status in SETTLEABLE_BY_CREDIT_NOTE:
        apply_credit_note(document, source, part, on=document.issue_date, user_id=user_id)


def refund(customer: Customer, amount: Decimal, paid_on: date, *, currency: str | None = None,
           method: PaymentMethod | str = PaymentMethod.BANK, reference: str = "",
           user_id: int | None = None) -> Payment:
    """Pay back (part of) the customer's credit."""
    currency = _currency(currency or customer.currency)
    amount = _amount(amount, currency)
    method = _method(method)
    if paid_on is None:
        raise PaymentError("Give the day the money was paid back.", "received_on")
    _lock_customer(customer.id)
    credit = customer_credit(customer.id, currency)
    if amount > credit:
        raise PaymentError(f"{customer.name} has only {credit:.2f} {currency} to their"
                           " credit.", "amount")
    payment = Payment(customer_id=customer.id, customer=customer, kind=PaymentKind.REFUND,
                      received_on=paid_on, amount=amount, currency=currency,
                      method=method, reference=reference.strip()[:140],
                      created_by_id=user_id)
    db.session.add(payment)
    db.session.flush()
    ledger.post_payment(payment)
    audit.record("payments.refunded", payment,
                 f"Refund of {amount} {currency} to {customer.name}", user_id=user_id)
    return payment


# --- undoing -----------------------------------------------------------------------------


def reverse_allocation(allocation: Allocation, *, on: date | None = None,
                       user_id: int | None = None) -> None:
    """Undo one allocation: the invoice is open again by that much (and the payment's
    credit, or what is left of the credit note, is back)."""
    if allocation.credit_note is not None:
        _lock(allocation.credit_note)
    invoice = allocation.invoice
    _lock(invoice)
    db.session.execute(select(Allocation.id).where(Allocation.id == allocation.id)
                       .with_for_update())
    db.session.refresh(allocation, ["reversed_at"])
    if allocation.reversed_at is not None:
        raise PaymentError("That allocation is reversed already.")
    allocation.reversed_at = clock.now()
    if allocation.credit_note is not None:
        allocation.credit_note.paid_total += allocation.amount
    db.session.flush()
    _settle(invoice, user_id)
    ledger.reverse_allocation(allocation, on or today())
    source = allocation.credit_note.title if allocation.credit_note else "payment"
    audit.record("payments.allocation_reversed", invoice,
                 f"{allocation.amount} {invoice.currency} from {source} no longer settles"
                 f" {invoice.title}", user_id=user_id)


def reverse_payment(payment: Payment, *, on: date | None = None,
                    user_id: int | None = None) -> None:
    """Undo a payment and every allocation of it; its bank line waits for staff again.

    A payment whose credit was refunded meanwhile cannot be undone before the refund is:
    the customer's credit would go below zero.
    """
    _lock_customer(payment.customer_id)
    _lock_payment(payment)
    if payment.is_reversed:
        raise PaymentError("That payment is reversed already.")
    if payment.kind == PaymentKind.RECEIVED:
        credit = customer_credit(payment.customer_id, payment.currency)
        if unallocated(payment) > credit:
            raise PaymentError(
                f"Only {credit:.2f} {payment.currency} of this payment's credit is left: the"
                " rest was refunded. Reverse the refund first.")
    on = on or today()
    for allocation in payment.allocations:
        if allocation.reversed_at is None:
            reverse_allocation(allocation, on=on, user_id=user_id)
    payment.reversed_at, payment.reversed_by_id = clock.now(), user_id
    ledger.reverse_payment(payment, on)
    if payment.bank_line_id is not None:
        line = db.session.get(BankLine, payment.bank_line_id)
        line.status, line.matched_automatically = BankLineStatus.UNMATCHED, False
        payment.bank_line_id = None  # the line may be booked again
    what = "Payment" if payment.kind == PaymentKind.RECEIVED else "Refund"
    audit.record("payments.reversed", payment,
                 f"{what} of {payment.amount} {payment.currency} reversed", user_id=user_id)


# --- locks and the invoice's side --------------------------------------------------------


def _lock_customer(customer_id: int) -> None:
    """Lock the customer's row: changes to one customer's credit wait for each other."""
    db.session.execute(select(Customer.id).where(Customer.id == customer_id)
                       .with_for_update())


def _lock_payment(payment: Payment) -> None:
    db.session.execute(select(Payment.id).where(Payment.id == payment.id).with_for_update())
    db.session.refresh(payment, ["reversed_at", "allocations"])


def _lock(document: Document) -> None:
    """Lock the document's row for the rest of the transaction (two payments at once)."""
    db.session.execute(select(Document.id).where(Document.id == document.id)
                       .with_for_update())
    db.session.refresh(document, ["paid_total", "status"])


def _settle(invoice: Document, user_id: int | None) -> None:
    """The invoice's paid total from its live allocations, and its status from that.

    Paid when nothing is open; partly paid while money settles part of it; issued while
    only credit notes do (a credit note corrects an invoice, it does not pay it).
    """
    paid, by_payments = db.session.execute(
        select(func.coalesce(func.sum(Allocation.amount), 0),
               func.coalesce(func.sum(case((Allocation.payment_id.is_not(None),
                                            Allocation.amount), else_=0)), 0))
        .where(Allocation.invoice_id == invoice.id, Allocation.reversed_at.is_(None))).one()
    invoice.paid_total = Decimal(paid)
    if invoice.status == S.CREDITED:
        return
    target = (S.PAID if invoice.paid_total >= invoice.gross_total
              else S.PARTLY_PAID if by_payments > 0 else S.ISSUED)
    if target != invoice.status:
        move(invoice, target, user_id=user_id, by_payments=True)
    settlement.changed({invoice.customer_id})
