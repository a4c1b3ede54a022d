"""Projects (R5.1, R5.4): tasks, closing them by the rules, billing work in progress or the
whole job at completion, an order confirmation made a project."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from saas import clock
from saas.billing.customers.models import Customer
from saas.billing.documents import issuing
from saas.billing.documents import services as documents
from saas.billing.documents.models import Document
from saas.billing.documents.states import DocumentKind
from saas.billing.work import items, projects, timesheets
from saas.billing.work.models import (
    BillableItem,
    ItemStatus,
    Project,
    ProjectStatus,
    QuantityMode,
    TaskStatus,
)
from saas.extensions import db
from saas.tenants import scoping
from saas.tenants.models import Role, User
from tests.factories import (
    CustomerFactory,
    ProductFactory,
    TenantFactory,
    VatRateFactory,
    member,
)
from tests.factories_work import BillingRuleFactory

D = Decimal


@pytest.fixture()
def shop(db_session):
    """Hours billed by the hour (1,000 NOK), a setup fee billed once per closed task."""
    tenant = TenantFactory(currency="NOK")
    worker = member(tenant, Role.STAFF, name="Ada Worker")
    with scoping.tenant_context(tenant.id):
        customer = CustomerFactory(tenant=tenant, name="Fjord Kraft AS")
        hour = ProductFactory(
            tenant=tenant, name="Consulting hour", unit="h", base_price=D("1000.00")
        )
        fee = ProductFactory(tenant=tenant, name="Delivery fee", unit="pcs", base_price=D("250.00"))
        BillingRuleFactory(tenant=tenant, event="time_entry", product=hour)
        BillingRuleFactory(
            tenant=tenant,
            event="task_closed",
            product=fee,
            quantity_mode=QuantityMode.FIXED,
            fixed_quantity=D(1),
        )
        db.session.commit()
        return {
            "tenant": tenant,
            "worker": worker.id,
            "customer": customer.id,
            "hour": hour.id,
            "fee": fee.id,
        }


def new_project(shop, **values) -> Project:
    customer = db.session.get(Customer, shop["customer"])
    project = projects.create_project(customer, {"name": "Grid study", **values})
    for title in ("Design", "Review"):
        projects.add_task(
            project, {"title": title, "estimate_hours": D(8), "assignee_id": shop["worker"]}
        )
    return project


def log(shop, project, position, day, minutes):
    return timesheets.record_entry(
        db.session.get(User, shop["worker"]),
        {"task_id": project.tasks[position].id, "work_date": day, "minutes": minutes},
    )


def test_tasks_have_an_assignee_and_an_estimate(shop):
    with scoping.tenant_context(shop["tenant"].id):
        project = new_project(shop)
        assert [
            (t.title, t.assignee.name, t.estimate_hours, t.position) for t in project.tasks
        ] == [("Design", "Ada Worker", D(8), 1), ("Review", "Ada Worker", D(8), 2)]
        outsider = member(TenantFactory(), Role.STAFF)
        with pytest.raises(items.BillingError, match="member of this company") as refused:
            projects.add_task(project, {"title": "Audit", "assignee_id": outsider.id})
        assert refused.value.field == "assignee_id"


def test_closing_a_task_bills_by_the_rules_and_reopening_withdraws_it(shop):
    with scoping.tenant_context(shop["tenant"].id):
        project = new_project(shop)
        design = project.tasks[0]
        with clock.frozen(date(2026, 11, 3)):
            [fee] = projects.close_task(design)
        assert (fee.product_id, fee.quantity, fee.unit_price, fee.occurred_on) == (
            shop["fee"],
            D(1),
            D("250.0000"),
            date(2026, 11, 3),
        )
        assert design.status == TaskStatus.DONE
        projects.reopen_task(design)
        assert design.status == TaskStatus.OPEN
        assert db.session.scalar(select(BillableItem.id)) is None


def test_work_in_progress_bills_the_open_items_up_to_a_day(shop):
    with scoping.tenant_context(shop["tenant"].id):
        project = new_project(shop)
        log(shop, project, 0, date(2026, 11, 2), 120)
        log(shop, project, 1, date(2026, 11, 9), 60)
        invoice = projects.bill_progress(project, date(2026, 11, 5))
        assert [line.quantity for line in invoice.lines] == [D(2)]
        later = log(shop, project, 0, date(2026, 11, 10), 30)
        second = projects.bill_progress(project, date(2026, 11, 30))
        assert [line.quantity for line in second.lines] == [D(1), D("0.5")]
        assert items.items_of_source("time_entry", [later.id])[0].status == ItemStatus.INVOICED
        with pytest.raises(items.BillingError, match="no open items up to"):
            projects.bill_progress(project, date(2026, 11, 30))


def test_a_job_billed_on_completion_is_billed_whole_when_closed(shop):
    with scoping.tenant_context(shop["tenant"].id):
        project = new_project(shop, bill_on_completion=True)
        log(shop, project, 0, date(2026, 11, 2), 120)
        with pytest.raises(items.BillingError, match="billed on completion"):
            projects.bill_progress(project, date(2026, 11, 30))
        with clock.frozen(date(2026, 11, 20)):
            projects.close_task(project.tasks[0])
            invoice = projects.close_project(project)
        assert project.status == ProjectStatus.CLOSED
        assert [(line.description, line.quantity) for line in invoice.lines] == [
            ("Grid study: Design (Ada Worker)", D(2)),
            ("Grid study: Design", D(1)),
        ]
        assert projects.open_items_of(project) == []
        with pytest.raises(items.BillingError, match="is closed"):
            log(shop, project, 1, date(2026, 11, 21), 30)


def test_an_order_confirmation_becomes_a_project_with_its_lines_as_tasks(shop):
    with scoping.tenant_context(shop["tenant"].id):
        customer = db.session.get(Customer, shop["customer"])
        vat = VatRateFactory(tenant=shop["tenant"])
        order = documents.create_document(DocumentKind.ORDER, customer)
        documents.add_line(
            order,
            {
                "description": "Design work",
                "quantity": D(12),
                "unit": "h",
                "unit_price": D(1000),
                "vat_rate_id": vat.id,
            },
        )
        documents.add_line(
            order,
            {
                "description": "Report",
                "quantity": D(1),
                "unit": "pcs",
                "unit_price": D(5000),
                "vat_rate_id": vat.id,
            },
        )
        with pytest.raises(items.BillingError, match="issued order confirmation"):
            projects.project_from_order(order)
        issuing.issue_document(order, render=False)
        project = projects.project_from_order(order)
        assert project.order_id == order.id and project.customer_id == customer.id
        assert [(t.title, t.estimate_hours, t.order_line_id) for t in project.tasks] == [
            ("Design work", D(12), order.lines[0].id),
            ("Report", None, order.lines[1].id),
        ]
        with pytest.raises(items.BillingError, match="already"):
            projects.project_from_order(order)
        assert db.session.scalar(select(Document.kind).where(Document.id == order.id)) == (
            DocumentKind.ORDER
        )
