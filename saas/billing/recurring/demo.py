"""Demo recurring invoice: a monthly service agreement that started two months ago."""

from __future__ import annotations

from decimal import Decimal

from dateutil.relativedelta import relativedelta
from sqlalchemy import select

from saas.billing.catalog.models import Product
from saas.billing.customers.models import Customer
from saas.billing.documents import issuing, services
from saas.billing.documents.states import DocumentKind
from saas.billing.recurring import services as recurring
from saas.billing.recurring.models import RecurringInvoice
from saas.extensions import db
from saas.tenants import scoping
from saas.tenants.models import Tenant


def seed_recurring(tenant: Tenant) -> None:
    """Once per tenant: a monthly invoice for the second customer, caught up to today."""
    with scoping.tenant_context(tenant.id):
        if db.session.scalar(select(RecurringInvoice.id).limit(1)) is not None:
            return
        customers = db.session.scalars(select(Customer).order_by(Customer.number)).all()
        product = db.session.scalar(select(Product).order_by(Product.id))
        if len(customers) < 2 or product is None:
            return
        today = services.today()
        start = today - relativedelta(months=2)
        template = services.create_document(DocumentKind.INVOICE, customers[1])
        services.add_line(template, {"product_id": product.id, "quantity": Decimal(1),
                                     "description": f"{product.name} — {{period}}"})
        issuing.issue_document(template, on=start)
        recurring.create(template, {"every": 1, "unit": "months", "start_date": start,
                                    "issue": True, "send": True,
                                    "note": "Monthly service agreement"}, today=start)
        db.session.commit()
    # Made as the hourly job would have: the two months since, and this month, each once.
    recurring.run(today, [tenant.id])
