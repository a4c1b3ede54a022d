"""The webhooks demo: one endpoint of a demo company with a delivery log to look at.

The demo has no receiver on the internet, so the log is made of recorded outcomes (most
delivered, one retrying after a 500, one given up after timeouts) for the company's own
latest events; *Send test event* and new events then really try the (unreachable) URL.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from saas import clock
from saas.api.webhooks import signing
from saas.api.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from saas.api.webhooks.services import message_body
from saas.encryption import encrypt
from saas.events.models import DomainEvent
from saas.extensions import db
from saas.tenants import scoping
from saas.tenants.models import Tenant

DEMO_URL = "https://erp.nordlys.example/hooks/fakturia"
DEMO_EVENTS = ["document.issued", "document.paid", "payment.received", "customer.created"]


def seed_webhooks(tenant: Tenant) -> None:
    """Once per tenant: an endpoint for the accounting system and its delivery log."""
    with scoping.tenant_context(tenant.id):
        if db.session.scalar(select(WebhookEndpoint.id).where(WebhookEndpoint.url == DEMO_URL)):
            return
        now = clock.now()
        # Made directly, not through create_endpoint: its host is not looked up (the demo
        # may run offline, and .example names resolve nowhere).
        endpoint = WebhookEndpoint(url=DEMO_URL, events=DEMO_EVENTS, active=True,
                                   description="Accounting system (demo: nothing listens)",
                                   secret_encrypted=encrypt(signing.new_secret()),
                                   secret_rotated_at=now, created_at=now)
        db.session.add(endpoint)
        db.session.flush()
        told = db.session.scalars(
            select(DomainEvent).where(DomainEvent.name.in_(DEMO_EVENTS))
            .order_by(DomainEvent.id.desc()).limit(8)).all()
        for index, event in enumerate(reversed(told)):
            message_id = f"evt_{event.id}"
            at = now - timedelta(hours=len(told) - index)
            delivery = WebhookDelivery(
                endpoint_id=endpoint.id, event_id=event.id, message_id=message_id,
                event_type=event.name, created_at=at, last_attempt_at=at,
                body=message_body(message_id, event.name, event.occurred_at, event.data))
            if index == len(told) - 1:
                delivery.status, delivery.attempts = DeliveryStatus.FAILED, 1
                delivery.response_status, delivery.response_body = 500, "upstream exploded"
                delivery.error = "The endpoint answered HTTP 500."
                delivery.next_attempt_at, delivery.duration_ms = at + timedelta(minutes=1), 87
            elif index == 1:
                delivery.status, delivery.attempts = DeliveryStatus.GIVEN_UP, 6
                delivery.error = "Timed out: no answer within 10 seconds."
                delivery.duration_ms = 10004
            else:
                delivery.status, delivery.attempts = DeliveryStatus.SUCCEEDED, 1
                delivery.response_status, delivery.response_body = 200, '{"received": true}'
                delivery.delivered_at, delivery.duration_ms = at, 42 + index * 7
            db.session.add(delivery)
        db.session.flush()
