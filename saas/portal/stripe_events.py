"""What Stripe's webhook events do, once each, and again when doing it failed.

The webhook (``stripe_webhook.py``) verifies an event and stores it once
(``StripeEvent``, the event id unique); a job processes it:

- ``checkout.session.completed`` (paid) and ``payment_intent.succeeded`` record the
  payment and allocate it (``stripe_payments.record_checkout_payment``), once by its
  payment intent, whichever comes first.
- ``charge.refunded`` records what Stripe refunded of a payment (``refunds.py``).
- ``payment_intent.payment_failed`` and ``checkout.session.async_payment_failed`` are
  failed attempts: staff see them on the events page, the customer on the portal.
  ``checkout.session.expired`` is a checkout left unpaid (staff only).

Processing that raises is rolled back and recorded on the event (``failed``, attempts,
the error); ``retry_due_events`` (every ten minutes from ``saas.cron``, ``flask portal
retry-events``, the Retry button) tries it again after STRIPE_EVENT_RETRY_MINUTES, and
gives up after the last interval until someone presses Retry. Events stored but never
processed (a lost job) are picked up by the same sweep.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from flask import current_app
from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError

from saas import clock
from saas.billing.customers.models import Customer
from saas.extensions import db
from saas.portal import refunds, stripe_payments
from saas.portal.models import EventStatus, StripeEvent
from saas.queue import enqueue, job
from saas.tenants import scoping
from saas.tenants.services import tenants_and_zones

log = logging.getLogger(__name__)

PAID_EVENT = "checkout.session.completed"
INTENT_EVENT = "payment_intent.succeeded"
REFUND_EVENT = "charge.refunded"
INTENT_FAILED = "payment_intent.payment_failed"
ASYNC_FAILED = "checkout.session.async_payment_failed"
EXPIRED = "checkout.session.expired"
# What the customer is told about on the portal: money that was tried and did not come.
FAILURE_EVENTS = (INTENT_FAILED, ASYNC_FAILED)
SUCCESS_EVENTS = (PAID_EVENT, INTENT_EVENT, "checkout.session.async_payment_succeeded")
# A stored event whose job has not run after this long is taken to be lost.
LOST_AFTER = timedelta(minutes=15)
# How long the portal tells a customer that their last payment failed.
FAILURE_SHOWN = timedelta(days=14)


def tenant_of(event: dict) -> int | None:
    """The tenant an event is for, from the metadata our sessions carry."""
    obj = (event.get("data") or {}).get("object") or {}
    value = (obj.get("metadata") or {}).get("tenant_id")
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def store_event(event: dict) -> StripeEvent | None:
    """Keep a verified event once (in the current tenant) and ask for it to be processed.

    None when it was stored before: a redelivery.
    """
    event_id = str(event["id"])
    if db.session.scalar(select(StripeEvent.id).where(StripeEvent.event_id == event_id)):
        return None
    row = StripeEvent(event_id=event_id, type=str(event.get("type", ""))[:100], payload=event)
    try:
        with db.session.begin_nested():
            db.session.add(row)
    except IntegrityError:  # the same event, stored by a request running at the same time
        return None
    enqueue(
        process_stripe_event, row.id, tenant_id=row.tenant_id, job_id=f"stripe-event-{event_id}"
    )
    return row


@job
def process_stripe_event(event_row_id: int) -> None:
    row = db.session.get(StripeEvent, event_row_id, with_for_update=True)
    if row is not None and row.status != EventStatus.PROCESSED:
        process(row)


def process(row: StripeEvent) -> None:
    """Act on a stored event once; a failure is recorded and scheduled to be retried."""
    row.attempts += 1
    try:
        with db.session.begin_nested():
            outcome, customer_id = handle_event(row)
    except Exception as exc:  # recorded on the event, shown to staff, retried
        log.exception("processing Stripe event %s failed", row.event_id)
        intervals = current_app.config["STRIPE_EVENT_RETRY_MINUTES"]
        row.status = EventStatus.FAILED
        row.last_error = f"{type(exc).__name__}: {exc}"[:500]
        row.next_attempt_at = (
            clock.now() + timedelta(minutes=intervals[row.attempts - 1])
            if row.attempts <= len(intervals)
            else None
        )
        return
    row.status, row.outcome = EventStatus.PROCESSED, outcome[:300]
    row.processed_at, row.next_attempt_at = clock.now(), None
    row.customer_id = customer_id if customer_id is not None else row.customer_id


def _customer_of(obj: dict) -> int | None:
    """Our customer an object's metadata names, if it is one of the current tenant's."""
    value = (obj.get("metadata") or {}).get("customer_id")
    if value is None or not str(value).isdigit():
        return None
    return db.session.scalar(select(Customer.id).where(Customer.id == int(value)))


def handle_event(row: StripeEvent) -> tuple[str, int | None]:
    """Act on one stored event: what was done, and the customer it was about."""
    obj = row.payload["data"]["object"]
    if row.type == REFUND_EVENT:
        return refunds.record_charge_refunds(obj)
    customer_id = _customer_of(obj)
    if row.type == INTENT_EVENT:
        # Our sessions give their payment intents the same metadata; whichever of the two
        # events comes first records the payment, under the payment intent's id.
        if obj.get("status") != "succeeded":
            return f"ignored: payment intent {obj.get('status')}", customer_id
        return stripe_payments.record_checkout_payment(
            {
                "id": obj["id"],
                "payment_intent": obj["id"],
                "metadata": obj.get("metadata"),
                "amount_total": obj.get("amount_received") or obj["amount"],
                "currency": obj["currency"],
            },
            row.tenant_id,
        ), customer_id
    if row.type == PAID_EVENT:
        if obj.get("payment_status") != "paid":
            return f"ignored: payment status {obj.get('payment_status')}", customer_id
        return stripe_payments.record_checkout_payment(obj, row.tenant_id), customer_id
    if row.type == INTENT_FAILED:
        error = obj.get("last_payment_error") or {}
        reason = error.get("message") or error.get("code") or "declined"
        return f"payment failed: {reason}", customer_id
    if row.type == ASYNC_FAILED:
        return "payment failed: the bank payment did not go through", customer_id
    if row.type == EXPIRED:
        return "checkout expired unpaid", customer_id
    return f"ignored: {row.type}", customer_id


# --- trying again ---------------------------------------------------------------------------


def due_events(now, *, every_failed: bool = False) -> list[StripeEvent]:
    """The current tenant's events to process again: failed ones whose time has come (or
    every failed one), and ones whose job seems lost."""
    failed = StripeEvent.status == EventStatus.FAILED
    if not every_failed:
        failed = and_(failed, StripeEvent.next_attempt_at <= now)
    lost = and_(
        StripeEvent.status == EventStatus.RECEIVED, StripeEvent.received_at <= now - LOST_AFTER
    )
    return list(
        db.session.scalars(select(StripeEvent).where(or_(failed, lost)).order_by(StripeEvent.id))
    )


@dataclass(frozen=True)
class Retried:
    tenant_id: int
    event_id: str
    type: str
    status: str
    outcome: str


def retry_event(row: StripeEvent) -> Retried:
    """Process one stored event again now (the Retry button)."""
    db.session.refresh(row, with_for_update=True)
    if row.status != EventStatus.PROCESSED:
        process(row)
    return Retried(
        row.tenant_id,
        row.event_id,
        row.type,
        row.status.value,
        row.outcome if row.status == EventStatus.PROCESSED else row.last_error,
    )


def retry_due_events(
    *, every_failed: bool = False, tenant_ids: list[int] | None = None
) -> list[Retried]:
    """Process again every due event, tenant by tenant, one transaction per event."""
    done: list[Retried] = []
    now = clock.now()
    for tenant_id, _ in tenants_and_zones(tenant_ids):
        with scoping.tenant_context(tenant_id):
            ids = [row.id for row in due_events(now, every_failed=every_failed)]
            db.session.commit()
            for row_id in ids:
                with scoping.tenant_context(tenant_id):
                    row = db.session.get(StripeEvent, row_id)
                    done.append(retry_event(row))
                    db.session.commit()
    return done


@job
def retry_stripe_events() -> dict[str, int]:
    """Scheduler job: process again the events whose processing failed (or got lost)."""
    done = retry_due_events()
    return {
        "retried": len(done),
        "processed": sum(1 for r in done if r.status == EventStatus.PROCESSED),
    }


# --- what the customer is told -------------------------------------------------------------


@dataclass(frozen=True)
class FailedPayment:
    at: datetime
    amount: Decimal | None
    currency: str
    reason: str


def latest_failure(customer_id: int, *, within: timedelta = FAILURE_SHOWN) -> FailedPayment | None:
    """The customer's last attempt to pay, if it failed lately and nothing was paid since."""
    row = db.session.scalar(
        select(StripeEvent)
        .where(
            StripeEvent.customer_id == customer_id,
            StripeEvent.status == EventStatus.PROCESSED,
            StripeEvent.type.in_((*FAILURE_EVENTS, *SUCCESS_EVENTS)),
            StripeEvent.received_at >= clock.now() - within,
        )
        .order_by(StripeEvent.received_at.desc(), StripeEvent.id.desc())
        .limit(1)
    )
    if row is None or row.type not in FAILURE_EVENTS:
        return None
    obj = row.payload["data"]["object"]
    currency = str(obj.get("currency") or "").upper()
    units = obj.get("amount") if row.type == INTENT_FAILED else obj.get("amount_total")
    amount = stripe_payments.from_minor_units(units, currency) if units and currency else None
    return FailedPayment(
        at=row.received_at,
        amount=amount,
        currency=currency,
        reason=row.outcome.removeprefix("payment failed: "),
    )
