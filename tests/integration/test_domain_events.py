"""Domain events (saas.events): recorded with the change that caused them, handed over once.

Webhooks and automations read these events, so what matters is that each change of a
document, customer or payment is told exactly once, only when it commits, and only in its
own tenant; and that a consumer that fails does not lose the event or block the others.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from saas import clock
from saas.billing.customers import services as customers
from saas.billing.customers.models import Customer
from saas.billing.documents import services as documents
from saas.billing.documents.models import Delivery, DeliveryStatus
from saas.billing.documents.states import DocumentKind, DocumentStatus
from saas.billing.events import record_overdue
from saas.billing.payments import services as payments
from saas.events import services as events
from saas.events.models import MAX_ATTEMPTS, DomainEvent
from saas.extensions import db
from saas.queue import EVENTS_QUEUE, get_queue
from saas.tenants import scoping
from tests.books import issue_credit_note, issue_invoice
from tests.factories import CustomerFactory, DeliveryFactory, TenantFactory, VatRateFactory
from tests.helpers import run_jobs

K, S, D = DocumentKind, DocumentStatus, Decimal
DAY = date(2026, 10, 1)


@pytest.fixture()
def shop(db_session):
    """A tenant with a customer and a 25 % VAT rate, entered for the test."""
    tenant = TenantFactory(name="Nordlys Service AS")
    scoping.set_current_tenant(tenant.id)
    vat = VatRateFactory(tenant=tenant, code="S25", rate=D("25.00"))
    customer = CustomerFactory(tenant=tenant, name="Fjord Bakeri AS", currency="NOK")
    with clock.frozen(DAY + timedelta(days=1)):
        yield {"tenant": tenant, "vat": vat.id, "customer": db.session.get(Customer, customer.id)}


@pytest.fixture()
def told(monkeypatch):
    """A consumer that notes every event handed to it, registered for the test only."""
    seen: list[tuple[int, str]] = []
    monkeypatch.setattr(events, "_consumers",
                        [lambda batch: seen.extend((event.id, event.name) for event in batch)])
    return seen


def names(document_id: int | None = None) -> list[str]:
    """The names of the events recorded (about one document), oldest first."""
    query = select(DomainEvent.name).order_by(DomainEvent.id)
    if document_id is not None:
        query = query.where(DomainEvent.subject_type == "document",
                            DomainEvent.subject_id == document_id)
    return list(db.session.scalars(query))


def test_issuing_an_invoice_records_its_change_of_state_and_its_issue(shop):
    invoice = issue_invoice(shop["customer"], shop["vat"], "1000", DAY)
    issued = db.session.scalars(select(DomainEvent).where(
        DomainEvent.name == "document.issued")).one()
    assert names(invoice.id) == ["document.status_changed", "document.issued"]
    assert issued.data["number"] == invoice.number
    assert issued.data["gross_total"] == "1250.00"  # exact, as a string
    assert issued.data["kind"] == "invoice"
    changed = db.session.scalars(select(DomainEvent).where(
        DomainEvent.name == "document.status_changed")).one()
    assert (changed.data["from"], changed.data["to"]) == ("draft", "issued")


def test_a_rolled_back_change_records_no_event(shop):
    before = names()
    savepoint = db.session.begin_nested()
    customers.create_customer({"name": "Never AS", "country": "NO", "currency": "NOK"})
    assert names() == [*before, "customer.created"]
    savepoint.rollback()
    assert names() == before


def test_paying_an_invoice_in_full_records_the_payment_and_the_paid_invoice(shop):
    invoice = issue_invoice(shop["customer"], shop["vat"], "1000", DAY)
    payment = payments.record_payment(shop["customer"], D("500"), DAY,
                                      allocations=[(invoice, D("500"))])
    db.session.flush()
    assert "document.paid" not in names(invoice.id)  # partly paid is not paid
    payments.record_payment(shop["customer"], D("750"), DAY, allocations=[(invoice, D("750"))])
    db.session.flush()
    assert names(invoice.id).count("document.paid") == 1
    received = db.session.scalars(select(DomainEvent).where(
        DomainEvent.name == "payment.received").order_by(DomainEvent.id)).first()
    assert received.subject_id == payment.id
    assert (received.data["amount"], received.data["currency"]) == ("500.00", "NOK")


def test_a_credit_note_records_the_credited_invoice(shop):
    invoice = issue_invoice(shop["customer"], shop["vat"], "1000", DAY)
    note = issue_credit_note(invoice, DAY)
    credited = db.session.scalars(select(DomainEvent).where(
        DomainEvent.name == "document.credited")).one()
    assert credited.subject_id == invoice.id
    assert credited.data["credit_note_id"] == note.id
    assert "document.issued" in names(note.id)


def test_a_new_customer_is_an_event_whatever_made_it(shop):
    customer = customers.create_customer({"name": "Havbris Hotell AS", "country": "NO",
                                          "currency": "NOK"})
    db.session.flush()
    created = db.session.scalars(select(DomainEvent).where(
        DomainEvent.name == "customer.created", DomainEvent.subject_id == customer.id)).one()
    assert created.data["name"] == "Havbris Hotell AS"


def test_an_accepted_quote_is_told_as_accepted(shop):
    quote = documents.create_document(K.QUOTE, shop["customer"])
    documents.add_line(quote, {"description": "Course", "quantity": D("1"),
                               "unit_price": D("100"), "vat_rate_id": shop["vat"]})
    from saas.billing.documents import issuing

    issuing.issue_document(quote, render=False)
    documents.move(quote, S.ACCEPTED)
    db.session.flush()
    assert names(quote.id)[-2:] == ["document.status_changed", "quote.accepted"]


def test_an_email_that_went_out_is_told_once(shop):
    delivery = DeliveryFactory(tenant=shop["tenant"])
    delivery = db.session.get(Delivery, delivery.id)
    delivery.status = DeliveryStatus.SENT
    db.session.flush()
    delivery.status = DeliveryStatus.SENT  # set again: no change, no event
    delivery.attempts += 1
    db.session.flush()
    assert names(delivery.document_id) == ["document.sent"]


def test_overdue_invoices_are_told_once(shop):
    invoice = issue_invoice(shop["customer"], shop["vat"], "1000", DAY)
    db.session.commit()
    with clock.frozen(DAY + timedelta(days=100)):
        assert record_overdue([shop["tenant"].id]) == 1
        assert record_overdue([shop["tenant"].id]) == 0
    scoping.set_current_tenant(shop["tenant"].id)
    overdue = db.session.scalars(select(DomainEvent).where(
        DomainEvent.name == "document.overdue")).one()
    assert overdue.subject_id == invoice.id
    assert overdue.data["days_overdue"] == (DAY + timedelta(days=100) - invoice.due_date).days


def test_events_are_handed_over_after_commit_by_a_job(app, shop, told):
    db.session.commit()
    events.dispatch_pending()  # the shop's own events
    db.session.commit()
    get_queue(EVENTS_QUEUE, app).empty()
    customers.create_customer({"name": "Havbris Hotell AS", "country": "NO", "currency": "NOK"})
    db.session.flush()
    assert get_queue(EVENTS_QUEUE, app).count == 0  # nothing before the commit
    db.session.commit()
    assert get_queue(EVENTS_QUEUE, app).count == 1
    run_jobs(app)
    scoping.set_current_tenant(shop["tenant"].id)
    assert [name for _, name in told][-1:] == ["customer.created"]
    assert db.session.scalars(select(DomainEvent).where(
        DomainEvent.dispatched_at.is_(None))).all() == []
    assert events.dispatch_pending() == 0  # handed over once


def test_a_failing_consumer_keeps_the_event_and_the_others_go_on(shop, monkeypatch):
    seen: list[str] = []

    def fussy(batch: list[DomainEvent]) -> None:
        names = [event.data["name"] for event in batch]
        if "Broken AS" in names:  # fails the whole batch, then the broken event alone
            raise RuntimeError("the webhook table is locked")
        seen.extend(names)

    monkeypatch.setattr(events, "_consumers", [fussy])
    events.dispatch_pending()  # the shop's own events
    seen.clear()
    CustomerFactory(tenant=shop["tenant"], name="Broken AS")
    CustomerFactory(tenant=shop["tenant"], name="Fine AS")
    db.session.flush()
    assert events.dispatch_pending() == 1  # the fine one went, the broken one waits
    assert seen == ["Fine AS"]
    broken = db.session.scalars(select(DomainEvent).where(
        DomainEvent.dispatched_at.is_(None))).one()
    assert (broken.attempts, broken.last_error) == (1, "RuntimeError: the webhook table is locked")
    for _ in range(MAX_ATTEMPTS):
        events.dispatch_pending()
    assert broken.attempts == MAX_ATTEMPTS  # set aside, not retried for ever
    assert events.dispatch_pending() == 0


def test_a_tenant_hands_over_only_its_own_events(shop, told):
    other = TenantFactory(name="Other AS")
    CustomerFactory(tenant=other, name="Theirs AS")
    CustomerFactory(tenant=shop["tenant"], name="Ours AS")
    db.session.flush()
    scoping.set_current_tenant(shop["tenant"].id)
    events.dispatch_pending()
    handed = db.session.scalars(select(DomainEvent).where(
        DomainEvent.id.in_([event_id for event_id, _ in told]))).all()
    assert [event.data["name"] for event in handed] == ["Fjord Bakeri AS", "Ours AS"]
    with scoping.tenant_context(other.id):
        assert db.session.scalars(select(DomainEvent.dispatched_at)).one() is None


def test_the_sweep_hands_over_what_a_lost_job_left(shop, told):
    CustomerFactory(tenant=shop["tenant"], name="Lost AS")
    db.session.commit()
    assert told == []  # no worker ran the job
    with clock.frozen(clock.now() + timedelta(minutes=5)):
        handed = events.sweep_pending()
    assert handed == {shop["tenant"].id: 2}  # the shop's customer and the lost one
    assert [name for _, name in told] == ["customer.created", "customer.created"]


def test_an_unknown_event_name_is_refused(shop):
    with pytest.raises(ValueError, match="Unknown events \\['document.exploded'\\]"):
        events.record_many([("document.exploded", "document", 1, {})])


def test_a_backlog_is_handed_over_in_batches_by_one_job(shop, monkeypatch):
    batches: list[int] = []
    monkeypatch.setattr(events, "_consumers", [lambda batch: batches.append(len(batch))])
    monkeypatch.setattr(events, "BATCH", 2)
    for n in range(4):
        CustomerFactory(tenant=shop["tenant"], name=f"Backlog {n} AS")
    db.session.flush()
    waiting = db.session.scalar(select(func.count()).select_from(DomainEvent).where(
        DomainEvent.dispatched_at.is_(None)))
    assert events.dispatch_all() == waiting == 5  # the shop's customer and four more
    assert batches == [2, 2, 1]  # each consumer call a batch, not an event
