"""Demo documents: the whole chain, so a new user sees every kind and state at once."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from saas.billing.catalog.models import Product
from saas.billing.customers.models import Customer, DeliveryPreference
from saas.billing.documents import conversion, issuing, services
from saas.billing.documents.delivery import send_document
from saas.billing.documents.models import Document
from saas.billing.documents.states import DocumentKind, DocumentStatus
from saas.extensions import db
from saas.tenants import scoping
from saas.tenants.models import Tenant

K, S = DocumentKind, DocumentStatus


def seed_documents(tenant: Tenant) -> None:
    """Quote → order → partial invoice, a credited invoice, a proforma, drafts (once)."""
    with scoping.tenant_context(tenant.id):
        if db.session.scalar(select(Document.id).limit(1)) is not None:
            return
        customers = db.session.scalars(select(Customer).order_by(Customer.number)).all()
        products = db.session.scalars(select(Product).order_by(Product.id)).all()
        if len(customers) < 2 or len(products) < 2:
            return
        today = services.today()
        first, second = customers[0], customers[1]
        second.delivery_preference = DeliveryPreference.BOTH  # Documents → Post shows it
        sites = first.sites

        def draft(kind, customer, lines, **header):
            document = services.create_document(kind, customer, header)
            for product, quantity in lines:
                values = {"product_id": product.id, "quantity": Decimal(quantity)}
                if sites and customer.id == first.id:
                    values["site_id"] = sites[0].id
                services.add_line(document, values)
            return document

        quote = draft(K.QUOTE, first, [(products[0], "12"), (products[1], "3")],
                      notes="Prices valid for work ordered this year.")
        issuing.issue_document(quote, on=today - timedelta(days=20))
        order = conversion.convert_quote_to_order(quote)
        services.update_line(order.lines[0], {"product_id": products[0].id,
                                              "quantity": Decimal("16"),
                                              "site_id": order.lines[0].site_id})
        issuing.issue_document(order, on=today - timedelta(days=15))
        invoice = conversion.invoice_order(order, {order.lines[0].id: Decimal("10")})
        issuing.issue_document(invoice, on=today - timedelta(days=10))
        send_document(invoice)  # make run: the e-mail lands in instance/outbox/

        credited = draft(K.INVOICE, second, [(products[0], "2"), (products[-1], "1")],
                         payment_reference="")
        issuing.issue_document(credited, on=today - timedelta(days=30))
        note = conversion.create_credit_note(credited, {credited.lines[-1].id: Decimal("1")})
        issuing.issue_document(note, on=today - timedelta(days=5))

        proforma = draft(K.PROFORMA, second, [(products[1], "5")])
        issuing.issue_document(proforma, on=today - timedelta(days=3))

        draft(K.INVOICE, first, [(products[-1], "1")],
              notes="Draft: add lines, then issue it.")
        sent = draft(K.QUOTE, second, [(products[0], "40")])
        issuing.issue_document(sent, on=today - timedelta(days=2))
        db.session.flush()
