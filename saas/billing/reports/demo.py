"""Demo sales for the reports: last month's invoices for every customer, so each report
(sales against the previous period, regions and postcode areas, profitability) shows
something beside this month's documents."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from saas.billing.catalog.models import Product
from saas.billing.customers.models import Customer
from saas.billing.documents import issuing, services
from saas.billing.documents.models import Document
from saas.billing.documents.states import DocumentKind
from saas.extensions import db
from saas.tenants import scoping
from saas.tenants.models import Tenant

MARK = "Last month's services (reports demo)."
POSTCODES = ("5003", "0150", "7010", "4006", "9008", "2317")


def seed_reports(tenant: Tenant) -> None:
    """Once per tenant: a postcode for customers without one, and an invoice a customer
    for last month (products with a cost price, at their sites)."""
    with scoping.tenant_context(tenant.id):
        if db.session.scalar(select(Document.id).where(Document.notes == MARK).limit(1)):
            return
        customers = db.session.scalars(select(Customer).order_by(Customer.number)).all()
        products = db.session.scalars(select(Product).order_by(Product.id)).all()
        if not customers or not products:
            return
        today = services.today()
        last_month = today.replace(day=1) - timedelta(days=1)
        for index, customer in enumerate(customers):
            customer.postal_code = customer.postal_code or POSTCODES[index % len(POSTCODES)]
            invoice = services.create_document(DocumentKind.INVOICE, customer, {"notes": MARK})
            for offset, product in enumerate(products[index % 2 :: 2][:3]):
                values = {"product_id": product.id, "quantity": Decimal(2 + (index + offset) % 5)}
                if customer.sites:
                    values["site_id"] = customer.sites[0].id
                services.add_line(invoice, values)
            issuing.issue_document(invoice, on=last_month.replace(day=min(5 + index, 28)))
        db.session.flush()
