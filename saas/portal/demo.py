"""The run command's way into the portal: a sign-in link for a demo customer's contact."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from saas.billing.customers.models import Contact
from saas.billing.documents.models import Document
from saas.billing.documents.states import DocumentKind, DocumentStatus
from saas.extensions import db
from saas.portal.links import sign_in_url
from saas.tenants import scoping
from saas.tenants.models import Tenant

# Longer than a real link's half hour: the output of `make run` is read at leisure.
DEMO_LINK_LIFETIME = timedelta(days=1)


@dataclass(frozen=True)
class DemoSignIn:
    url: str
    contact: str
    customer: str
    tenant: str


def demo_sign_in(tenant_slug: str) -> DemoSignIn | None:
    """A new sign-in link for the contact of the customer with a quote awaiting an answer."""
    tenant = db.session.scalar(select(Tenant).where(Tenant.slug == tenant_slug))
    if tenant is None:
        return None
    with scoping.tenant_context(tenant.id):
        contact = db.session.scalar(
            select(Contact).join(Document, Document.customer_id == Contact.customer_id)
            .where(Contact.portal_access.is_(True), Contact.email != "",
                   Document.kind == DocumentKind.QUOTE, Document.status == DocumentStatus.SENT)
            .order_by(Document.id).limit(1))
        if contact is None:
            return None
        url = sign_in_url(contact, DEMO_LINK_LIFETIME)
        return DemoSignIn(url=url, contact=contact.name, customer=contact.customer.name,
                          tenant=tenant.display_name)
