"""Outbound webhooks delivered to a real HTTP server on loopback, started by each test.

What matters: a subscribed endpoint gets each event once, signed so that it can check the
sender; nobody else gets it; a failure is retried after the backoff (the database drives
it: the clock moves, the sweep queues, a worker sends) until it succeeds or is given up;
a replay is a new delivery; bad endpoints are refused before anything is saved.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from saas import clock
from saas.api.webhooks import services, signing
from saas.api.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from saas.api.webhooks.sending import USER_AGENT
from saas.billing.customers.models import Customer
from saas.events import services as events
from saas.events.models import DomainEvent
from saas.extensions import db
from saas.queue import QUEUES, get_queue
from saas.tenants import scoping
from tests.books import issue_invoice
from tests.factories import CustomerFactory, TenantFactory, VatRateFactory
from tests.helpers import run_jobs

D = Decimal
DAY = date(2026, 10, 1)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: str

    @property
    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A webhook receiver on loopback: keeps every request, answers what the test says."""

    port: int = 0
    requests: list[Received] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)  # one status per request, then 200
    hang: bool = False  # answer nothing until the test ends
    released: threading.Event = field(default_factory=threading.Event)

    def url(self, path: str = "/hooks") -> str:
        return f"http://127.0.0.1:{self.port}{path}"


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
            receiver.requests.append(Received(self.path, {k.lower(): v for k, v in
                                                          self.headers.items()}, body))
            if receiver.hang:
                receiver.released.wait(10)
                return
            answer = receiver.answers.pop(0) if receiver.answers else 200
            payload = b'{"received": true}' if answer < 300 else b"upstream exploded"
            self.send_response(answer)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@pytest.fixture()
def receiver():
    state = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.released.set()
        server.shutdown()
        server.server_close()


@pytest.fixture()
def shop(app, db_session):
    """A tenant with a customer and a 25 % VAT rate, its own events handed over already."""
    for name in QUEUES:
        get_queue(name, app).empty()
    tenant = TenantFactory(name="Nordlys Service AS")
    scoping.set_current_tenant(tenant.id)
    vat = VatRateFactory(tenant=tenant, code="S25", rate=D("25.00"))
    customer = CustomerFactory(tenant=tenant, name="Fjord Bakeri AS", currency="NOK")
    with clock.frozen(DAY + timedelta(days=1)):
        events.dispatch_pending()
        db.session.commit()
        yield {"tenant": tenant, "vat": vat.id, "customer": db.session.get(Customer, customer.id)}


def subscribe(url: str, names: list[str]) -> tuple[WebhookEndpoint, str]:
    endpoint, secret = services.create_endpoint(url, names, "Accounting sync")
    db.session.commit()
    return endpoint, secret


def issue(shop) -> int:
    """Issue an invoice and let the workers run; the invoice's id."""
    invoice = issue_invoice(shop["customer"], shop["vat"], "1000", DAY)
    db.session.commit()
    return invoice.id


def deliveries() -> list[WebhookDelivery]:
    db.session.expire_all()
    return list(db.session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))


def work(app, shop) -> None:
    run_jobs(app)
    scoping.set_current_tenant(shop["tenant"].id)


def test_an_issued_invoice_reaches_its_subscriber_once_signed(app, shop, receiver):
    _, secret = subscribe(receiver.url(), ["document.issued"])
    invoice_id = issue(shop)
    work(app, shop)
    [request] = receiver.requests
    event = db.session.scalars(select(DomainEvent).where(
        DomainEvent.name == "document.issued")).one()
    headers = request.headers
    assert headers["webhook-id"] == f"evt_{event.id}"
    assert signing.verify(secret, headers["webhook-id"], headers["webhook-timestamp"],
                          request.body, headers["webhook-signature"],
                          now=int(clock.now().timestamp()))
    assert (headers["content-type"], headers["user-agent"]) == ("application/json", USER_AGENT)
    body = request.json
    assert (body["id"], body["type"], body["company"]) == (
        f"evt_{event.id}", "document.issued", shop["tenant"].slug)
    assert body["data"]["document_id"] == invoice_id
    assert body["data"]["gross_total"] == "1250.00"
    [delivery] = deliveries()
    assert (delivery.status, delivery.attempts, delivery.response_status) == (
        DeliveryStatus.SUCCEEDED, 1, 200)
    assert delivery.response_body == '{"received": true}'


def test_an_endpoint_not_subscribed_to_the_event_gets_nothing(app, shop, receiver):
    subscribe(receiver.url(), ["payment.received"])
    issue(shop)
    work(app, shop)
    assert receiver.requests == []
    assert deliveries() == []


def test_another_tenants_endpoint_gets_nothing(app, shop, receiver):
    other = TenantFactory(name="Other AS")
    with scoping.tenant_context(other.id):
        subscribe(receiver.url("/theirs"), ["document.issued"])
    subscribe(receiver.url("/ours"), ["document.issued"])
    issue(shop)
    work(app, shop)
    assert [request.path for request in receiver.requests] == ["/ours"]
    with scoping.tenant_context(other.id):
        assert deliveries() == []


def test_a_failure_is_retried_after_the_backoff_and_then_succeeds(app, shop, receiver):
    subscribe(receiver.url(), ["document.issued"])
    receiver.answers = [500]
    issue(shop)
    work(app, shop)
    [delivery] = deliveries()
    assert (delivery.status, delivery.attempts, delivery.response_status) == (
        DeliveryStatus.FAILED, 1, 500)
    assert delivery.error == "The endpoint answered HTTP 500."
    assert delivery.next_attempt_at == clock.now() + timedelta(minutes=1)
    with clock.frozen(clock.now() + timedelta(seconds=30)):  # not due yet
        assert services.run_webhook_retries() == 0
    with clock.frozen(clock.now() + timedelta(minutes=2)):
        assert services.run_webhook_retries() == 1
        work(app, shop)
    [delivery] = deliveries()
    assert (delivery.status, delivery.attempts, delivery.response_status) == (
        DeliveryStatus.SUCCEEDED, 2, 200)
    first, second = receiver.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"]  # one message
    assert first.body == second.body


def test_a_timeout_is_a_failure_with_a_clear_error(app, shop, receiver, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOK_TIMEOUT_SECONDS", 0.3)
    subscribe(receiver.url(), ["document.issued"])
    receiver.hang = True
    issue(shop)
    work(app, shop)
    [delivery] = deliveries()
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.error == "Timed out: no answer within 0.3 seconds."
    assert delivery.response_status is None


def test_a_delivery_is_given_up_after_the_last_retry(app, shop, receiver, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOK_RETRY_MINUTES", (1, 5))
    subscribe(receiver.url(), ["document.issued"])
    receiver.answers = [503, 503, 503, 503]
    issue(shop)
    work(app, shop)
    later = clock.now()
    for wait in (2, 6):
        later += timedelta(minutes=wait)
        with clock.frozen(later):
            assert services.run_webhook_retries() == 1
            work(app, shop)
    [delivery] = deliveries()
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == (
        DeliveryStatus.GIVEN_UP, 3, None)
    with clock.frozen(later + timedelta(days=1)):
        assert services.run_webhook_retries() == 0
    assert len(receiver.requests) == 3


def test_an_event_dispatched_twice_is_delivered_once(app, shop, receiver):
    subscribe(receiver.url(), ["document.issued"])
    issue(shop)
    work(app, shop)
    event = db.session.scalars(select(DomainEvent).where(
        DomainEvent.name == "document.issued")).one()
    event.dispatched_at = None  # as if its hand-over had been lost after the consumers ran
    db.session.commit()
    assert events.dispatch_pending() >= 1
    db.session.commit()
    [delivery] = deliveries()
    services.deliver_webhook(delivery.id, tenant_id=shop["tenant"].id)  # a stray job
    work(app, shop)
    assert len(receiver.requests) == 1
    assert len(deliveries()) == 1


def test_a_replay_sends_again_as_a_new_delivery(app, shop, receiver):
    subscribe(receiver.url(), ["document.issued"])
    issue(shop)
    work(app, shop)
    [first] = deliveries()
    again = services.replay(first)
    db.session.commit()
    work(app, shop)
    first, again = deliveries()
    assert (again.replay_of_id, again.replay_number, again.event_id) == (
        first.id, 1, first.event_id)
    assert again.status == DeliveryStatus.SUCCEEDED
    assert [r.headers["webhook-id"] for r in receiver.requests] == [first.message_id] * 2


def test_an_endpoint_failing_for_days_is_switched_off_with_a_reason(app, shop, receiver):
    endpoint, _ = subscribe(receiver.url(), ["document.issued"])
    endpoint.failing_since = clock.now() - timedelta(hours=73)
    db.session.commit()
    receiver.answers = [500]
    issue(shop)
    work(app, shop)
    db.session.expire_all()
    endpoint = db.session.get(WebhookEndpoint, endpoint.id)
    assert endpoint.active is False
    assert "every delivery failed since" in endpoint.disabled_reason
    assert "HTTP 500" in endpoint.disabled_reason


def test_the_guard_refuses_to_send_to_a_private_address(app, shop, receiver, monkeypatch):
    subscribe(receiver.url(), ["document.issued"])
    monkeypatch.setitem(app.config, "WEBHOOKS_ALLOW_PRIVATE_HOSTS", False)
    issue(shop)
    work(app, shop)
    [delivery] = deliveries()
    assert receiver.requests == []
    assert delivery.status == DeliveryStatus.FAILED
    assert "Not sent: The host 127.0.0.1 is a private or local address" in delivery.error


def test_the_retry_command_sends_what_is_due_now(app, shop, receiver):
    subscribe(receiver.url(), ["document.issued"])
    receiver.answers = [500]
    issue(shop)
    work(app, shop)
    args = ["webhooks", "retry", "--tenant", shop["tenant"].slug]
    assert app.test_cli_runner().invoke(args=args).output.strip() == (
        "Webhooks: no delivery is due.")
    with clock.frozen(clock.now() + timedelta(minutes=2)):
        sent = app.test_cli_runner().invoke(args=args)
    assert sent.output.strip() == "Webhooks: 1 deliveries tried: 1 succeeded."
    scoping.set_current_tenant(shop["tenant"].id)
    assert [d.status for d in deliveries()] == [DeliveryStatus.SUCCEEDED]
    assert len(receiver.requests) == 2
