"""A document issued to a customer whose contact may use the portal, for the portal's
browser tests."""

from __future__ import annotations

import uuid
from decimal import Decimal

from saas.billing.catalog.models import VatCategory, VatRate
from saas.billing.customers import services as customers
from saas.billing.documents import delivery, issuing
from saas.billing.documents import services as documents
from saas.billing.documents.states import DocumentKind
from saas.extensions import db
from saas.tenants import scoping


def issued_to_a_portal_contact(app, account, kind: DocumentKind, *, customer: str,  # noqa: ANN001
                               contact: str, line: str, price: str,
                               send: bool = False) -> tuple[str, str, str]:
    """Issue a one-line document of the kind to a new NOK customer whose contact may use
    the portal (and e-mail it to them when ``send``); (their e-mail, number, public id)."""
    email = f"{kind.slug[:5]}-{uuid.uuid4().hex[:12]}@example.com"
    with app.app_context(), scoping.tenant_context(account.tenant_id):
        vat = VatRate(code="25", name="Standard", rate=Decimal(25),
                      category=VatCategory.STANDARD)
        db.session.add(vat)
        buyer = customers.create_customer({"name": customer, "country": "NO",
                                           "currency": "NOK", "language": "nb"})
        customers.add_contact(buyer, {"name": contact, "email": email,
                                      "portal_access": True, "receives_invoices": True})
        db.session.flush()
        document = documents.create_document(kind, buyer)
        documents.add_line(document, {"description": line, "quantity": Decimal(1),
                                      "unit_price": Decimal(price), "vat_rate_id": vat.id})
        issuing.issue_document(document)
        if send:
            delivery.send_document(document, email)
        number, public_id = document.number, document.public_id
        db.session.commit()
    return email, number, public_id
