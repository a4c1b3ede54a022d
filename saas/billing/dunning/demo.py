"""Demo collection: a legal path, and the overdue invoice of the reminder demo handed to a
collector — a case opened by the sweep, a call with a promise that was broken, a contact
that is due (late), and the case at the first legal stage with its payment demand."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import select

from saas.billing.documents import services as documents
from saas.billing.dunning import legal, queries, services
from saas.billing.dunning.models import CollectionCase, LegalPath
from saas.billing.dunning.sweep import sweep
from saas.extensions import db
from saas.tenants import scoping
from saas.tenants.models import Tenant

CASE_AGE = 8  # days: the reminder demo's invoice is 36 days overdue, exhausted at 28


def seed_collection(tenant: Tenant) -> None:
    """Once per tenant: a legal path, then the sweep of a week ago and a collector's work.

    The case needs the reminders to have gone out (in-process in ``make run``; with Redis,
    after a worker ran them): until then, seeding again tries again.
    """
    with scoping.tenant_context(tenant.id):
        if db.session.scalar(select(CollectionCase.id)) is not None:
            return
        if db.session.scalar(select(LegalPath.id)) is None:
            path = legal.save_path(None, {"name": "Standard"})
            legal.add_stage(
                path, {"name": "Pre-legal demand", "document": "demand", "days_to_pay": 14}
            )
            legal.add_stage(
                path,
                {
                    "name": "Court filing",
                    "document": "summons",
                    "fee": Decimal("1000.00"),
                    "days_to_pay": 14,
                },
            )
            legal.add_stage(path, {"name": "Judgment", "document": "none", "days_to_pay": 0})
            legal.add_stage(path, {"name": "Enforcement", "document": "none", "days_to_pay": 0})
        today = documents.today()
        db.session.commit()
    opened_on = today - timedelta(days=CASE_AGE)
    sweep(opened_on, [tenant.id])
    with scoping.tenant_context(tenant.id):
        case = db.session.scalar(select(CollectionCase).order_by(CollectionCase.id))
        if case is None:
            return
        if case.collector_id is None:
            members = queries.collectors()
            if members:
                services.assign(case, members[0].user_id, opened_on)
        overdue = queries.overdue_by_currency(case.customer_id, opened_on)
        currency = case.customer.currency
        # Half the overdue amount, beyond what the other demos pay this customer later on,
        # so that the promise shows as broken.
        promised = (overdue.get(currency, Decimal(0)) / 2).quantize(Decimal("0.01"))
        if promised > 0:
            promised += queries.paid_since(case.customer_id, currency, opened_on)
        services.add_note(
            case,
            {
                "channel": "call",
                "outcome": "promised" if promised > 0 else "reached",
                "text": "Spoke to the accountant: half this week, the rest next month.",
                "next_contact_on": opened_on + timedelta(days=3),
                "promise_amount": promised if promised > 0 else None,
                "promise_on": opened_on + timedelta(days=3) if promised > 0 else None,
            },
            opened_on,
            user_id=case.collector_id,
            at=datetime.combine(opened_on, time(10, 30), tzinfo=UTC),
        )
        first = path.stages[0] if (path := case.legal_path) is not None else None
        if first is not None:
            legal.move_to_stage(case, first, today - timedelta(days=2), user_id=case.collector_id)
        db.session.commit()
