"""The portal's demo: a sign-in link for a demo customer's contact (`make run` prints it),
and Stripe as a demo tenant sees it (own test-mode keys, a declined card, an expired
checkout)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from saas import clock
from saas.billing.customers.models import Contact
from saas.billing.documents.models import Document
from saas.billing.documents.states import DocumentKind, DocumentStatus
from saas.extensions import db
from saas.portal.links import sign_in_url
from saas.portal.models import StripeEvent
from saas.portal.stripe_connections import connection_of_current_tenant, save_own_keys
from saas.portal.stripe_events import process
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


def _demo_contact() -> Contact | None:
    """The portal's demo contact: of the customer with a quote awaiting an answer."""
    return db.session.scalar(
        select(Contact)
        .join(Document, Document.customer_id == Contact.customer_id)
        .where(
            Contact.portal_access.is_(True),
            Contact.email != "",
            Document.kind == DocumentKind.QUOTE,
            Document.status == DocumentStatus.SENT,
        )
        .order_by(Document.id)
        .limit(1)
    )


def demo_sign_in(tenant_slug: str) -> DemoSignIn | None:
    """A new sign-in link for the contact of the customer with a quote awaiting an answer."""
    tenant = db.session.scalar(select(Tenant).where(Tenant.slug == tenant_slug))
    if tenant is None:
        return None
    with scoping.tenant_context(tenant.id):
        contact = _demo_contact()
        if contact is None:
            return None
        url = sign_in_url(contact, DEMO_LINK_LIFETIME)
        return DemoSignIn(
            url=url,
            contact=contact.name,
            customer=contact.customer.name,
            tenant=tenant.display_name,
        )


# --- Stripe -----------------------------------------------------------------------------------

# Test-mode keys that look like Stripe's; the demo never calls Stripe with them (STRIPE_DEMO).
DEMO_SECRET_KEY = "sk_test_51DemoKeysOfThisTenant00000000demo"
DEMO_WEBHOOK_SECRET = "whsec_DemoSigningSecretOfThisTenant0000"


def seed_stripe(tenant: Tenant, *, own_keys: bool) -> None:
    """Once per tenant: own test-mode Stripe keys (if asked), and a card payment that was
    declined and a checkout left unpaid by the portal's demo customer (events page, portal)."""
    with scoping.tenant_context(tenant.id):
        if own_keys and connection_of_current_tenant() is None:
            save_own_keys(DEMO_SECRET_KEY, DEMO_WEBHOOK_SECRET)
        contact = _demo_contact()
        if contact is None:
            return
        customer = str(contact.customer_id)
        metadata = {"tenant_id": str(tenant.id), "customer_id": customer, "amount": "0"}
        for suffix, kind, obj in (
            (
                "declined",
                "payment_intent.payment_failed",
                {
                    "id": f"pi_demo_declined_{tenant.id}",
                    "object": "payment_intent",
                    "amount": 125000,
                    "currency": contact.customer.currency.lower(),
                    "status": "requires_payment_method",
                    "metadata": metadata,
                    "last_payment_error": {
                        "code": "card_declined",
                        "message": "Your card was declined.",
                    },
                },
            ),
            (
                "expired",
                "checkout.session.expired",
                {
                    "id": f"cs_demo_expired_{tenant.id}",
                    "object": "checkout.session",
                    "amount_total": 125000,
                    "currency": contact.customer.currency.lower(),
                    "status": "expired",
                    "payment_status": "unpaid",
                    "metadata": metadata,
                },
            ),
        ):
            event_id = f"evt_demo_{suffix}_{tenant.id}"
            if db.session.scalar(select(StripeEvent.id).where(StripeEvent.event_id == event_id)):
                continue
            row = StripeEvent(
                event_id=event_id,
                type=kind,
                payload={
                    "id": event_id,
                    "object": "event",
                    "type": kind,
                    "livemode": False,
                    "created": int(clock.now().timestamp()),
                    "data": {"object": obj},
                },
            )
            db.session.add(row)
            db.session.flush()
            process(row)
        db.session.commit()
