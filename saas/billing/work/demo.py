"""Demo work (R5): activities and billing rules, a service job with tasks and time (billable,
internal, bug fix), a task closed, a queued stopwatch, open items in the inbox, and support
work that uses a contract's prepaid hours first."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select

from saas import clock
from saas.billing.catalog.models import Product
from saas.billing.contracts.models import Contract, ContractLine
from saas.billing.customers.models import Customer
from saas.billing.documents import services as documents
from saas.billing.work import projects, setup, timesheets
from saas.billing.work.models import Project, WorkKind, WorkTimer
from saas.extensions import db
from saas.tenants import scoping
from saas.tenants.models import Membership, Role, Tenant, User

# (task, estimate hours, activity) of the demo job.
TASKS = (
    ("Survey and quote", Decimal(2), "Call-out"),
    ("Installation", Decimal(8), "Installation"),
    ("Handover and documentation", Decimal(2), "Installation"),
)
# (days ago, task index, minutes, kind, what) of the time recorded on it.
ENTRIES = (
    (9, 0, 105, WorkKind.BILLABLE, "Site visit and measurements"),
    (6, 1, 210, WorkKind.BILLABLE, "Old pipes removed"),
    (5, 1, 135, WorkKind.BILLABLE, "New pipes and fittings"),
    (5, 1, 45, WorkKind.INTERNAL, "Team briefing"),
    (3, 1, 30, WorkKind.BUG_FIX, "Leaking joint redone"),
)


def seed_work(tenant: Tenant) -> None:
    """Once per tenant that sells hours: rules, a job with time, items to bill."""
    with scoping.tenant_context(tenant.id):
        if db.session.scalar(select(Project.id).limit(1)) is not None:
            return
        hourly = db.session.scalar(select(Product).where(Product.unit == "h").order_by(Product.sku))
        customers = db.session.scalars(select(Customer).order_by(Customer.number)).all()
        worker = db.session.scalar(
            select(User)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.role == Role.OWNER)
            .order_by(User.id)
        )
        if hourly is None or not customers or worker is None:
            return
        activities = {
            name: setup.create_activity(name) for name in ("Installation", "Call-out", "Travel")
        }
        setup.create_rule(
            {
                "name": "Hours worked",
                "event": "time_entry",
                "product_id": hourly.id,
                "quantity_mode": "hours",
            }
        )
        fee = db.session.scalar(
            select(Product)
            .where(Product.unit != "h", Product.id != hourly.id)
            .order_by(Product.sku)
        )
        if fee is not None:
            setup.create_rule(
                {
                    "name": "Call-out fee when the survey is done",
                    "event": "task_closed",
                    "product_id": fee.id,
                    "activity_id": activities["Call-out"].id,
                    "quantity_mode": "fixed",
                    "fixed_quantity": Decimal(1),
                }
            )
        today = documents.today()
        job = projects.create_project(
            customers[-1],
            {
                "name": "Service job: bathroom renovation",
                "description": "Pipes, fittings and handover for the second-floor bathrooms.",
            },
        )
        tasks = [
            projects.add_task(
                job,
                {
                    "title": title,
                    "estimate_hours": hours,
                    "assignee_id": worker.id,
                    "activity_id": activities[activity].id,
                },
            )
            for title, hours, activity in TASKS
        ]
        for days_ago, index, minutes, kind, what in ENTRIES:
            timesheets.record_entry(
                worker,
                {
                    "task_id": tasks[index].id,
                    "work_date": today - timedelta(days=days_ago),
                    "minutes": minutes,
                    "kind": kind,
                    "description": what,
                },
            )
        projects.close_task(tasks[0])
        # The handover waits in the owner's stopwatch queue, 20 minutes measured.
        db.session.add(
            WorkTimer(
                user_id=worker.id,
                task_id=tasks[2].id,
                running=False,
                elapsed_seconds=1200,
                paused_at=clock.now(),
            )
        )
        _support_work(customers[0], worker, today)
        db.session.commit()


def _support_work(customer: Customer, worker: User, today: date) -> None:
    """Support hours on a contract with prepaid hours (R4.6): the volume goes first.

    Recorded last month, so this month's volume stays as the contracts demo shows it.
    """
    contract = db.session.scalar(
        select(Contract)
        .join(ContractLine, ContractLine.contract_id == Contract.id)
        .where(Contract.customer_id == customer.id, ContractLine.included_quantity.is_not(None))
        .limit(1)
    )
    support = projects.create_project(
        customer,
        {
            "name": "Support tickets",
            "contract_id": contract.id if contract else None,
            "description": "Small jobs under the support agreement: its included hours first.",
        },
    )
    task = projects.add_task(support, {"title": "Tickets", "assignee_id": worker.id})
    # Last month: 12 hours against the 10 included; the 2 beyond them wait in the inbox.
    last_month = today.replace(day=1) - timedelta(days=10)
    timesheets.record_entry(
        worker,
        {
            "task_id": task.id,
            "work_date": last_month,
            "minutes": 12 * 60,
            "description": "Boiler room replacement, after hours",
        },
    )
