"""Demo reminders: the suggested policy, and the last weeks replayed day by day.

A new user opens Reminders and sees a friendly note, a reminder and a payment demand that
went out for an overdue invoice (the e-mails are in instance/outbox/ with their letters),
a fee and interest to bill, a to-do after the last level, and a paused invoice.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from saas.billing.catalog.models import Product
from saas.billing.customers.models import Customer
from saas.billing.documents import issuing, services
from saas.billing.documents.models import Document
from saas.billing.documents.states import DocumentKind
from saas.billing.reminders import services as reminders
from saas.billing.reminders.models import ReminderPolicy
from saas.billing.reminders.sweep import sweep
from saas.extensions import db
from saas.tenants import scoping
from saas.tenants.models import Tenant

OVERDUE_DAYS = 36  # past the last level (21 days) and the week after it


def seed_reminders(tenant: Tenant) -> None:
    """Once per tenant: a policy, an overdue invoice, a paused one, and the sweeps replayed."""
    with scoping.tenant_context(tenant.id):
        if db.session.scalar(select(ReminderPolicy.id)) is not None:
            return
        customer = db.session.scalar(select(Customer).order_by(Customer.number))
        product = db.session.scalar(select(Product).order_by(Product.id))
        if customer is None or product is None:
            return
        policy = reminders.adopt_suggested_policy()
        policy.interest_rate = Decimal("11.25")
        today = services.today()
        overdue = services.create_document(DocumentKind.INVOICE, customer)
        services.add_line(overdue, {"product_id": product.id, "quantity": Decimal(3)})
        issue_day = today - timedelta(days=OVERDUE_DAYS + overdue.payment_terms_days)
        issuing.issue_document(overdue, on=issue_day)
        disputed = db.session.scalar(
            select(Document).where(Document.kind == DocumentKind.INVOICE,
                                   Document.number.is_not(None), Document.id != overdue.id)
            .order_by(Document.id))
        if disputed is not None:
            reminders.pause(document=disputed,
                            reason="The customer disputes the hours on site 2; checking logs.")
        first_day = overdue.due_date - timedelta(days=3)
        db.session.commit()
    # Replay the hourly sweep over the past weeks: in the demo the e-mails go out at once.
    day = first_day
    while day <= today:
        sweep(day, [tenant.id])
        day += timedelta(days=1)
