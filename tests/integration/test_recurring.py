"""Recurring invoices (R4.5): each occurrence made once, caught up once, paused and stopped."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from saas.billing.customers.models import Customer
from saas.billing.documents import issuing, services
from saas.billing.documents.models import Delivery, Document
from saas.billing.documents.states import DocumentKind, DocumentStatus
from saas.billing.recurring import services as recurring
from saas.billing.recurring.models import RecurringInvoice, RecurringOccurrence, RecurringStatus
from saas.extensions import db
from saas.tenants import scoping
from saas.tenants.models import Role
from tests.factories import ContactFactory, CustomerFactory, TenantFactory, VatRateFactory, member
from tests.helpers import errors_in, run_jobs

START = date(2026, 9, 30)


@pytest.fixture()
def shop(db_session):
    tenant = TenantFactory(name="Serwis IT Sp. z o.o.", country="PL", currency="PLN")
    owner = member(tenant, Role.OWNER)
    with scoping.tenant_context(tenant.id):
        customer = CustomerFactory(tenant=tenant, name="Kawiarnia Mokotów", language="pl",
                                   currency="PLN")
        ContactFactory(tenant=tenant, customer=customer, email="biuro@mokotow.example",
                       receives_invoices=True)
        vat_id = VatRateFactory(tenant=tenant, rate=Decimal(23)).id
        template = services.create_document(DocumentKind.INVOICE,
                                            db.session.get(Customer, customer.id))
        services.add_line(template, {"description": "Opieka IT – {period}",
                                     "quantity": Decimal(1), "unit_price": Decimal("900"),
                                     "vat_rate_id": vat_id})
        issuing.issue_document(template, on=date(2026, 9, 1))
        db.session.commit()
        return {"tenant": tenant, "owner": owner, "template": template.id}


def schedule(shop, **values):
    with scoping.tenant_context(shop["tenant"].id):
        made = recurring.create(db.session.get(Document, shop["template"]),
                                {"every": 1, "unit": "months", "start_date": START,
                                 "issue": True, **values}, today=START)
        db.session.commit()
        return made.id


def run_on(shop, day: date) -> int:
    return recurring.run(day, [shop["tenant"].id]).made


def made_invoices(shop) -> list[tuple[date, str, str]]:
    with scoping.tenant_context(shop["tenant"].id):
        rows = db.session.execute(
            select(RecurringOccurrence.occurrence_date, Document.number, Document.status)
            .join(Document, Document.id == RecurringOccurrence.document_id)
            .order_by(RecurringOccurrence.occurrence_date)).all()
        return [(day, number, status) for day, number, status in rows]


def line_texts(shop) -> list[str]:
    with scoping.tenant_context(shop["tenant"].id):
        documents = db.session.scalars(
            select(Document).join(RecurringOccurrence,
                                  RecurringOccurrence.document_id == Document.id)
            .order_by(RecurringOccurrence.occurrence_date)).all()
        return [document.lines[0].description for document in documents]


def test_each_occurrence_is_made_once_however_often_it_runs(shop):
    schedule(shop)
    assert [run_on(shop, START) for _ in range(3)] == [1, 0, 0]  # a run repeated three times
    made = made_invoices(shop)
    assert [(day, status) for day, _, status in made] == [(START, DocumentStatus.ISSUED)]
    assert made[0][1] == "INV-2026-00002"  # a new number after the template's
    assert line_texts(shop) == ["Opieka IT – wrzesień 2026"]
    assert run_on(shop, date(2026, 10, 29)) == 0
    assert run_on(shop, date(2026, 10, 30)) == 1


def test_days_the_worker_missed_are_caught_up_once_not_skipped(shop):
    recurring_id = schedule(shop)
    assert run_on(shop, date(2026, 12, 5)) == 3  # Sep 30, Oct 30, Nov 30: each once
    assert run_on(shop, date(2026, 12, 5)) == 0
    assert [day for day, _, _ in made_invoices(shop)] == [
        date(2026, 9, 30), date(2026, 10, 30), date(2026, 11, 30)]
    assert line_texts(shop) == ["Opieka IT – wrzesień 2026", "Opieka IT – październik 2026",
                                "Opieka IT – listopad 2026"]
    with scoping.tenant_context(shop["tenant"].id):
        made = db.session.get(RecurringInvoice, recurring_id)
        assert (made.made_count, made.next_date) == (3, date(2026, 12, 30))


def test_a_schedule_ends_after_its_count_or_date(shop):
    by_count = schedule(shop, ending="count", max_count=2)
    by_date = schedule(shop, ending="until", until_date=date(2026, 10, 30), every=2,
                       unit="weeks")
    run_on(shop, date(2027, 3, 1))
    with scoping.tenant_context(shop["tenant"].id):
        counted = db.session.get(RecurringInvoice, by_count)
        dated = db.session.get(RecurringInvoice, by_date)
        assert (counted.made_count, counted.status) == (2, RecurringStatus.FINISHED)
        # Sep 30, Oct 14, Oct 28 (Nov 11 is after the last date).
        assert (dated.made_count, dated.status) == (3, RecurringStatus.FINISHED)
        assert dated.next_date is None


def test_paused_makes_nothing_resumed_catches_up_stopped_is_final(shop, make_client):
    recurring_id = schedule(shop)
    client = make_client(member(shop["tenant"], Role.STAFF))
    url = f"/t/{shop['tenant'].slug}/recurring/{recurring_id}"
    page = client.post(f"{url}/status", data={"action": "pause"}, follow_redirects=True)
    assert "Paused" in page.text
    assert run_on(shop, date(2026, 10, 1)) == 0
    client.post(f"{url}/status", data={"action": "resume"})
    assert run_on(shop, date(2026, 10, 1)) == 1
    client.post(f"{url}/status", data={"action": "stop"})
    assert run_on(shop, date(2027, 1, 1)) == 0
    refused = client.post(f"{url}/status", data={"action": "resume"}, follow_redirects=True)
    assert "This schedule is stopped: set up a new one." in refused.text
    viewer = make_client(member(shop["tenant"], Role.VIEWER))
    assert viewer.post(f"{url}/status", data={"action": "pause"}).status_code == 403


def test_issued_and_emailed_when_asked_drafts_otherwise(app, shop, outbox):
    schedule(shop, send=True)
    schedule(shop, issue=False)
    run_on(shop, START)
    run_jobs(app)
    with scoping.tenant_context(shop["tenant"].id):
        statuses = sorted(db.session.scalars(
            select(Document.status).join(RecurringOccurrence,
                                         RecurringOccurrence.document_id == Document.id)))
        assert statuses == [DocumentStatus.DRAFT, DocumentStatus.ISSUED]
        assert db.session.scalar(select(func.count()).select_from(Delivery)) == 1
    assert any(p.read_bytes().find(b"biuro@mokotow.example") >= 0 for p in outbox.glob("*.eml"))


def test_set_up_from_the_invoice_page_with_clear_refusals(shop, make_client):
    client = make_client(shop["owner"])
    base = f"/t/{shop['tenant'].slug}"
    assert "Repeat…" in client.get(f"{base}/documents/{shop['template']}").text
    refused = client.post(f"{base}/recurring/new/{shop['template']}", data={
        "every": "1", "unit": "months", "start_date": "2020-01-01", "ending": "never"})
    assert refused.status_code == 422
    assert "The first invoice is made today or later" in errors_in(refused.text)[0]
    refused = client.post(f"{base}/recurring/new/{shop['template']}", data={
        "every": "1", "unit": "months", "start_date": "2099-01-31", "ending": "count"})
    assert errors_in(refused.text) == ["Give how many invoices to make (1 or more)."]
    page = client.post(f"{base}/recurring/new/{shop['template']}", data={
        "every": "1", "unit": "months", "start_date": "2099-01-31", "ending": "count",
        "max_count": "12", "issue": "y"}, follow_redirects=True)
    assert "repeats every month from 2099-01-31, 12 times" in page.text
    listing = client.get(f"{base}/recurring/").text
    assert "Kawiarnia Mokotów" in listing and "2099-01-31" in listing


def test_the_run_command(app, shop):
    schedule(shop)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["recurring", "run", "--date", "2026-10-30",
                                 "--tenant", shop["tenant"].slug])
    assert result.exit_code == 0, result.output
    assert result.output == "1 schedules due: 2 invoices made, 0 failed.\n"
    assert runner.invoke(args=["recurring", "run", "--tenant", "nobody"]).exit_code == 2
