"""Factories for outbound webhooks: endpoints (with a real encrypted secret) and deliveries."""

from __future__ import annotations

import factory

from saas.api.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from saas.encryption import encrypt
from tests.factories import TenantScopedFactory

SECRET = "whsec_MDEyMzQ1Njc4OWFiY2RlZmdoaWprbG1u"


class WebhookEndpointFactory(TenantScopedFactory):
    class Meta:
        model = WebhookEndpoint

    url = factory.Sequence(lambda n: f"https://hooks.example.com/{n}")
    events = factory.LazyFunction(lambda: ["document.issued"])
    secret_encrypted = factory.LazyFunction(lambda: encrypt(SECRET))


class WebhookDeliveryFactory(TenantScopedFactory):
    """A delivery that failed once (a test ping: no domain event behind it)."""

    class Meta:
        model = WebhookDelivery

    endpoint_id = factory.LazyAttribute(lambda o: WebhookEndpointFactory(tenant=o.tenant).id)
    message_id = factory.Sequence(lambda n: f"evt_test_{n}")
    event_type = "webhook.test"
    body = '{"type":"webhook.test"}'
    status = DeliveryStatus.FAILED
    attempts = 1
    response_status = 500
    response_body = "Internal Server Error"
    error = "The endpoint answered HTTP 500."
