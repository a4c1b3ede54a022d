"""Project profitability (R5.11): revenue invoiced and to invoice, cost of time at each
member's internal rate and of payables, gross margin, time per member; page and CSV."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest

from saas.billing.work.models import ItemStatus, WorkKind
from saas.extensions import db
from saas.tenants import scoping
from saas.tenants.models import Role
from tests.factories import CustomerFactory, TenantFactory, member
from tests.factories_work import BillableItemFactory, ProjectFactory, TaskFactory, TimeEntryFactory
from tests.factories_work_sources import PayableItemFactory

D = Decimal


@pytest.fixture()
def project(db_session, make_client):
    tenant = TenantFactory(currency="NOK")
    owner = member(tenant, Role.OWNER)
    ann = member(tenant, Role.STAFF, name="Ann Berg")
    bob = member(tenant, Role.STAFF, name="Bob Dahl")
    with scoping.tenant_context(tenant.id):
        customer = CustomerFactory(tenant=tenant, name="Fjord Kraft AS")
        found = ProjectFactory(tenant=tenant, customer=customer, name="Grid study")
        task = TaskFactory(tenant=tenant, project=found)
        for user, kind, minutes in (
            (ann, WorkKind.BILLABLE, 600),
            (ann, WorkKind.INTERNAL, 60),
            (bob, WorkKind.BUG_FIX, 120),
        ):
            TimeEntryFactory(tenant=tenant, task=task, user=user, kind=kind, minutes=minutes)
        for status, quantity in (
            (ItemStatus.INVOICED, 2),
            (ItemStatus.OPEN, 1),
            (ItemStatus.WRITTEN_OFF, 5),
        ):
            BillableItemFactory(
                tenant=tenant,
                customer=customer,
                project_id=found.id,
                status=status,
                quantity=D(quantity),
                unit_price=D(1000),
            )
        PayableItemFactory(tenant=tenant, project_id=found.id, unit_price=D(500))
        ids = {"project": found.id, "ann": ann.id}
        db.session.commit()
    return {"tenant": tenant, "client": make_client(owner), **ids}


def url(project, path: str) -> str:
    return f"/t/{project['tenant'].slug}{path}"


def test_the_margin_counts_revenue_time_at_cost_rates_and_payables(project):
    client = project["client"]
    assert (
        client.post(
            url(project, "/work/team"),
            data={"user_id": project["ann"], "hourly_cost": "400"},
        ).status_code
        == 302
    )
    page = client.get(url(project, f"/work/projects/{project['project']}/profitability"))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<svg" in html and 'id="time-chart-title"' in html
    assert "No internal cost rate for Bob Dahl" in html
    report = client.get(url(project, f"/work/projects/{project['project']}/profitability.csv"))
    rows = list(csv.reader(io.StringIO(report.get_data(as_text=True))))
    figures = {row[2]: row[7] for row in rows[1:] if row[2] != "time"}
    assert figures == {
        "revenue invoiced": "2000.00",
        "revenue to invoice": "1000.00",
        "cost of time": "4400.00",
        "cost of payables": "500.00",
        "gross margin": "-1900.00",
    }  # written-off work earns nothing
    time = {row[3]: row[4:8] for row in rows[1:] if row[2] == "time"}
    assert time == {
        "Ann Berg": ["10.00", "1.00", "0.00", "4400.00"],
        "Bob Dahl": ["0.00", "0.00", "2.00", "0.00"],
    }


def test_the_overview_lists_every_project_with_its_margin(project):
    html = project["client"].get(url(project, "/work/profitability")).get_data(as_text=True)
    assert f'id="profit-{project["project"]}"' in html and "Grid study" in html
    assert "2,500.00 NOK" in html  # 3,000 revenue − 500 payables, time without rates


def test_staff_do_not_see_what_members_cost(project, make_client):
    staff = make_client(member(project["tenant"], Role.STAFF))
    assert staff.get(url(project, "/work/profitability")).status_code == 403
