"""The collection sweep (hourly, ``rq cron saas.cron``; by hand ``flask collection sweep``).

Per tenant, on its own today, in one transaction:

1. open cases that are paid are closed (what the payment listener did not see);
2. open cases take the customer's invoices that became overdue since;
3. a case opens for each customer without one whose reminder policy is exhausted — an
   invoice whose last level went out and is still open ``notify_after_days`` later, as the
   reminder sweep's unpaid notice says — or whose overdue amount in the tenant's currency is
   above the threshold (*Collection → Settings*).

Invoices paused for another reason (a dispute) and invoices of a case someone closed by
hand do not open a case by themselves. Everything is read from the database, and a
customer has at most one open case (a unique index backs it), so a sweep that runs twice
opens nothing twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import exists, func, or_, select

from saas import clock
from saas.billing.customers.models import Customer
from saas.billing.documents.models import Document
from saas.billing.dunning import queries, rules, services
from saas.billing.dunning.models import (
    CaseInvoice,
    CaseStatus,
    CloseReason,
    CollectionCase,
    OpenReason,
)
from saas.billing.reminders.models import (
    Reminder,
    ReminderLevel,
    ReminderPause,
    ReminderPolicy,
    ReminderStatus,
)
from saas.extensions import db
from saas.queue import job
from saas.tenants import scoping
from saas.tenants.services import tenants_and_zones


@dataclass
class CollectionSweep:
    opened: int = 0
    added: int = 0
    closed: int = 0

    def add(self, other: CollectionSweep) -> None:
        self.opened += other.opened
        self.added += other.added
        self.closed += other.closed


def sweep(today: date | None = None, tenant_ids: Iterable[int] | None = None) -> CollectionSweep:
    """Sweep every tenant (or the ones given), each committed on its own."""
    result = CollectionSweep()
    for tenant_id, timezone in tenants_and_zones(tenant_ids):
        with scoping.tenant_context(tenant_id):
            result.add(sweep_tenant(today or clock.today_in(timezone)))
            db.session.commit()
    return result


def sweep_tenant(today: date) -> CollectionSweep:
    """Close paid cases, add newly overdue invoices, open the cases that are due."""
    result = CollectionSweep()
    open_cases = db.session.scalars(
        select(CollectionCase)
        .where(CollectionCase.status == CaseStatus.OPEN)
        .order_by(CollectionCase.id)
    ).all()
    overdue = queries.overdue_in_tenant_currency(None, today)
    for case in open_cases:
        if overdue.get(case.customer_id, 0) <= 0:
            services.close_paid(case, today)
            result.closed += 1
        else:
            result.added += len(services.add_overdue_invoices(case, today))
    with_case = {case.customer_id for case in open_cases if case.is_open}
    for customer_id, reason in sorted(_due(today).items()):
        if customer_id in with_case:
            continue
        customer = db.session.get(Customer, customer_id)
        services.open_case(customer, OpenReason(reason), today)
        result.opened += 1
    return result


def _not_held(today: date) -> tuple:
    """Invoices that may open a case by themselves: overdue, not disputed (paused by other
    than a case), not in a case closed by hand."""
    p, ci, cc = ReminderPause, CaseInvoice, CollectionCase
    paused = exists().where(
        or_(p.document_id == Document.id, p.customer_id == Document.customer_id),
        ~exists().where(ci.pause_id == p.id),
    )
    written_off = exists().where(
        ci.document_id == Document.id, cc.id == ci.case_id, cc.close_reason == CloseReason.MANUAL
    )
    return (*queries.overdue_condition(today), ~paused, ~written_off)


def _due(today: date) -> dict[int, str]:
    """Customer id → why a case opens for them today (customers with an open case too)."""
    settings = services.settings()
    exhausted: set[int] = set()
    policy = db.session.scalar(select(ReminderPolicy))
    last_day = db.session.scalar(select(func.max(ReminderLevel.days_after_due)))
    if settings.open_after_reminders and policy is not None and last_day is not None:
        exhausted = set(
            db.session.scalars(
                select(Document.customer_id)
                .join(Reminder, Reminder.document_id == Document.id)
                .where(
                    Reminder.level_day == last_day,
                    Reminder.status == ReminderStatus.SENT,
                    Reminder.reminded_on <= today - timedelta(days=policy.notify_after_days),
                    *_not_held(today),
                )
                .distinct()
            )
        )
    amounts = {}
    if settings.threshold is not None:
        amounts = queries.overdue_in_tenant_currency(None, today, *_not_held(today)[4:])
    due = {}
    for customer_id in exhausted | set(amounts):
        reason = rules.opening_reason(
            reminders_exhausted=customer_id in exhausted,
            overdue=amounts.get(customer_id, 0),
            threshold=settings.threshold,
        )
        if reason is not None:
            due[customer_id] = reason
    return due


@job
def run_collection_sweep(day: str | None = None) -> dict[str, int]:
    """Scheduler job (billing queue): the collection sweep of every tenant on its today."""
    result = sweep(date.fromisoformat(day) if day else None)
    return {"opened": result.opened, "added": result.added, "closed": result.closed}
