"""The work pages: projects, My time and the stopwatch fragment, rules, the inbox, the
specification attached to the invoice's e-mail; who may do what."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from html import unescape

import pytest
from sqlalchemy import select

from saas.billing.customers.models import Customer
from saas.billing.documents import delivery, issuing
from saas.billing.documents.models import Document
from saas.billing.work import items, setup, timesheets
from saas.billing.work.models import (
    BillableItem,
    BillingRule,
    ItemStatus,
    TimeEntry,
    WorkTimer,
)
from saas.extensions import db
from saas.tenants import scoping
from saas.tenants.models import Role, User
from tests.factories import (
    ContactFactory,
    CustomerFactory,
    ProductFactory,
    TenantFactory,
    member,
)
from tests.factories_work import BillingRuleFactory, ProjectFactory, TaskFactory
from tests.helpers import errors_in, run_jobs, sent_mails

D = Decimal
HTMX = {"HX-Request": "true"}


@pytest.fixture()
def site(db_session):
    tenant = TenantFactory(currency="NOK")
    owner = member(tenant, Role.OWNER, name="Olga Owner")
    with scoping.tenant_context(tenant.id):
        customer = CustomerFactory(tenant=tenant, name="Fjord Kraft AS")
        ContactFactory(
            tenant=tenant, customer=customer, email="invoices@fjord.example", receives_invoices=True
        )
        hour = ProductFactory(
            tenant=tenant, name="Consulting hour", unit="h", base_price=D("1000.00")
        )
        BillingRuleFactory(tenant=tenant, name="Hours", event="time_entry", product=hour)
        project = ProjectFactory(tenant=tenant, customer=customer, name="Grid study")
        design = TaskFactory(tenant=tenant, project=project, title="Design")
        review = TaskFactory(tenant=tenant, project=project, title="Review")
        db.session.commit()
        return {
            "tenant": tenant,
            "owner": owner,
            "customer": customer.id,
            "hour": hour.id,
            "project": project.id,
            "design": design.id,
            "review": review.id,
            "base": f"/t/{tenant.slug}/work",
        }


def logged(site, minutes=90) -> BillableItem:
    with scoping.tenant_context(site["tenant"].id):
        entry = timesheets.record_entry(
            db.session.get(User, site["owner"].id),
            {"task_id": site["design"], "work_date": date(2026, 11, 2), "minutes": minutes},
        )
        [item] = items.items_of_source("time_entry", [entry.id])
        db.session.commit()
        return item.id


def test_every_work_page_shows(site, make_client):
    item_id = logged(site)
    client = make_client(site["owner"])
    base = site["base"]
    pages = {
        f"{base}/projects": "Grid study",
        f"{base}/projects/new": "New project",
        f"{base}/projects/{site['project']}": "Design",
        f"{base}/time": "Stopwatch",
        f"{base}/rules": "Hours",
        f"{base}/items": "Fjord Kraft AS",
        f"{base}/items/customers/{site['customer']}": f'value="{item_id}"',
    }
    for url, text in pages.items():
        page = client.get(url)
        assert (url, page.status_code) == (url, 200)
        assert text in page.text, url


def test_time_typed_as_hours_and_minutes_is_recorded_and_bad_time_is_refused(site, make_client):
    client = make_client(site["owner"])
    url = f"{site['base']}/time/entries"
    refused = client.post(
        url,
        data={
            "task_id": site["design"],
            "work_date": "2026-11-02",
            "minutes": "abc",
            "kind": "billable",
        },
    )
    assert refused.status_code == 422
    assert [unescape(e) for e in errors_in(refused.text)] == [
        "'abc' is not a time: write e.g. 1:30, 1.5 or 90m."
    ]
    made = client.post(
        url,
        data={
            "task_id": site["design"],
            "work_date": "2026-11-02",
            "minutes": "1:30",
            "kind": "billable",
            "description": "Sketches",
        },
    )
    assert made.status_code == 302
    with scoping.tenant_context(site["tenant"].id):
        entry = db.session.scalar(select(TimeEntry))
        assert (entry.minutes, entry.description) == (90, "Sketches")
        correct = client.post(
            f"{site['base']}/time/entries/{entry.id}",
            data={
                "task_id": site["review"],
                "work_date": "2026-11-02",
                "minutes": "2h",
                "kind": "billable",
                "description": "Sketches",
            },
            follow_redirects=True,
        )
        assert "minutes 1:30 → 2:00" in correct.text and "Olga Owner" in correct.text


def test_the_stopwatch_fragment_starts_switches_and_resumes(site, make_client):
    client = make_client(site["owner"])
    start = f"{site['base']}/timer/start"
    first = client.post(start, data={"task_id": site["design"], "kind": "billable"}, headers=HTMX)
    assert first.status_code == 200 and first.text.lstrip().startswith("<section")
    assert "Grid study · Design" in first.text and 'hx-trigger="every 30s"' in first.text
    second = client.post(start, data={"task_id": site["review"], "kind": "billable"}, headers=HTMX)
    assert 'id="timer-queue"' in second.text
    with scoping.tenant_context(site["tenant"].id):
        design = db.session.scalar(select(WorkTimer).where(WorkTimer.task_id == site["design"]))
        assert design.running is False
        resumed = client.post(f"{site['base']}/timer/{design.id}/resume", headers=HTMX)
        assert resumed.status_code == 200
        db.session.refresh(design)
        assert design.running is True
        refused = client.post(start, data={"task_id": "", "kind": "billable"}, headers=HTMX)
        assert refused.status_code == 422 and "Choose the task to time." in refused.text
        stop = client.post(f"{site['base']}/timer/{design.id}/stop", headers=HTMX)
        assert stop.headers["HX-Redirect"].endswith("/work/time")
        assert db.session.scalar(select(TimeEntry.task_id)) == site["design"]


def test_every_page_shows_the_task_being_timed_in_the_header(site, make_client):
    client = make_client(site["owner"])
    page = client.get(f"/t/{site['tenant'].slug}/customers/").text
    assert 'id="timer-badge"' in page and "/work/timer/badge" in page
    badge = f"{site['base']}/timer/badge"
    assert ">My time</a>" in client.get(badge, headers=HTMX).text
    client.post(f"{site['base']}/timer/start", data={"task_id": site["design"], "kind": "billable"})
    timing = client.get(badge, headers=HTMX).text
    assert "Timing Design · 0:00" in timing and 'hx-trigger="every 60s"' in timing


def test_items_are_billed_from_the_inbox_and_written_off_with_a_reason(site, make_client):
    first, second = logged(site, 60), logged(site, 30)
    client = make_client(site["owner"])
    inbox = f"{site['base']}/items/customers/{site['customer']}"
    refused = client.post(f"{site['base']}/items/{second}/write-off", data={"reason": ""})
    assert refused.status_code == 422 and "Say why the item is written off." in refused.text
    client.post(f"{site['base']}/items/{second}/write-off", data={"reason": "Goodwill"})
    billed = client.post(f"{inbox}/bill", data={"item_ids": [str(first)]})
    assert billed.status_code == 302 and "/documents/" in billed.headers["Location"]
    with scoping.tenant_context(site["tenant"].id):
        statuses = dict(db.session.execute(select(BillableItem.id, BillableItem.status)).all())
        assert statuses == {first: ItemStatus.INVOICED, second: ItemStatus.WRITTEN_OFF}
    page = client.get(inbox).text
    assert "Goodwill" in page and "Draft invoice" in page
    nothing = client.post(f"{inbox}/bill", data={})
    assert nothing.status_code == 422 and "Choose at least one open item" in nothing.text


def test_all_open_items_of_a_period_go_onto_a_chosen_draft(site, make_client):
    first, second = logged(site, 60), logged(site, 30)
    client = make_client(site["owner"])
    inbox = f"{site['base']}/items/customers/{site['customer']}"
    client.post(f"{inbox}/bill", data={"item_ids": [str(first)]})
    with scoping.tenant_context(site["tenant"].id):
        draft_id = db.session.scalar(select(Document.id))
    client.post(
        f"{inbox}/bill",
        data={
            "all_in_period": "1",
            "date_from": "2026-11-01",
            "date_to": "2026-11-30",
            "invoice_id": str(draft_id),
        },
    )
    with scoping.tenant_context(site["tenant"].id):
        draft = db.session.get(Document, draft_id)
        assert len(draft.lines) == 2
        assert db.session.get(BillableItem, second).document_line_id == draft.lines[1].id


def test_the_invoice_email_carries_the_specification(app, site, make_client, outbox):
    item_id = logged(site, 90)
    with scoping.tenant_context(site["tenant"].id):
        customer = db.session.get(Customer, site["customer"])
        invoice = items.bill_items(customer, [item_id])
        issuing.issue_document(invoice)
        delivery.send_document(invoice)
        number, document_id = invoice.number, invoice.id
        db.session.commit()
    run_jobs(app)
    [mail] = sent_mails(outbox)
    names = [part.get_filename() for part in mail.iter_attachments()]
    assert names == [f"{number}.pdf", f"{number}-specification.pdf"]
    pdf = make_client(site["owner"]).get(
        f"{site['base']}/items/invoices/{document_id}/specification.pdf"
    )
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")


def test_rules_are_set_in_the_page_and_a_fixed_quantity_is_required(site, make_client):
    client = make_client(site["owner"])
    refused = client.post(
        f"{site['base']}/rules",
        data={
            "name": "Call-out",
            "event": "task_closed",
            "product_id": site["hour"],
            "quantity_mode": "fixed",
            "fixed_quantity": "",
        },
    )
    assert refused.status_code == 422
    assert errors_in(refused.text) == ["Enter the fixed quantity to bill, above 0."]
    client.post(
        f"{site['base']}/rules",
        data={
            "name": "Call-out",
            "event": "task_closed",
            "product_id": site["hour"],
            "quantity_mode": "fixed",
            "fixed_quantity": "1",
        },
    )
    with scoping.tenant_context(site["tenant"].id):
        rule = db.session.scalar(select(BillingRule).where(BillingRule.name == "Call-out"))
        assert (rule.event, rule.fixed_quantity, rule.is_enabled) == ("task_closed", D(1), True)
        client.post(f"{site['base']}/rules/{rule.id}/toggle")
        db.session.refresh(rule)
        assert rule.is_enabled is False


def test_managers_set_each_members_cost_of_an_hour(site, make_client):
    client = make_client(site["owner"])
    url = f"{site['base']}/team"
    user_id = site["owner"].id
    refused = client.post(url, data={"user_id": user_id, "hourly_cost": "lots"})
    assert refused.status_code == 422 and "lots is not an amount" in refused.text
    outsider = member(TenantFactory(), Role.STAFF)
    refused = client.post(url, data={"user_id": outsider.id, "hourly_cost": "400"})
    assert refused.status_code == 422 and "member of this company" in refused.text
    saved = client.post(url, data={"user_id": user_id, "hourly_cost": "450,50"})
    assert saved.status_code == 302
    with scoping.tenant_context(site["tenant"].id):
        assert setup.cost_rates() == {user_id: D("450.5")}
    assert 'value="450.5"' in client.get(url).text
    client.post(url, data={"user_id": user_id, "hourly_cost": ""})
    with scoping.tenant_context(site["tenant"].id):
        assert setup.cost_rates() == {}


@pytest.mark.parametrize(
    ("role", "method", "path", "status"),
    [
        (Role.VIEWER, "get", "/items", 200),
        (Role.VIEWER, "get", "/time", 403),
        (Role.VIEWER, "post", "/items/customers/{customer}/bill", 403),
        (Role.STAFF, "post", "/rules", 403),
        (Role.STAFF, "get", "/time", 200),
        (Role.COLLECTOR, "post", "/timer/start", 403),
        (Role.STAFF, "get", "/team", 403),
        (Role.ACCOUNTANT, "get", "/team", 200),
    ],
)
def test_roles(site, make_client, role, method, path, status):
    client = make_client(member(site["tenant"], role))
    url = site["base"] + path.format(customer=site["customer"])
    assert getattr(client, method)(url).status_code == status
