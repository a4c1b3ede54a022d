"""Webhook endpoints and deliveries: subscribe, tell of events, post, retry, replay."""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import func, select

from saas import clock
from saas.api.webhooks import policy, sending, signing
from saas.api.webhooks.models import (
    TEST_EVENT,
    DeliveryStatus,
    WebhookDelivery,
    WebhookEndpoint,
)
from saas.encryption import SecretUnreadable, decrypt, encrypt
from saas.events import EVENT_NAMES, DomainEvent, consumer
from saas.extensions import db
from saas.queue import EVENTS_QUEUE, enqueue, job
from saas.tenants import audit, scoping
from saas.tenants.models import Tenant
from saas.tenants.services import ServiceError, tenants_and_zones

log = logging.getLogger(__name__)

# A pending delivery whose job has not run by then (Redis was down, the worker was
# killed) is sent by the retry sweep.
LOST_AFTER = timedelta(minutes=5)


class EndpointRefused(ServiceError):
    """Endpoint input that cannot be saved, with the form field it concerns."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def utc(moment: datetime) -> datetime:
    """The moment in UTC (SQLite keeps no zone: the app stores UTC)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


# --- endpoints ------------------------------------------------------------------------------


def checked_url(url: str) -> str:
    """The URL if a webhook may be sent to it; else EndpointRefused naming the problem."""
    try:
        url = policy.check_url(url)
        if not current_app.config["WEBHOOKS_ALLOW_PRIVATE_HOSTS"]:
            policy.check_host(url, sending.resolve)
    except policy.UrlRefused as exc:
        raise EndpointRefused(str(exc), "url") from exc
    return url


def checked_events(names: Iterable[str]) -> list[str]:
    """The chosen event names in the catalogue's order; at least one, all known."""
    chosen = set(names)
    unknown = chosen - EVENT_NAMES.keys()
    if unknown:
        raise EndpointRefused(f"Unknown events: {', '.join(sorted(unknown))}.", "events")
    if not chosen:
        raise EndpointRefused("Choose at least one event to send to this endpoint.", "events")
    return [name for name in EVENT_NAMES if name in chosen]


def create_endpoint(url: str, events: Iterable[str], description: str = "",
                    active: bool = True, *, user_id: int | None = None
                    ) -> tuple[WebhookEndpoint, str]:
    """Add an endpoint with a new signing secret; return it and the secret (shown once)."""
    secret = signing.new_secret()
    endpoint = WebhookEndpoint(url=checked_url(url), events=checked_events(events),
                               description=description.strip()[:200], active=active,
                               secret_encrypted=encrypt(secret), created_by_id=user_id,
                               secret_rotated_at=clock.now(), created_at=clock.now())
    db.session.add(endpoint)
    db.session.flush()
    audit.record("webhook.created", endpoint, f"Webhook endpoint {endpoint.url} added",
                 {"events": endpoint.events}, user_id=user_id)
    return endpoint, secret


def update_endpoint(endpoint: WebhookEndpoint, url: str, events: Iterable[str],
                    description: str, active: bool, *, user_id: int | None = None) -> None:
    """Change an endpoint; switching it on again clears the reason it was switched off."""
    url, events = checked_url(url), checked_events(events)
    before = {"url": endpoint.url, "events": endpoint.events, "active": endpoint.active}
    endpoint.url, endpoint.events = url, events
    endpoint.description, endpoint.active = description.strip()[:200], active
    if active:
        endpoint.disabled_reason, endpoint.failing_since = None, None
    after = {"url": endpoint.url, "events": endpoint.events, "active": endpoint.active}
    changed = {key: [before[key], after[key]] for key in after if before[key] != after[key]}
    audit.record("webhook.updated", endpoint, f"Webhook endpoint {endpoint.url} changed",
                 changed, user_id=user_id)


def rotate_secret(endpoint: WebhookEndpoint, *, user_id: int | None = None) -> str:
    """Give the endpoint a new signing secret (the old one stops working); return it."""
    secret = signing.new_secret()
    endpoint.secret_encrypted, endpoint.secret_rotated_at = encrypt(secret), clock.now()
    audit.record("webhook.secret_rotated", endpoint,
                 f"Signing secret of webhook endpoint {endpoint.url} replaced", user_id=user_id)
    return secret


def secret_of(endpoint: WebhookEndpoint) -> str:
    """The endpoint's signing secret, decrypted to sign with."""
    try:
        return decrypt(endpoint.secret_encrypted)
    except SecretUnreadable as exc:
        raise ServiceError("The endpoint's signing secret cannot be decrypted (the"
                           " installation's encryption key changed): rotate the secret.") from exc


@dataclass(frozen=True)
class EndpointSummary:
    endpoint: WebhookEndpoint
    succeeded: int
    finished: int
    last_delivery_at: datetime | None

    @property
    def success_rate(self) -> int | None:
        return policy.success_rate(self.succeeded, self.finished)


def endpoint_summaries(days: int = 7) -> list[EndpointSummary]:
    """The current tenant's endpoints with how their recent deliveries went."""
    since = clock.now() - timedelta(days=days)
    finished = WebhookDelivery.status.in_(
        (DeliveryStatus.SUCCEEDED, DeliveryStatus.FAILED, DeliveryStatus.GIVEN_UP))
    counts = {
        endpoint_id: (succeeded or 0, done or 0, last)
        for endpoint_id, succeeded, done, last in db.session.execute(
            select(WebhookDelivery.endpoint_id,
                   func.count().filter(WebhookDelivery.status == DeliveryStatus.SUCCEEDED),
                   func.count().filter(finished),
                   func.max(WebhookDelivery.created_at))
            .where(WebhookDelivery.created_at >= since)
            .group_by(WebhookDelivery.endpoint_id))
    }
    endpoints = db.session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id))
    return [EndpointSummary(endpoint, *counts.get(endpoint.id, (0, 0, None)))
            for endpoint in endpoints]


# --- deliveries -----------------------------------------------------------------------------


def message_body(message_id: str, event_type: str, created: datetime,
                 data: dict[str, Any]) -> str:
    """The JSON posted for one message of the current tenant (kept as sent, for the log)."""
    company = db.session.get(Tenant, scoping.require_tenant_id())
    return json.dumps({"id": message_id, "type": event_type, "created": utc(created).isoformat(),
                       "company": company.slug, "data": data},
                      ensure_ascii=False, separators=(",", ":"))


def _add_delivery(endpoint: WebhookEndpoint, *, message_id: str, event_type: str, body: str,
                  event_id: int | None, replay_number: int = 0,
                  replay_of_id: int | None = None) -> WebhookDelivery:
    now = clock.now()
    delivery = WebhookDelivery(endpoint_id=endpoint.id, event_id=event_id,
                               replay_number=replay_number, replay_of_id=replay_of_id,
                               message_id=message_id, event_type=event_type, body=body,
                               status=DeliveryStatus.PENDING, next_attempt_at=now + LOST_AFTER,
                               created_at=now)
    db.session.add(delivery)
    db.session.flush()
    _ask_to_send(delivery)
    return delivery


def _ask_to_send(delivery: WebhookDelivery) -> None:
    # The job id names the try, so a sweep that runs twice queues it once.
    enqueue(deliver_webhook, delivery.id, tenant_id=delivery.tenant_id, queue=EVENTS_QUEUE,
            job_id=f"webhook-{delivery.tenant_id}-{delivery.id}-{delivery.attempts}")


@consumer
def on_events(events: Sequence[DomainEvent]) -> None:
    """Write a delivery of each event for each endpoint that wants it (once per endpoint)."""
    endpoints = db.session.scalars(select(WebhookEndpoint).where(
        WebhookEndpoint.active.is_(True)).order_by(WebhookEndpoint.id)).all()
    wanted = [(event, [e for e in endpoints if e.wants(event.name)]) for event in events]
    wanted = [(event, chosen) for event, chosen in wanted if chosen]
    if not wanted:
        return
    told = {(event_id, endpoint_id) for event_id, endpoint_id in db.session.execute(
        select(WebhookDelivery.event_id, WebhookDelivery.endpoint_id)
        .where(WebhookDelivery.event_id.in_([e.id for e, _ in wanted]),
               WebhookDelivery.replay_number == 0))}
    for event, chosen in wanted:
        message_id = f"evt_{event.id}"
        body = message_body(message_id, event.name, event.occurred_at, event.data)
        for endpoint in chosen:
            if (event.id, endpoint.id) not in told:  # handed over again: not sent again
                _add_delivery(endpoint, message_id=message_id, event_type=event.name,
                              body=body, event_id=event.id)


def send_test(endpoint: WebhookEndpoint, *, user_id: int | None = None) -> WebhookDelivery:
    """Queue a webhook.test ping to the endpoint (whatever events it wants)."""
    message_id = f"evt_test_{secrets.token_hex(8)}"
    delivery = _add_delivery(
        endpoint, message_id=message_id, event_type=TEST_EVENT, event_id=None,
        body=message_body(message_id, TEST_EVENT, clock.now(),
                          {"message": "A test event from Fakturia: your endpoint is reachable.",
                           "endpoint_id": endpoint.id}))
    audit.record("webhook.tested", endpoint, f"Test event sent to {endpoint.url}",
                 user_id=user_id)
    return delivery


def replay(delivery: WebhookDelivery, *, user_id: int | None = None) -> WebhookDelivery:
    """Send a delivery's message again, now, as a new delivery of its own."""
    if delivery.event_id is None:
        number = delivery.replay_number + 1
    else:
        number = 1 + (db.session.scalar(
            select(func.max(WebhookDelivery.replay_number)).where(
                WebhookDelivery.endpoint_id == delivery.endpoint_id,
                WebhookDelivery.event_id == delivery.event_id)) or 0)
    again = _add_delivery(delivery.endpoint, message_id=delivery.message_id,
                          event_type=delivery.event_type, body=delivery.body,
                          event_id=delivery.event_id, replay_number=number,
                          replay_of_id=delivery.id)
    audit.record("webhook.replayed", again,
                 f"{delivery.event_type} sent again to {delivery.endpoint.url}",
                 {"replay_of": delivery.id}, user_id=user_id)
    return again


def _claim(delivery_id: int) -> WebhookDelivery | None:
    """Lock a delivery that may be tried now; None when another worker holds it or it is done.

    The row stays locked until the trying transaction commits, so two workers (a job and
    the sweep's job, say) never post it at once; a succeeded one is never posted again.
    """
    statement = select(WebhookDelivery).where(
        WebhookDelivery.id == delivery_id,
        WebhookDelivery.status.in_((DeliveryStatus.PENDING, DeliveryStatus.FAILED)))
    if db.session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update(skip_locked=True)
    delivery = db.session.scalar(statement.execution_options(populate_existing=True))
    if delivery is None:
        return None
    if delivery.status == DeliveryStatus.FAILED and (
            delivery.next_attempt_at is None or utc(delivery.next_attempt_at) > clock.now()):
        return None  # not due yet: a retry is driven by the database, not by the job
    return delivery


def attempt(delivery_id: int) -> WebhookDelivery | None:
    """Try one delivery once, if it is due, and record how it went."""
    delivery = _claim(delivery_id)
    if delivery is None:
        return None
    endpoint, config = delivery.endpoint, current_app.config
    if not endpoint.active:
        delivery.status, delivery.next_attempt_at = DeliveryStatus.GIVEN_UP, None
        delivery.error = "Not sent: the endpoint is switched off."
        return delivery
    timestamp = int(clock.now().timestamp())
    try:
        headers = signing.headers(secret_of(endpoint), delivery.message_id, timestamp,
                                  delivery.body)
    except ServiceError as exc:
        outcome = sending.Outcome(ok=False, error=str(exc))
    else:
        outcome = sending.post(endpoint.url, delivery.body, headers,
                               timeout=config["WEBHOOK_TIMEOUT_SECONDS"],
                               allow_private_hosts=config["WEBHOOKS_ALLOW_PRIVATE_HOSTS"])
    record_outcome(delivery, outcome)
    return delivery


def record_outcome(delivery: WebhookDelivery, outcome: sending.Outcome) -> None:
    """Write one try's result on the delivery and its endpoint; schedule the next try."""
    now, endpoint = clock.now(), delivery.endpoint
    delivery.attempts += 1
    delivery.last_attempt_at = now
    delivery.response_status, delivery.response_body = outcome.status_code, outcome.body
    delivery.duration_ms, delivery.error = outcome.duration_ms, outcome.error
    if outcome.ok:
        delivery.status, delivery.delivered_at, delivery.next_attempt_at = (
            DeliveryStatus.SUCCEEDED, now, None)
        endpoint.failing_since = None
        return
    retry_at = policy.next_attempt_at(delivery.attempts,
                                      current_app.config["WEBHOOK_RETRY_MINUTES"], now)
    delivery.status = DeliveryStatus.FAILED if retry_at else DeliveryStatus.GIVEN_UP
    delivery.next_attempt_at = retry_at
    endpoint.failing_since = utc(endpoint.failing_since or now)
    limit = timedelta(hours=current_app.config["WEBHOOK_DISABLE_AFTER_HOURS"])
    if endpoint.active and now - endpoint.failing_since >= limit:
        endpoint.active = False
        endpoint.disabled_reason = (
            f"Switched off on {now:%Y-%m-%d %H:%M} UTC: every delivery failed since"
            f" {endpoint.failing_since:%Y-%m-%d %H:%M} UTC (last: {outcome.error})."
            " Fix the receiver, then switch the endpoint on again and replay what it missed.")
        audit.record("webhook.disabled", endpoint, endpoint.disabled_reason[:500])


@job
def deliver_webhook(delivery_id: int) -> str | None:
    """Job: try one delivery if it is due; returns its status."""
    delivery = attempt(delivery_id)
    return None if delivery is None else delivery.status.value


# --- the retry sweep ------------------------------------------------------------------------


def due_delivery_ids(now: datetime) -> list[int]:
    """The current tenant's deliveries whose next try is due (retries, and lost first tries)."""
    return list(db.session.scalars(
        select(WebhookDelivery.id).where(
            WebhookDelivery.status.in_((DeliveryStatus.PENDING, DeliveryStatus.FAILED)),
            WebhookDelivery.next_attempt_at <= now)
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)))


def queue_due_retries(tenant_ids: Iterable[int] | None = None) -> int:
    """Ask for a job for every due delivery in every (or the given) tenant; how many."""
    now, queued = clock.now(), 0
    for tenant_id, _ in tenants_and_zones(tenant_ids):
        with scoping.tenant_context(tenant_id):
            for delivery in db.session.scalars(select(WebhookDelivery).where(
                    WebhookDelivery.id.in_(due_delivery_ids(now)))):
                _ask_to_send(delivery)
                queued += 1
        db.session.commit()
    return queued


def send_due_retries(tenant_ids: Iterable[int] | None = None) -> dict[str, int]:
    """Try every due delivery now, here, one transaction each (the CLI); counts by status."""
    now, done = clock.now(), {}
    for tenant_id, _ in tenants_and_zones(tenant_ids):
        with scoping.tenant_context(tenant_id):
            ids = due_delivery_ids(now)
            db.session.commit()
            for delivery_id in ids:
                with scoping.tenant_context(tenant_id):
                    delivery = attempt(delivery_id)
                    if delivery is not None:
                        done[delivery.status.value] = done.get(delivery.status.value, 0) + 1
                    db.session.commit()
    return done


@job
def run_webhook_retries() -> int:
    """Scheduler job: queue the deliveries whose next try is due; returns how many."""
    return queue_due_retries()
