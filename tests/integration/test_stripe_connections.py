"""Each tenant's own way to take card payments: its own Stripe keys or a Connect account.

The stripe library talks to the local fake Stripe, which keeps each account's sessions
apart (by the Bearer key and the Stripe-Account header); webhook bodies are signed as
Stripe signs them, with the tenant's own secret on the tenant's own endpoint.
"""

from __future__ import annotations

import json

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from saas.billing.documents.states import DocumentStatus
from saas.extensions import db
from saas.portal import stripe_connections
from saas.portal.models import ConnectionKind, StripeConnection, StripeEvent
from saas.tenants.models import AuditEntry, Role
from tests.factories import member
from tests.helpers import errors_in, run_jobs
from tests.integration.test_portal import in_tenant, make_shop, signed_in
from tests.integration.test_stripe import (
    WEBHOOK_SECRET,
    completed_event,
    deliver,
    invoice,
    pay,
    sign,
    stripe_payments_of,
)
from tests.support.fake_stripe import FakeStripe

OWN_KEY = "sk_test_51OwnKeyOfNordlys0000abcd"
OWN_SECRET = "whsec_OwnSigningSecretOfNordlys9xyz"
LIVE_KEY = "sk_live_51LiveKeyOfNordlys0000wxyz"
TEST_MODE_BADGE = 'class="badge badge-warning test-mode"'


@pytest.fixture()
def shop(db_session):
    return make_shop()


@pytest.fixture()
def fake_stripe(app, monkeypatch):
    """The fake Stripe, with no platform key: each tenant brings its own."""
    fake = FakeStripe().start()
    monkeypatch.setitem(app.config, "STRIPE_SECRET_KEY", None)
    monkeypatch.setitem(app.config, "STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET)
    monkeypatch.setitem(app.config, "STRIPE_API_BASE", fake.url)
    monkeypatch.setitem(app.config, "STRIPE_DEMO", False)
    yield fake
    fake.stop()


@pytest.fixture()
def platform(app, fake_stripe, monkeypatch):
    monkeypatch.setitem(app.config, "STRIPE_SECRET_KEY", "sk_test_platform0000000")
    return fake_stripe


@pytest.fixture()
def manager(shop, make_client):
    return make_client(member(shop.tenant, Role.ADMIN, email="admin@nordlys.example"))


def settings_url(shop, path: str = "") -> str:
    return f"/t/{shop.slug}/settings/payments{path}"


def save_keys(manager, shop, key: str = OWN_KEY, secret: str = OWN_SECRET):
    return manager.post(
        settings_url(shop, "/keys"), data={"secret_key": key, "webhook_secret": secret}
    )


def connection_of(shop) -> StripeConnection | None:
    with in_tenant(shop):
        return db.session.scalar(select(StripeConnection))


def deliver_to_tenant(client, shop, body: bytes, secret: str = OWN_SECRET):
    return client.post(
        f"/stripe/webhook/{shop.slug}",
        data=body,
        content_type="application/json",
        headers={"Stripe-Signature": sign(body, secret)},
    )


# --- the settings page ------------------------------------------------------------------------


def test_own_keys_are_stored_encrypted_and_never_shown_again(app, shop, manager, fake_stripe):
    response = save_keys(manager, shop)
    assert response.status_code == 302

    connection = connection_of(shop)
    assert connection.kind == ConnectionKind.OWN_KEYS and not connection.livemode
    assert OWN_KEY not in connection.secret_key_encrypted
    assert OWN_SECRET not in connection.webhook_secret_encrypted
    with app.test_request_context():
        assert stripe_connections.decrypt(connection.secret_key_encrypted) == OWN_KEY
    page = manager.get(settings_url(shop)).get_data(as_text=True)
    assert OWN_KEY not in page and OWN_SECRET not in page
    assert "…abcd" in page and "…9xyz" in page  # the last four only
    assert connection.saved_at.strftime("%Y-%m-%d %H:%M") in page
    assert "Test mode" in page
    assert f"/stripe/webhook/{shop.slug}" in page  # the address to give Stripe
    with in_tenant(shop):
        [entry] = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "payments.stripe_keys_saved")
        ).all()
        assert "abcd" in entry.summary and OWN_KEY not in entry.summary


@pytest.mark.parametrize(
    ("key", "secret", "field", "message"),
    [
        ("pk_test_51OwnKeyOfNordlys0000abcd", OWN_SECRET, "Secret key", "publishable key"),
        ("", OWN_SECRET, "Secret key", "Paste the secret key"),
        ("sk_test_short", OWN_SECRET, "Secret key", "starts with sk_test_ or sk_live_"),
        (OWN_KEY, "", "Webhook signing secret", "Paste the webhook signing secret"),
        (OWN_KEY, "sk_test_notasecret000", "Webhook signing secret", "starts with whsec_"),
    ],
)
def test_bad_keys_are_refused_naming_the_field_and_nothing_is_saved(
    shop, manager, fake_stripe, key, secret, field, message
):
    response = save_keys(manager, shop, key, secret)

    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert field in page and any(message in error for error in errors_in(page))
    assert key not in page or not key  # a pasted key is not sent back
    assert connection_of(shop) is None


def test_keys_are_replaced_and_removed(app, shop, manager, fake_stripe):
    save_keys(manager, shop)
    assert save_keys(manager, shop, LIVE_KEY, OWN_SECRET).status_code == 302
    connection = connection_of(shop)
    assert connection.livemode and connection.secret_key_last4 == "wxyz"
    assert "Test mode" not in manager.get(settings_url(shop)).get_data(as_text=True)

    assert manager.post(settings_url(shop, "/remove")).status_code == 302
    assert connection_of(shop) is None
    page = manager.get(settings_url(shop)).get_data(as_text=True)
    assert "Card payments are off" in page


@pytest.mark.parametrize("role", [Role.STAFF, Role.VIEWER, Role.ACCOUNTANT])
def test_only_managers_change_the_payment_connection(shop, make_client, fake_stripe, role):
    client = make_client(member(shop.tenant, role))
    assert client.get(settings_url(shop)).status_code == 403
    assert save_keys(client, shop).status_code == 403
    assert connection_of(shop) is None


def test_connect_needs_an_account_id_and_the_platforms_key(
    shop, manager, fake_stripe, monkeypatch, app
):
    response = manager.post(settings_url(shop, "/connect"), data={"account_id": "acct_1Ab"})
    assert response.status_code == 422
    assert any("acct_ and letters" in e for e in errors_in(response.get_data(as_text=True)))
    # A well-formed id, but no platform key to reach it with.
    response = manager.post(
        settings_url(shop, "/connect"), data={"account_id": "acct_1NordlysConnect"}
    )
    assert response.status_code == 422 and connection_of(shop) is None
    assert any("Stripe Connect needs" in e for e in errors_in(response.get_data(as_text=True)))
    monkeypatch.setitem(app.config, "STRIPE_SECRET_KEY", "sk_test_platform0000000")
    response = manager.post(
        settings_url(shop, "/connect"), data={"account_id": "acct_1NordlysConnect"}
    )
    assert response.status_code == 302
    assert connection_of(shop).account_id == "acct_1NordlysConnect"


def test_keys_stay_readable_across_a_key_rotation_and_unreadable_keys_say_so(
    app, shop, manager, fake_stripe, monkeypatch
):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    monkeypatch.setitem(app.config, "STRIPE_KEYS_ENCRYPTION_KEY", old)
    save_keys(manager, shop)
    monkeypatch.setitem(app.config, "STRIPE_KEYS_ENCRYPTION_KEY", f"{new},{old}")
    with app.test_request_context(), in_tenant(shop):
        assert stripe_connections.account_of_current_tenant().secret_key == OWN_KEY
    monkeypatch.setitem(app.config, "STRIPE_KEYS_ENCRYPTION_KEY", new)
    page = manager.get(settings_url(shop)).get_data(as_text=True)
    assert "cannot be read" in page


# --- paying through the tenant's own account ----------------------------------------------


def test_checkout_and_webhook_go_through_the_tenants_own_account(
    app, shop, client, outbox, manager, fake_stripe
):
    save_keys(manager, shop)
    signed_in(app, outbox, client, shop)
    page = client.get(f"/p/{shop.slug}/documents").get_data(as_text=True)
    assert TEST_MODE_BADGE in page and "Tryb testowy" in page  # by the pay button, in Polish

    assert pay(client, shop, shop.invoice_a.public_id).status_code == 303
    [request] = fake_stripe.posted_sessions()
    assert request.headers["authorization"] == f"Bearer {OWN_KEY}"
    assert "stripe-account" not in request.headers
    session = next(iter(fake_stripe.sessions.values()))
    body = completed_event(session)

    # The platform's endpoint does not know the tenant's secret: refused, nothing stored.
    assert deliver(client, body, sign(body, OWN_SECRET)).status_code == 400
    # Nor does the tenant's endpoint take the platform's.
    assert deliver_to_tenant(client, shop, body, WEBHOOK_SECRET).status_code == 400
    with in_tenant(shop):
        assert db.session.scalars(select(StripeEvent)).all() == []

    assert deliver_to_tenant(client, shop, body).status_code == 200
    run_jobs(app)
    [payment] = stripe_payments_of(shop)
    assert payment.reference == "pi_test_1"
    assert invoice(shop, shop.invoice_a.public_id).status == DocumentStatus.PAID


def test_a_tenants_endpoint_ignores_events_naming_another_tenant(
    app, shop, client, outbox, manager, fake_stripe
):
    other = make_shop("Fjord Varme AS")
    save_keys(manager, shop)
    signed_in(app, outbox, client, shop)
    pay(client, shop, shop.invoice_a.public_id)
    session = next(iter(fake_stripe.sessions.values()))
    event = json.loads(completed_event(session))
    event["data"]["object"]["metadata"]["tenant_id"] = str(other.tenant.id)
    body = json.dumps(event).encode()

    assert deliver_to_tenant(client, shop, body).status_code == 200
    for each in (shop, other):
        with in_tenant(each):
            assert db.session.scalars(select(StripeEvent)).all() == []


def test_staff_see_test_mode_on_an_invoices_portal_panel(app, shop, manager, fake_stripe):
    save_keys(manager, shop)
    page = manager.get(f"/t/{shop.slug}/documents/{shop.paid_a.id}").get_data(as_text=True)
    assert "your own Stripe account" in page and "Test mode" in page


# --- Connect -------------------------------------------------------------------------------


def test_a_connect_account_gets_the_sessions_and_its_events_count_only_for_its_tenant(
    app, shop, client, outbox, manager, platform
):
    other = make_shop("Fjord Varme AS")
    manager.post(settings_url(shop, "/connect"), data={"account_id": "acct_1NordlysConnect"})
    signed_in(app, outbox, client, shop)
    assert pay(client, shop, shop.invoice_a.public_id).status_code == 303
    [request] = platform.posted_sessions()
    assert request.headers["authorization"] == "Bearer sk_test_platform0000000"
    assert request.headers["stripe-account"] == "acct_1NordlysConnect"
    session = next(iter(platform.sessions.values()))

    # An event from another connected account naming this tenant is not believed.
    stranger = json.loads(completed_event(session))
    stranger["account"] = "acct_1SomeoneElse"
    assert deliver(client, json.dumps(stranger).encode()).status_code == 200
    event = json.loads(completed_event(session))
    event["account"] = "acct_1NordlysConnect"
    assert deliver(client, json.dumps(event).encode()).status_code == 200
    run_jobs(app)

    with in_tenant(shop):
        [stored] = db.session.scalars(select(StripeEvent)).all()
        assert stored.event_id == event["id"]
    assert len(stripe_payments_of(shop)) == 1
    with in_tenant(other):
        assert db.session.scalars(select(StripeEvent)).all() == []


def test_reconciling_reads_every_account_and_each_only_for_its_tenant(
    app, shop, client, outbox, manager, platform
):
    from saas.portal.reconcile import reconcile_checkouts

    save_keys(manager, shop)
    signed_in(app, outbox, client, shop)
    pay(client, shop, shop.invoice_a.public_id)
    session = next(iter(platform.sessions.values()))
    platform.mark_paid(session["id"], payment_intent="pi_test_own_account")

    assert reconcile_checkouts() == {"sessions": 1, "paid": 1, "recorded": 1, "failed": 0}
    listed_with = {r.headers["authorization"] for r in platform.listings()}
    assert listed_with == {"Bearer sk_test_platform0000000", f"Bearer {OWN_KEY}"}
    [payment] = stripe_payments_of(shop)
    assert payment.reference == "pi_test_own_account"
    run_jobs(app)  # the receipt goes now, not into the next test's outbox


def test_the_demo_tenant_shows_its_test_mode_keys_a_declined_card_and_an_expired_checkout(
    app, shop, client, outbox, manager, monkeypatch
):
    from saas.portal.demo import seed_stripe

    monkeypatch.setitem(app.config, "STRIPE_DEMO", True)
    monkeypatch.setitem(app.config, "STRIPE_SECRET_KEY", None)
    seed_stripe(shop.tenant, own_keys=True)
    seed_stripe(shop.tenant, own_keys=True)  # seeding again adds nothing

    page = manager.get(settings_url(shop)).get_data(as_text=True)
    assert "…demo" in page and "Test mode" in page
    events = manager.get(settings_url(shop, "/events")).get_data(as_text=True)
    assert events.count("payment failed: Your card was declined.") == 1
    assert events.count("checkout expired unpaid") == 1
    signed_in(app, outbox, client, shop)
    page = client.get(f"/p/{shop.slug}/documents").get_data(as_text=True)
    assert 'id="payment-failed"' in page and TEST_MODE_BADGE in page
    # The demo checkout stands in for Stripe, even with the tenant's own (demo) keys.
    response = pay(client, shop, shop.invoice_a.public_id)
    assert response.status_code == 303 and "/demo-checkout/" in response.location


def test_a_connect_accounts_refund_is_traced_through_its_payment_intent(
    app, shop, client, outbox, manager, platform
):
    from tests.integration.test_stripe_refunds import refund_event, refunds_of

    manager.post(settings_url(shop, "/connect"), data={"account_id": "acct_1NordlysConnect"})
    signed_in(app, outbox, client, shop)
    pay(client, shop, shop.invoice_a.public_id)
    session = next(iter(platform.sessions.values()))
    platform.mark_paid(session["id"], payment_intent="pi_test_r")
    paid = json.loads(completed_event(session, payment_intent="pi_test_r"))
    paid["account"] = "acct_1NordlysConnect"
    deliver(client, json.dumps(paid).encode())
    run_jobs(app)

    refund = json.loads(refund_event(session, session["amount_total"]))
    refund["account"] = "acct_1NordlysConnect"
    assert deliver(client, json.dumps(refund).encode()).status_code == 200
    run_jobs(app)

    [recorded] = refunds_of(shop)
    assert units_of(recorded.amount) == session["amount_total"]
    [lookup] = [r for r in platform.requests if r.path == "/v1/payment_intents/pi_test_r"]
    assert lookup.headers["stripe-account"] == "acct_1NordlysConnect"


def units_of(amount) -> int:
    return int(amount * 100)
