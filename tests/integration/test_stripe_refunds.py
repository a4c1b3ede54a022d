"""Refunds, failed payments and retries of Stripe's events (issue 8).

Refunds come as the real ``charge.refunded`` sample (tests/samples/stripe/), which carries
no metadata: the tenant is traced through its payment intent (read from the fake Stripe),
the payment through its reference. The books must balance after each (tests/books.py).
"""

from __future__ import annotations

import copy
import json
import secrets
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from saas import clock
from saas.billing.documents.models import Document
from saas.billing.documents.states import DocumentStatus
from saas.billing.payments import services as payments
from saas.billing.payments.models import Payment, PaymentKind, PaymentMethod
from saas.extensions import db
from saas.portal import stripe_events, stripe_payments
from saas.portal.links import aware
from saas.portal.models import EventStatus, StripeEvent
from saas.tenants.models import Role
from tests.books import assert_books_balance
from tests.factories import member
from tests.helpers import run_jobs
from tests.integration.test_portal import in_tenant, make_shop, signed_in
from tests.integration.test_stripe import (
    SAMPLES,
    WEBHOOK_SECRET,
    completed_event,
    deliver,
    invoice,
    more_invoices,
    pay,
    stripe_payments_of,
)
from tests.support.fake_stripe import FakeStripe


@pytest.fixture()
def shop(db_session):
    return make_shop()


@pytest.fixture()
def fake_stripe(app, monkeypatch):
    fake = FakeStripe().start()
    monkeypatch.setitem(app.config, "STRIPE_SECRET_KEY", "sk_test_fake")
    monkeypatch.setitem(app.config, "STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET)
    monkeypatch.setitem(app.config, "STRIPE_API_BASE", fake.url)
    yield fake
    fake.stop()


def paid(app, client, outbox, shop, fake_stripe, *public_ids: str, intent: str = "pi_test_r"):
    """The invoices paid in one Checkout Session, recorded by its webhook: the session."""
    signed_in(app, outbox, client, shop)
    assert pay(client, shop, *public_ids).status_code == 303
    session = list(fake_stripe.sessions.values())[-1]
    fake_stripe.mark_paid(session["id"], payment_intent=intent)
    assert deliver(client, completed_event(session, payment_intent=intent)).status_code == 200
    run_jobs(app)
    return session


def refund_event(
    session: dict, refunded_units: int, *, intent: str = "pi_test_r", event_id: str | None = None
) -> bytes:
    """The real charge.refunded payload, about this session's charge (no metadata)."""
    event = copy.deepcopy(json.loads((SAMPLES / "charge.refunded.json").read_text()))
    event["id"] = event_id or f"evt_test_{secrets.token_hex(8)}"
    charge = event["data"]["object"]
    charge.update(
        amount=session["amount_total"],
        amount_captured=session["amount_total"],
        amount_refunded=refunded_units,
        currency=session["currency"],
        payment_intent=intent,
        refunded=refunded_units == session["amount_total"],
        livemode=False,
    )
    assert charge["metadata"] == {}
    return json.dumps(event).encode()


def refunds_of(shop) -> list[Payment]:
    with in_tenant(shop):
        return list(
            db.session.scalars(
                select(Payment).where(Payment.kind == PaymentKind.REFUND).order_by(Payment.id)
            )
        )


def books_balance(shop) -> None:
    with in_tenant(shop):
        assert_books_balance()


def units(amount: Decimal) -> int:
    return int(amount * 100)


# --- refunds --------------------------------------------------------------------------------


def test_a_full_refund_reopens_the_invoice_and_is_recorded_once(
    app, shop, client, outbox, fake_stripe
):
    gross = invoice(shop, shop.invoice_a.public_id).open_amount
    session = paid(app, client, outbox, shop, fake_stripe, shop.invoice_a.public_id)
    assert invoice(shop, shop.invoice_a.public_id).status == DocumentStatus.PAID
    body = refund_event(session, session["amount_total"])

    for _ in range(3):  # the same event, delivered three times
        assert deliver(client, body).status_code == 200
    # and the same refund in another event (Stripe's "refund.updated"-like repeats)
    assert deliver(client, refund_event(session, session["amount_total"])).status_code == 200
    run_jobs(app)

    [refund] = refunds_of(shop)
    assert refund.amount == gross and refund.method == PaymentMethod.STRIPE
    assert refund.reference == "pi_test_r"
    reopened = invoice(shop, shop.invoice_a.public_id)
    assert reopened.status == DocumentStatus.ISSUED and reopened.open_amount == gross
    books_balance(shop)
    with in_tenant(shop):
        outcomes = sorted(
            db.session.scalars(
                select(StripeEvent.outcome).where(StripeEvent.type == "charge.refunded")
            )
        )
    assert len(outcomes) == 2 and outcomes[0].startswith("already recorded")


def test_partial_refunds_take_the_newest_allocation_first_and_add_up(
    app, shop, client, outbox, fake_stripe
):
    first = shop.invoice_a.public_id
    [second] = more_invoices(shop, ("10",))
    first_gross = invoice(shop, first).open_amount
    second_gross = invoice(shop, second).open_amount
    session = paid(app, client, outbox, shop, fake_stripe, first, second)
    part = second_gross - Decimal("2.50")

    deliver(client, refund_event(session, units(part)))
    run_jobs(app)
    assert [r.amount for r in refunds_of(shop)] == [part]
    assert invoice(shop, second).open_amount == part  # the newest allocation gave first
    assert invoice(shop, second).status == DocumentStatus.PARTLY_PAID
    assert invoice(shop, first).status == DocumentStatus.PAID
    books_balance(shop)

    # A second refund: Stripe's total refunded grows; only the difference is recorded.
    total = part + Decimal("5.00")
    deliver(client, refund_event(session, units(total)))
    run_jobs(app)
    assert [r.amount for r in refunds_of(shop)] == [part, Decimal("5.00")]
    assert invoice(shop, second).open_amount == second_gross
    assert invoice(shop, first).open_amount == Decimal("2.50")
    assert invoice(shop, first).status == DocumentStatus.PARTLY_PAID
    assert first_gross - Decimal("2.50") == invoice(shop, first).paid_total
    books_balance(shop)


def test_a_refund_takes_the_payments_credit_first(app, shop, client, outbox, fake_stripe):
    signed_in(app, outbox, client, shop)
    pay(client, shop, shop.invoice_a.public_id)
    session = next(iter(fake_stripe.sessions.values()))
    fake_stripe.mark_paid(session["id"], payment_intent="pi_test_r")
    with in_tenant(shop):  # paid by bank meanwhile: the card money is all credit
        document = db.session.get(Document, shop.invoice_a.id)
        payments.record_payment(
            document.customer,
            document.open_amount,
            document.issue_date,
            allocations=[(document, document.open_amount)],
        )
        db.session.commit()
    deliver(client, completed_event(session, payment_intent="pi_test_r"))
    run_jobs(app)
    [payment] = stripe_payments_of(shop)
    amount, customer_id, currency = payment.amount, payment.customer_id, payment.currency

    deliver(client, refund_event(session, session["amount_total"]))
    run_jobs(app)

    [refund] = refunds_of(shop)
    assert refund.amount == amount
    assert invoice(shop, shop.invoice_a.public_id).status == DocumentStatus.PAID  # untouched
    with in_tenant(shop):
        assert payments.customer_credit(customer_id, currency) == 0
    books_balance(shop)


def test_an_older_refund_event_after_a_newer_one_changes_nothing(
    app, shop, client, outbox, fake_stripe
):
    session = paid(app, client, outbox, shop, fake_stripe, shop.invoice_a.public_id)
    newer = refund_event(session, session["amount_total"])
    older = refund_event(session, session["amount_total"] // 2)

    deliver(client, newer)
    deliver(client, older)
    run_jobs(app)

    assert [units(r.amount) for r in refunds_of(shop)] == [session["amount_total"]]
    books_balance(shop)


def test_a_refund_of_a_charge_that_is_not_ours_is_ignored(app, shop, client, outbox, fake_stripe):
    session = paid(app, client, outbox, shop, fake_stripe, shop.invoice_a.public_id)
    # A payment intent Stripe does not know: no tenant to trace it to, answered 200.
    assert deliver(client, refund_event(session, 100, intent="pi_unknown")).status_code == 200
    run_jobs(app)
    assert refunds_of(shop) == []
    with in_tenant(shop):
        assert (
            db.session.scalar(select(StripeEvent).where(StripeEvent.type == "charge.refunded"))
            is None
        )


# --- failed attempts ----------------------------------------------------------------------


def failed_event(session: dict, kind: str = "payment_intent.payment_failed") -> bytes:
    if kind == "payment_intent.payment_failed":
        obj = {
            "id": "pi_test_failed",
            "object": "payment_intent",
            "amount": session["amount_total"],
            "currency": session["currency"],
            "status": "requires_payment_method",
            "metadata": session["metadata"],
            "last_payment_error": {"code": "card_declined", "message": "Your card was declined."},
        }
    else:  # checkout.session.async_payment_failed / expired
        obj = {
            **session,
            "status": "expired" if kind.endswith("expired") else "complete",
            "payment_status": "unpaid",
        }
    return json.dumps(
        {
            "id": f"evt_test_{secrets.token_hex(8)}",
            "object": "event",
            "type": kind,
            "created": int(time.time()),
            "livemode": False,
            "data": {"object": obj},
        }
    ).encode()


def test_a_failed_payment_is_shown_to_the_customer_and_to_staff(
    app, shop, client, outbox, fake_stripe, make_client
):
    signed_in(app, outbox, client, shop)
    pay(client, shop, shop.invoice_a.public_id)
    session = next(iter(fake_stripe.sessions.values()))

    deliver(client, failed_event(session))
    run_jobs(app)

    page = client.get(f"/p/{shop.slug}/documents").get_data(as_text=True)
    assert 'id="payment-failed"' in page and "Your card was declined." in page
    assert "nie powiodła się" in page  # in the customer's language (Polish)
    staff = make_client(member(shop.tenant, Role.STAFF))
    events = staff.get(f"/t/{shop.slug}/settings/payments/events").get_data(as_text=True)
    assert "payment_intent.payment_failed" in events
    assert "payment failed: Your card was declined." in events
    assert stripe_payments_of(shop) == []
    # Paid after all: the notice goes.
    fake_stripe.mark_paid(session["id"], payment_intent="pi_test_ok")
    deliver(client, completed_event(session, payment_intent="pi_test_ok"))
    run_jobs(app)
    assert 'id="payment-failed"' not in client.get(f"/p/{shop.slug}/documents").text


@pytest.mark.parametrize(
    ("kind", "outcome", "customer_told"),
    [
        ("checkout.session.async_payment_failed", "the bank payment did not go through", True),
        ("checkout.session.expired", "checkout expired unpaid", False),
    ],
)
def test_async_failures_and_expired_checkouts_are_recorded(
    app, shop, client, outbox, fake_stripe, kind, outcome, customer_told
):
    signed_in(app, outbox, client, shop)
    pay(client, shop, shop.invoice_a.public_id)
    session = next(iter(fake_stripe.sessions.values()))
    deliver(client, failed_event(session, kind))
    run_jobs(app)
    with in_tenant(shop):
        event = db.session.scalar(select(StripeEvent))
        assert outcome in event.outcome and event.customer_id is not None
    page = client.get(f"/p/{shop.slug}/documents").get_data(as_text=True)
    assert ('id="payment-failed"' in page) is customer_told


# --- retries --------------------------------------------------------------------------------


def failing_once(monkeypatch):
    """Make recording a payment raise until the returned switch is turned off."""
    state = {"failing": True}
    record = stripe_payments.record_checkout_payment

    def flaky(session: dict, tenant_id: int) -> str:
        if state["failing"]:
            raise RuntimeError("database went away")
        return record(session, tenant_id)

    monkeypatch.setattr(stripe_payments, "record_checkout_payment", flaky)
    return state


def test_a_failed_event_is_recorded_and_retried_when_due(
    app, shop, client, outbox, fake_stripe, monkeypatch
):
    state = failing_once(monkeypatch)
    signed_in(app, outbox, client, shop)
    pay(client, shop, shop.invoice_a.public_id)
    session = next(iter(fake_stripe.sessions.values()))
    deliver(client, completed_event(session))
    run_jobs(app)

    with in_tenant(shop):
        event = db.session.scalar(select(StripeEvent))
        assert (event.status, event.attempts) == (EventStatus.FAILED, 1)
        assert event.last_error == "RuntimeError: database went away"
        wait = aware(event.next_attempt_at) - clock.now()
        assert timedelta(minutes=4) < wait <= timedelta(minutes=5)
    assert stripe_payments_of(shop) == []

    assert stripe_events.retry_due_events() == []  # not due yet
    with clock.frozen(clock.now() + timedelta(minutes=6)):
        [again] = stripe_events.retry_due_events()  # still failing: the next interval
    assert again.status == "failed"
    with in_tenant(shop):
        event = db.session.scalar(select(StripeEvent))
        db.session.refresh(event)
        assert event.attempts == 2
    state["failing"] = False
    with clock.frozen(clock.now() + timedelta(minutes=40)):
        [done] = stripe_events.retry_due_events()
    assert done.status == "processed" and "recorded" in done.outcome
    assert len(stripe_payments_of(shop)) == 1
    run_jobs(app)  # the receipt
    with clock.frozen(clock.now() + timedelta(days=1)):
        assert stripe_events.retry_due_events() == []  # processed: never again


def test_after_the_last_interval_only_a_person_retries(
    app, shop, client, outbox, fake_stripe, monkeypatch, make_client
):
    monkeypatch.setitem(app.config, "STRIPE_EVENT_RETRY_MINUTES", (5,))
    state = failing_once(monkeypatch)
    signed_in(app, outbox, client, shop)
    pay(client, shop, shop.invoice_a.public_id)
    session = next(iter(fake_stripe.sessions.values()))
    deliver(client, completed_event(session))
    run_jobs(app)
    with clock.frozen(clock.now() + timedelta(minutes=6)):
        stripe_events.retry_due_events()
    with in_tenant(shop):
        event = db.session.scalar(select(StripeEvent))
        db.session.refresh(event)
        assert event.attempts == 2 and event.next_attempt_at is None
        event_id = event.id
    with clock.frozen(clock.now() + timedelta(days=2)):
        assert stripe_events.retry_due_events() == []

    viewer = make_client(member(shop.tenant, Role.VIEWER))
    url = f"/t/{shop.slug}/settings/payments/events"
    page = viewer.get(url).get_data(as_text=True)
    assert "RuntimeError: database went away" in page and "Retry" not in page
    assert viewer.post(f"{url}/{event_id}/retry").status_code == 403

    state["failing"] = False
    manager = make_client(member(shop.tenant, Role.ADMIN))
    assert ">Retry</button>" in manager.get(url).get_data(as_text=True)
    response = manager.post(f"{url}/{event_id}/retry")
    assert response.status_code == 302
    assert "processed" in manager.get(url).get_data(as_text=True)
    assert len(stripe_payments_of(shop)) == 1
    run_jobs(app)  # the receipt


def test_flask_portal_retry_events_processes_every_failed_one(
    app, shop, client, outbox, fake_stripe, monkeypatch
):
    state = failing_once(monkeypatch)
    signed_in(app, outbox, client, shop)
    pay(client, shop, shop.invoice_a.public_id)
    session = next(iter(fake_stripe.sessions.values()))
    deliver(client, completed_event(session))
    run_jobs(app)
    runner = app.test_cli_runner()

    result = runner.invoke(args=["portal", "retry-events", "--all-failed"])
    assert result.exit_code == 1 and "1 events retried: 0 processed, 1 failed." in result.output
    state["failing"] = False
    result = runner.invoke(args=["portal", "retry-events", "--all-failed", "--tenant", shop.slug])
    assert result.exit_code == 0, result.output
    assert "processed: payment" in result.output
    assert "1 events retried: 1 processed, 0 failed." in result.output
    assert len(stripe_payments_of(shop)) == 1
    run_jobs(app)  # the receipt


def test_an_event_whose_job_got_lost_is_picked_up(app, shop, client, outbox, fake_stripe):
    signed_in(app, outbox, client, shop)
    pay(client, shop, shop.invoice_a.public_id)
    session = next(iter(fake_stripe.sessions.values()))
    with in_tenant(shop):  # stored, and its job never ran (Redis lost it)
        db.session.add(
            StripeEvent(
                event_id="evt_test_lost",
                type="checkout.session.completed",
                payload=json.loads(completed_event(session)),
            )
        )
        db.session.commit()

    assert stripe_events.retry_due_events() == []  # it may still be on its way
    with clock.frozen(clock.now() + timedelta(minutes=20)):
        [done] = stripe_events.retry_due_events()
    assert done.status == "processed" and len(stripe_payments_of(shop)) == 1
    run_jobs(app)  # the receipt


def test_the_scheduler_retries_events_every_ten_minutes(app):
    from rq.cron import CronScheduler

    from saas.queue import BILLING_QUEUE, redis_connection

    if redis_connection(app) is None:
        pytest.skip("the scheduler needs Redis")
    scheduler = CronScheduler(connection=redis_connection(app))
    scheduler.load_config_from_file("saas.cron")
    job = {job.name: job for job in scheduler.get_jobs()}["stripe-event-retries"]
    assert (job.queue_name, job.cron, job.func) == (
        BILLING_QUEUE,
        "*/10 * * * *",
        stripe_events.retry_stripe_events,
    )
