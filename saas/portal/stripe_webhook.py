"""Stripe's events, verified on the raw body, stored once, queued.

Two kinds of endpoint:

- ``POST /stripe/webhook``: the platform's account (STRIPE_WEBHOOK_SECRET), and the
  Connect accounts under it (their events carry ``account``). The tenant is the one our
  session's metadata names; an event without metadata (``charge.refunded``) is traced
  through its payment intent, read from Stripe. A Connect event counts only for the
  tenant connected to that very account: a connected account's owner could put any
  metadata on sessions of their own.
- ``POST /stripe/webhook/<tenant_slug>``: a tenant's own Stripe account, verified with the
  tenant's own signing secret (the settings page shows the address to give Stripe).

The answer is quick (the work is a job) and says nothing about our data: 400 to a body
whose signature does not verify, 200 to everything else, stored or not.
"""

from __future__ import annotations

import logging

import stripe
from flask import Blueprint, Response, current_app, g, request

from saas.extensions import db
from saas.portal import stripe_connections, stripe_events
from saas.portal.models import ConnectionKind
from saas.tenants import scoping
from saas.tenants.models import Tenant

log = logging.getLogger(__name__)
bp = Blueprint("stripe_webhook", __name__, url_prefix="/stripe")


def _verified(secret: str | None) -> dict | Response:
    if not secret:
        return Response("Stripe is not configured.\n", status=400, mimetype="text/plain")
    try:
        event = stripe.Webhook.construct_event(
            request.get_data(), request.headers.get("Stripe-Signature", ""), secret
        )
    except (ValueError, stripe.SignatureVerificationError):
        return Response("Bad signature.\n", status=400, mimetype="text/plain")
    return event.to_dict()


def _ignored(event: dict, why: str) -> Response:
    log.info("Stripe event %s (%s) ignored: %s", event.get("id"), event.get("type"), why)
    return Response("Ignored.\n", mimetype="text/plain")


def _ok() -> Response:
    return Response("OK\n", mimetype="text/plain")


def _tenant_by_payment_intent(event: dict) -> int | None:
    """The tenant of an event without our metadata, from its payment intent's metadata."""
    intent = ((event.get("data") or {}).get("object") or {}).get("payment_intent")
    platform = stripe_connections.platform_account()
    if not intent or platform is None or platform.is_demo:
        return None
    options = {"stripe_account": event["account"]} if event.get("account") else {}
    try:
        found = platform.client().v1.payment_intents.retrieve(str(intent), options=options)
    except stripe.StripeError:
        log.warning("Stripe event %s: payment intent %s not readable", event.get("id"), intent)
        return None
    return stripe_events.tenant_of({"data": {"object": found.to_dict()}})


@bp.route("/webhook", methods=["POST"])
def webhook() -> Response:
    """The platform's events and its Connect accounts'."""
    event = _verified(current_app.config.get("STRIPE_WEBHOOK_SECRET"))
    if isinstance(event, Response):
        return event
    tenant_id = stripe_events.tenant_of(event) or _tenant_by_payment_intent(event)
    if tenant_id is None or db.session.get(Tenant, tenant_id) is None:
        return _ignored(event, "for no tenant here")
    with scoping.tenant_context(tenant_id):
        if account := event.get("account"):
            connection = stripe_connections.connection_of_current_tenant()
            if (
                connection is None
                or connection.kind != ConnectionKind.CONNECT
                or connection.account_id != account
            ):
                return _ignored(event, f"{account} is not tenant {tenant_id}'s account")
        stripe_events.store_event(event)
        db.session.commit()
    return _ok()


@bp.route("/webhook/<tenant_slug>", methods=["POST"])
def tenant_webhook() -> Response:
    """A tenant's own Stripe account's events, signed with the tenant's secret."""
    event = _verified(stripe_connections.webhook_secret_of_current_tenant())
    if isinstance(event, Response):
        return event
    named = stripe_events.tenant_of(event)
    if named is not None and named != g.tenant.id:
        return _ignored(event, f"names tenant {named}, came to {g.tenant.slug}'s endpoint")
    stripe_events.store_event(event)
    db.session.commit()
    return _ok()
