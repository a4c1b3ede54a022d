"""Refunds made on Stripe, recorded in the books (``charge.refunded``).

Stripe says, on the charge, how much of it is refunded *in all* (``amount_refunded``), and
the charge names its payment intent, which is the reference our Stripe payment was recorded
under. What is recorded is that total less the Stripe refunds already recorded for the
payment intent: a partial refund records its part, a second refund the next part, and the
same event delivered again (or an older event arriving after a newer one) records nothing.

How a refund meets the allocations (the rule, decided here):

1. It is taken first from what of the payment is still the customer's credit (its
   unallocated part, as far as the credit still has it).
2. The rest is taken back from the invoices the payment settled, **the newest allocation
   first**: each is reversed (the invoice opens again by that much) and, when only part of
   it is needed, allocated again for what stays paid.
3. Then the refund is posted as a ``refund`` payment (method Stripe, reference the payment
   intent) through ``payments.services.refund``, which books it in the journal: the books
   balance at every step, as the bank and manual refunds do.

A charge whose payment intent has no Stripe payment here (not a portal payment) is ignored.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from saas.billing.payments import services as payments
from saas.billing.payments.models import Payment, PaymentKind, PaymentMethod
from saas.extensions import db
from saas.portal.stripe_payments import from_minor_units
from saas.tenants.access import tenant_today_of
from saas.tenants.scoping import require_tenant_id

ZERO = Decimal(0)


def stripe_payment_of(payment_intent: str) -> Payment | None:
    return db.session.scalar(
        select(Payment).where(
            Payment.kind == PaymentKind.RECEIVED,
            Payment.method == PaymentMethod.STRIPE,
            Payment.reference == payment_intent,
            Payment.reversed_at.is_(None),
        )
    )


def refunded_already(payment: Payment) -> Decimal:
    """What of the payment intent's money is recorded as refunded."""
    return Decimal(
        db.session.scalar(
            select(func.coalesce(func.sum(Payment.amount), 0)).where(
                Payment.customer_id == payment.customer_id,
                Payment.kind == PaymentKind.REFUND,
                Payment.method == PaymentMethod.STRIPE,
                Payment.reference == payment.reference,
                Payment.currency == payment.currency,
                Payment.reversed_at.is_(None),
            )
        )
    )


def make_room(payment: Payment, amount: Decimal) -> None:
    """Free as much of the payment as the refund needs, by the rule above."""
    room = max(
        min(
            payments.unallocated(payment),
            payments.customer_credit(payment.customer_id, payment.currency),
        ),
        ZERO,
    )
    short = amount - room
    live = sorted(
        (a for a in payment.allocations if a.reversed_at is None),
        key=lambda a: (a.allocated_on, a.id),
        reverse=True,
    )
    for allocation in live:
        if short <= 0:
            break
        taken = min(allocation.amount, short)
        invoice, kept = allocation.invoice, allocation.amount - taken
        payments.reverse_allocation(allocation)
        if kept > 0:
            payments.allocate(payment, invoice, kept)
        short -= taken


def record_charge_refunds(charge: dict) -> tuple[str, int | None]:
    """Record what Stripe refunded of a charge and is not recorded yet."""
    payment_intent = charge.get("payment_intent")
    payment = stripe_payment_of(str(payment_intent)) if payment_intent else None
    if payment is None:
        return f"ignored: no Stripe payment for {payment_intent or charge.get('id')}", None
    currency = str(charge["currency"]).upper()
    if currency != payment.currency:
        raise ValueError(f"refund in {currency} of a payment in {payment.currency}")
    refunded = min(from_minor_units(charge.get("amount_refunded") or 0, currency), payment.amount)
    amount = refunded - refunded_already(payment)
    if amount <= 0:
        return f"already recorded: {refunded} {currency} refunded", payment.customer_id
    make_room(payment, amount)
    refund = payments.refund(
        payment.customer,
        amount,
        tenant_today_of(require_tenant_id()),
        currency=currency,
        method=PaymentMethod.STRIPE,
        reference=payment.reference,
    )
    return (
        f"refund {refund.id} of {amount} {currency} recorded (payment {payment.id})",
        payment.customer_id,
    )
