"""Paying open invoices from the portal with Stripe Checkout, and Stripe's webhooks (R6.1).

The stripe library talks to a local fake Stripe (tests/support/fake_stripe.py); webhook
bodies are real event payloads (tests/samples/stripe/), signed as Stripe signs them.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import secrets
import time
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from saas.billing.documents.models import Document
from saas.billing.documents.states import DocumentKind, DocumentStatus
from saas.billing.payments.models import Payment, PaymentMethod
from saas.extensions import db
from saas.portal import stripe_payments
from saas.portal.models import StripeEvent
from tests.factories import VatRateFactory
from tests.helpers import run_jobs, sent_mails
from tests.integration.test_portal import Shop, _document, in_tenant, make_shop, signed_in
from tests.support.fake_stripe import FakeStripe

SAMPLES = Path(__file__).resolve().parent.parent / "samples" / "stripe"
WEBHOOK_SECRET = "whsec_test_portal"


@pytest.fixture()
def fake_stripe(app, monkeypatch):
    fake = FakeStripe().start()
    monkeypatch.setitem(app.config, "STRIPE_SECRET_KEY", "sk_test_fake")
    monkeypatch.setitem(app.config, "STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET)
    monkeypatch.setitem(app.config, "STRIPE_API_BASE", fake.url)
    yield fake
    fake.stop()


@pytest.fixture()
def shop(db_session) -> Shop:
    return make_shop()


def more_invoices(shop: Shop, prices: tuple[str, ...]) -> list[str]:
    """Further open invoices of customer A; their public ids."""
    with in_tenant(shop):
        customer_id = db.session.get(Document, shop.invoice_a.id).customer_id
        vat_id = VatRateFactory(tenant=shop.tenant).id
        keys = [
            _document(DocumentKind.INVOICE, customer_id, vat_id, price=price).public_id
            for price in prices
        ]
        db.session.commit()
    return keys


def invoice(shop: Shop, public_id: str) -> Document:
    with in_tenant(shop):
        document = db.session.scalar(select(Document).where(Document.public_id == public_id))
        db.session.refresh(document)
        return document


def sign(body: bytes, secret: str = WEBHOOK_SECRET, at: int | None = None) -> str:
    at = int(time.time()) if at is None else at
    mac = hmac.new(secret.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={at},v1={mac}"


def completed_event(
    session: dict,
    *,
    paid: bool = True,
    event_id: str | None = None,
    payment_intent: str | None = "pi_test_1",
) -> bytes:
    """The real checkout.session.completed payload, made to be about this session."""
    event = json.loads((SAMPLES / "checkout.session.completed.json").read_text())
    event = copy.deepcopy(event)
    event["id"] = event_id or f"evt_test_{secrets.token_hex(8)}"
    event["livemode"] = False
    obj = event["data"]["object"]
    obj.update(
        id=session["id"],
        amount_total=session["amount_total"],
        amount_subtotal=session["amount_total"],
        currency=session["currency"],
        metadata=session["metadata"],
        payment_intent=payment_intent,
        livemode=False,
        payment_status="paid" if paid else "unpaid",
    )
    return json.dumps(event).encode()


def deliver(client, body: bytes, signature: str | None = None):
    return client.post(
        "/stripe/webhook",
        data=body,
        content_type="application/json",
        headers={"Stripe-Signature": signature or sign(body)},
    )


def pay(client, shop: Shop, *public_ids: str):
    return client.post(f"/p/{shop.slug}/pay", data={"invoice": list(public_ids)})


def stripe_payments_of(shop: Shop) -> list[Payment]:
    with in_tenant(shop):
        return list(
            db.session.scalars(select(Payment).where(Payment.method == PaymentMethod.STRIPE))
        )


def receipts(outbox) -> list:
    return [m for m in sent_mails(outbox) if "Potwierdzenie płatności" in m["Subject"]]


def test_paying_one_invoice_opens_a_checkout_session_and_the_webhook_settles_it(
    app, shop, client, outbox, fake_stripe
):
    signed_in(app, outbox, client, shop)
    page = client.get(f"/p/{shop.slug}/documents").get_data(as_text=True)
    assert f'name="invoice" value="{shop.invoice_a.public_id}"' in page
    open_amount = invoice(shop, shop.invoice_a.public_id).open_amount
    currency = invoice(shop, shop.invoice_a.public_id).currency

    response = pay(client, shop, shop.invoice_a.public_id)

    assert response.status_code == 303
    [request] = fake_stripe.posted_sessions()
    session = next(iter(fake_stripe.sessions.values()))
    assert response.location == session["url"]
    assert request.headers["idempotency-key"].startswith("portal-pay-")
    assert request.headers["authorization"] == "Bearer sk_test_fake"
    form = request.form
    assert form["mode"] == "payment"
    assert form["line_items[0][price_data][currency]"] == currency.lower()
    assert int(form["line_items[0][price_data][unit_amount]"]) == int(open_amount * 100)
    assert form["metadata[tenant_id]"] == str(shop.tenant.id)
    assert form["metadata[invoice_1]"] == f"{shop.invoice_a.public_id}:{open_amount}"
    assert form["success_url"].endswith(f"/p/{shop.slug}/paid")
    assert form["cancel_url"].endswith(f"/p/{shop.slug}/documents")

    assert deliver(client, completed_event(session)).status_code == 200
    run_jobs(app)

    [payment] = stripe_payments_of(shop)
    assert payment.amount == open_amount and payment.currency == currency
    assert payment.reference == "pi_test_1"
    settled = invoice(shop, shop.invoice_a.public_id)
    assert settled.status == DocumentStatus.PAID and settled.open_amount == 0
    # The customer's invoice contact gets a receipt, in the customer's language (Polish).
    [receipt] = receipts(outbox)
    assert receipt["To"] == "anna@alfa.example"
    assert receipt["Subject"].startswith("Potwierdzenie płatności dla ")
    text = receipt.get_body(("plain",)).get_content()
    assert "Otrzymaliśmy" in text and f"{settled.number}:" in text
    assert f"/p/{shop.slug}/documents" in text and "nadpłata" not in text  # no credit left
    # Back from Stripe, the customer sees it paid.
    client.get(f"/p/{shop.slug}/paid")
    page = client.get(f"/p/{shop.slug}/documents").get_data(as_text=True)
    assert f'value="{shop.invoice_a.public_id}"' not in page  # no longer open
    assert f'id="document-{shop.invoice_a.public_id}"' in page  # with the settled ones


def test_three_invoices_are_paid_at_once(app, shop, client, outbox, fake_stripe):
    keys = [shop.invoice_a.public_id, *more_invoices(shop, ("10.50", "7"))]
    amounts = [invoice(shop, key).open_amount for key in keys]
    signed_in(app, outbox, client, shop)

    assert pay(client, shop, *keys).status_code == 303

    [request] = fake_stripe.posted_sessions()
    assert int(request.form["line_items[0][price_data][unit_amount]"]) == int(sum(amounts) * 100)
    assert request.form["metadata[amount]"] == str(sum(amounts))
    session = next(iter(fake_stripe.sessions.values()))
    assert deliver(client, completed_event(session)).status_code == 200
    run_jobs(app)
    [payment] = stripe_payments_of(shop)
    with in_tenant(shop):
        payment = db.session.get(Payment, payment.id)
        parts = sorted(a.amount for a in payment.allocations)
    assert parts == sorted(amounts) and payment.amount == sum(amounts, Decimal(0))
    assert all(invoice(shop, key).status == DocumentStatus.PAID for key in keys)


def test_each_attempt_has_its_own_idempotency_key(app, shop, client, outbox, fake_stripe):
    signed_in(app, outbox, client, shop)
    pay(client, shop, shop.invoice_a.public_id)
    pay(client, shop, shop.invoice_a.public_id)
    keys = {r.headers["idempotency-key"] for r in fake_stripe.posted_sessions()}
    assert len(keys) == 2


def test_the_same_event_three_times_records_one_payment(app, shop, client, outbox, fake_stripe):
    signed_in(app, outbox, client, shop)
    pay(client, shop, shop.invoice_a.public_id)
    session = next(iter(fake_stripe.sessions.values()))
    body = completed_event(session, event_id="evt_test_thrice")
    for _ in range(3):
        assert deliver(client, body).status_code == 200
        run_jobs(app)
    # Another event about the same payment (a resent session) records nothing either.
    assert deliver(client, completed_event(session)).status_code == 200
    run_jobs(app)

    assert len(stripe_payments_of(shop)) == 1
    assert len(receipts(outbox)) == 1  # one payment, one receipt
    with in_tenant(shop):
        events = db.session.scalar(select(func.count()).select_from(StripeEvent))
    assert events == 2
    assert invoice(shop, shop.invoice_a.public_id).status == DocumentStatus.PAID


def test_a_bad_signature_is_refused_and_nothing_is_recorded(app, shop, client, outbox, fake_stripe):
    signed_in(app, outbox, client, shop)
    pay(client, shop, shop.invoice_a.public_id)
    session = next(iter(fake_stripe.sessions.values()))
    body = completed_event(session)

    assert deliver(client, body, sign(body, secret="whsec_someone_else")).status_code == 400
    assert deliver(client, body, "t=1,v1=00").status_code == 400
    assert deliver(client, body + b" ", sign(body)).status_code == 400  # body changed
    old = int(time.time()) - 3600
    assert deliver(client, body, sign(body, at=old)).status_code == 400  # replayed
    run_jobs(app)

    assert stripe_payments_of(shop) == []
    with in_tenant(shop):
        assert db.session.scalar(select(func.count()).select_from(StripeEvent)) == 0
    assert invoice(shop, shop.invoice_a.public_id).status == DocumentStatus.ISSUED


def test_an_unpaid_session_records_nothing(app, shop, client, outbox, fake_stripe):
    signed_in(app, outbox, client, shop)
    pay(client, shop, shop.invoice_a.public_id)
    session = next(iter(fake_stripe.sessions.values()))
    assert deliver(client, completed_event(session, paid=False)).status_code == 200
    run_jobs(app)
    assert stripe_payments_of(shop) == []


def test_what_is_no_longer_open_becomes_credit(app, shop, client, outbox, fake_stripe):
    """Paid by bank meanwhile: the Stripe money is recorded, as the customer's credit."""
    signed_in(app, outbox, client, shop)
    pay(client, shop, shop.invoice_a.public_id)
    session = next(iter(fake_stripe.sessions.values()))
    from saas.billing.payments import services as payments

    with in_tenant(shop):
        document = db.session.get(Document, shop.invoice_a.id)
        payments.record_payment(
            document.customer,
            document.open_amount,
            document.issue_date,
            allocations=[(document, document.open_amount)],
        )
        db.session.commit()
    deliver(client, completed_event(session))
    run_jobs(app)
    [payment] = stripe_payments_of(shop)
    with in_tenant(shop):
        payment = db.session.get(Payment, payment.id)
        assert payment.allocations == []
        assert payments.customer_credit(payment.customer_id, payment.currency) == payment.amount


def test_paying_refuses_other_customers_invoices_and_nothing_ticked(
    app, shop, client, outbox, fake_stripe
):
    signed_in(app, outbox, client, shop)
    for chosen in ((), (shop.invoice_b.public_id,), (shop.paid_a.public_id,)):
        response = pay(client, shop, *chosen)
        assert response.status_code == 302 and response.location.endswith("/documents")
    assert fake_stripe.posted_sessions() == []


def test_paying_needs_a_signed_in_contact(app, shop, client, fake_stripe):
    response = pay(client, shop, shop.invoice_a.public_id)
    assert response.status_code == 302 and fake_stripe.posted_sessions() == []


def test_without_stripe_configured_there_is_no_pay_button(app, shop, client, outbox):
    signed_in(app, outbox, client, shop)
    page = client.get(f"/p/{shop.slug}/documents").get_data(as_text=True)
    assert 'name="invoice"' not in page


@pytest.mark.parametrize(
    ("amount", "currency", "units"),
    [
        ("12.34", "EUR", 1234),
        ("1500", "JPY", 1500),
        ("1.250", "KWD", 1250),
        ("300", "ISK", 30000),
        ("0.5", "EUR", 50),
    ],
)
def test_amounts_in_stripe_units(amount, currency, units):
    assert stripe_payments.to_minor_units(Decimal(amount), currency) == units
    assert stripe_payments.from_minor_units(units, currency) == Decimal(amount)


def intent_succeeded_event(session: dict, payment_intent: str = "pi_test_1") -> bytes:
    """payment_intent.succeeded for the session's payment (which carries its metadata)."""
    return json.dumps(
        {
            "id": f"evt_test_{secrets.token_hex(8)}",
            "object": "event",
            "type": "payment_intent.succeeded",
            "api_version": "2020-03-02",
            "created": int(time.time()),
            "livemode": False,
            "data": {
                "object": {
                    "id": payment_intent,
                    "object": "payment_intent",
                    "amount": session["amount_total"],
                    "amount_received": session["amount_total"],
                    "currency": session["currency"],
                    "status": "succeeded",
                    "metadata": session["metadata"],
                    "livemode": False,
                }
            },
        }
    ).encode()


def test_payment_intent_succeeded_before_the_session_completes_records_once(
    app, shop, client, outbox, fake_stripe
):
    signed_in(app, outbox, client, shop)
    pay(client, shop, shop.invoice_a.public_id)
    session = next(iter(fake_stripe.sessions.values()))

    assert deliver(client, intent_succeeded_event(session)).status_code == 200
    run_jobs(app)
    assert invoice(shop, shop.invoice_a.public_id).status == DocumentStatus.PAID
    assert deliver(client, completed_event(session)).status_code == 200
    run_jobs(app)

    [payment] = stripe_payments_of(shop)
    assert payment.reference == "pi_test_1"
    with in_tenant(shop):
        outcomes = sorted(db.session.scalars(select(StripeEvent.outcome)))
    assert outcomes[0].startswith("already recorded") and "recorded" in outcomes[1]


def test_the_demo_checkout_page_pays_without_stripe(app, shop, client, outbox, monkeypatch):
    """`make run` has no Stripe key: Pay opens the demo's own checkout page."""
    monkeypatch.setitem(app.config, "STRIPE_DEMO", True)
    signed_in(app, outbox, client, shop)
    response = pay(client, shop, shop.invoice_a.public_id)
    assert response.status_code == 303 and "/demo-checkout/" in response.location
    page = client.get(response.location).get_data(as_text=True)
    assert 'id="demo-checkout"' in page
    forged = response.location[:-3] + "xyz"
    assert client.get(forged).status_code == 404
    assert client.post(forged).status_code == 404

    paid = client.post(response.location)

    assert paid.status_code == 302 and paid.location.endswith(f"/p/{shop.slug}/paid")
    run_jobs(app)
    [payment] = stripe_payments_of(shop)
    assert payment.reference.startswith("pi_demo_")
    assert invoice(shop, shop.invoice_a.public_id).status == DocumentStatus.PAID


def test_a_partial_payment_leaves_the_invoice_partly_paid(app, shop, client, outbox, fake_stripe):
    signed_in(app, outbox, client, shop)
    pay(client, shop, shop.invoice_a.public_id)
    session = dict(next(iter(fake_stripe.sessions.values())))
    session["amount_total"] = 5000  # Stripe took less than asked

    deliver(client, completed_event(session))
    run_jobs(app)

    [payment] = stripe_payments_of(shop)
    assert payment.amount == Decimal("50.00")
    document = invoice(shop, shop.invoice_a.public_id)
    assert document.status == DocumentStatus.PARTLY_PAID
    assert document.open_amount == document.gross_total - Decimal("50.00")


def test_an_event_for_no_tenant_of_ours_is_answered_and_ignored(
    app, shop, client, outbox, fake_stripe
):
    signed_in(app, outbox, client, shop)
    pay(client, shop, shop.invoice_a.public_id)
    session = next(iter(fake_stripe.sessions.values()))
    stranger = {**session, "metadata": {**session["metadata"], "tenant_id": "999999999"}}
    assert deliver(client, completed_event(stranger)).status_code == 200
    without = {**session, "metadata": {}}
    assert deliver(client, completed_event(without)).status_code == 200
    run_jobs(app)
    assert stripe_payments_of(shop) == []
    with in_tenant(shop):
        assert db.session.scalar(select(func.count()).select_from(StripeEvent)) == 0


# --- reconciling: paid sessions whose webhook never came (issue 8) -------------------------


def opened_session(client, shop: Shop, fake_stripe, *public_ids: str) -> dict:
    """Pay for the invoices: the Checkout Session Stripe opened (the newest)."""
    assert pay(client, shop, *public_ids).status_code == 303
    return list(fake_stripe.sessions.values())[-1]


def test_a_paid_session_whose_webhook_never_came_is_recorded_once(
    app, shop, client, outbox, fake_stripe
):
    from saas.portal.reconcile import reconcile_checkouts

    signed_in(app, outbox, client, shop)
    session = opened_session(client, shop, fake_stripe, shop.invoice_a.public_id)
    open_amount = invoice(shop, shop.invoice_a.public_id).open_amount
    fake_stripe.mark_paid(session["id"], payment_intent="pi_test_lost")  # no webhook

    assert reconcile_checkouts() == {"sessions": 1, "paid": 1, "recorded": 1, "failed": 0}
    run_jobs(app)

    [payment] = stripe_payments_of(shop)
    assert payment.amount == open_amount and payment.reference == "pi_test_lost"
    assert invoice(shop, shop.invoice_a.public_id).status == DocumentStatus.PAID
    assert len(receipts(outbox)) == 1
    [listing] = fake_stripe.listings()
    since = int(listing.form["created[gte]"])
    assert abs(time.time() - 48 * 3600 - since) < 60  # STRIPE_RECONCILE_HOURS
    # Again: nothing more is recorded, no second receipt.
    assert reconcile_checkouts() == {"sessions": 1, "paid": 1, "recorded": 0, "failed": 0}
    run_jobs(app)
    assert len(stripe_payments_of(shop)) == 1 and len(receipts(outbox)) == 1


def test_a_session_whose_webhook_came_is_not_recorded_again(app, shop, client, outbox, fake_stripe):
    from saas.portal.reconcile import reconcile_checkouts

    signed_in(app, outbox, client, shop)
    session = opened_session(client, shop, fake_stripe, shop.invoice_a.public_id)
    fake_stripe.mark_paid(session["id"], payment_intent="pi_test_1")
    assert deliver(client, completed_event(session, payment_intent="pi_test_1")).status_code == 200
    run_jobs(app)

    assert reconcile_checkouts()["recorded"] == 0
    run_jobs(app)

    [payment] = stripe_payments_of(shop)
    assert payment.reference == "pi_test_1"
    assert len(receipts(outbox)) == 1


def test_reconciling_skips_unpaid_and_older_sessions_and_reads_every_page(
    app, shop, client, outbox, fake_stripe, monkeypatch
):
    from saas.portal import reconcile

    keys = more_invoices(shop, ("10.50", "7"))
    signed_in(app, outbox, client, shop)
    unpaid = opened_session(client, shop, fake_stripe, shop.invoice_a.public_id)
    old = opened_session(client, shop, fake_stripe, keys[0])
    fake_stripe.mark_paid(old["id"])
    old["created"] -= 49 * 3600  # before the window
    recent = opened_session(client, shop, fake_stripe, keys[1])
    fake_stripe.mark_paid(recent["id"], payment_intent="pi_test_recent")
    stranger = opened_session(client, shop, fake_stripe, shop.invoice_a.public_id)
    fake_stripe.mark_paid(stranger["id"])
    stranger["metadata"] = {**stranger["metadata"], "tenant_id": "999999999"}
    monkeypatch.setattr(reconcile, "PAGE_SIZE", 1)

    with app.app_context():
        result = reconcile.reconcile()
    run_jobs(app)  # the receipt, not left for the next test

    assert (result.sessions, result.paid, len(result.recorded), result.failed) == (3, 1, 1, 0)
    assert unpaid["id"] not in result.recorded[0] and recent["id"] in result.recorded[0]
    [payment] = stripe_payments_of(shop)
    assert payment.reference == "pi_test_recent"
    assert invoice(shop, keys[1]).status == DocumentStatus.PAID
    assert invoice(shop, shop.invoice_a.public_id).status == DocumentStatus.ISSUED
    assert invoice(shop, keys[0]).status == DocumentStatus.ISSUED
    pages = fake_stripe.listings()
    assert len(pages) == 3 and "starting_after" not in pages[0].form
    assert [p.form.get("starting_after") for p in pages[1:]] == [stranger["id"], recent["id"]]
    assert {p.form["limit"] for p in pages} == {"1"}


def test_flask_portal_reconcile_prints_what_it_recorded(app, shop, client, outbox, fake_stripe):
    signed_in(app, outbox, client, shop)
    session = opened_session(client, shop, fake_stripe, shop.invoice_a.public_id)
    fake_stripe.mark_paid(session["id"], payment_intent="pi_test_cli")

    result = app.test_cli_runner().invoke(args=["portal", "reconcile", "--hours", "2"])
    run_jobs(app)  # the receipt, not left for the next test

    assert result.exit_code == 0, result.output
    assert len(receipts(outbox)) == 1
    [payment] = stripe_payments_of(shop)
    assert f"tenant {shop.tenant.id}: payment {payment.id} recorded" in result.output
    assert session["id"] in result.output
    assert "1 sessions, 1 paid: 1 recorded, 0 failed." in result.output
    again = app.test_cli_runner().invoke(args=["portal", "reconcile"])
    assert again.exit_code == 0 and "0 recorded" in again.output


def test_without_stripe_reconciling_does_nothing(app, shop, monkeypatch):
    from saas.portal.reconcile import reconcile_checkouts

    assert reconcile_checkouts() == {"sessions": 0, "paid": 0, "recorded": 0, "failed": 0}
    monkeypatch.setitem(app.config, "STRIPE_DEMO", True)  # the demo has no API to ask
    assert reconcile_checkouts()["sessions"] == 0
    result = app.test_cli_runner().invoke(args=["portal", "reconcile"])
    assert result.exit_code != 0 and "has no Stripe to ask" in result.output


def test_the_scheduler_reconciles_every_hour(app):
    from rq.cron import CronScheduler

    from saas.portal.reconcile import reconcile_checkouts
    from saas.queue import BILLING_QUEUE, redis_connection

    if redis_connection(app) is None:
        pytest.skip("the scheduler needs Redis")
    scheduler = CronScheduler(connection=redis_connection(app))
    scheduler.load_config_from_file("saas.cron")
    jobs = {job.name: job for job in scheduler.get_jobs()}
    reconcile_job = jobs["stripe-reconcile"]
    assert (reconcile_job.queue_name, reconcile_job.cron, reconcile_job.func) == (
        BILLING_QUEUE,
        "35 * * * *",
        reconcile_checkouts,
    )


def test_one_session_failing_does_not_hold_back_the_others(
    app, shop, client, outbox, fake_stripe, monkeypatch
):
    from saas.portal import reconcile

    keys = more_invoices(shop, ("10.50",))
    signed_in(app, outbox, client, shop)
    first = opened_session(client, shop, fake_stripe, shop.invoice_a.public_id)
    fake_stripe.mark_paid(first["id"], payment_intent="pi_test_first")
    second = opened_session(client, shop, fake_stripe, keys[0])
    fake_stripe.mark_paid(second["id"], payment_intent="pi_test_second")
    record = stripe_payments.record_checkout_payment

    def failing_for_the_second(session: dict, tenant_id: int) -> str:
        if session["id"] == second["id"]:
            raise RuntimeError("database hiccup")
        return record(session, tenant_id)

    monkeypatch.setattr(stripe_payments, "record_checkout_payment", failing_for_the_second)
    with app.app_context():
        result = reconcile.reconcile()
    run_jobs(app)

    assert (result.paid, len(result.recorded), result.failed) == (2, 1, 1)
    assert [p.reference for p in stripe_payments_of(shop)] == ["pi_test_first"]
    assert invoice(shop, keys[0]).status == DocumentStatus.ISSUED
    monkeypatch.setattr(stripe_payments, "record_checkout_payment", record)
    with app.app_context():
        assert reconcile.reconcile().recorded[0].endswith(f"({second['id']})")
    run_jobs(app)
    assert sorted(p.reference for p in stripe_payments_of(shop)) == [
        "pi_test_first",
        "pi_test_second",
    ]
