"""POST /stripe/webhook: Stripe's events, verified on the raw body, stored once, queued.

The answer is quick (the work is a job) and says nothing about our data: 400 to a body
whose signature does not verify, 200 to everything else, stored or not.
"""

from __future__ import annotations

import logging

import stripe
from flask import Blueprint, Response, current_app, request

from saas.extensions import db
from saas.portal import stripe_payments
from saas.tenants import scoping
from saas.tenants.models import Tenant

log = logging.getLogger(__name__)
bp = Blueprint("stripe_webhook", __name__, url_prefix="/stripe")


@bp.route("/webhook", methods=["POST"])
def webhook() -> Response:
    secret = current_app.config.get("STRIPE_WEBHOOK_SECRET")
    if not secret:
        return Response("Stripe is not configured.\n", status=400, mimetype="text/plain")
    payload = request.get_data()
    try:
        event = stripe.Webhook.construct_event(
            payload, request.headers.get("Stripe-Signature", ""), secret)
    except (ValueError, stripe.SignatureVerificationError):
        return Response("Bad signature.\n", status=400, mimetype="text/plain")
    data = event.to_dict()
    tenant_id = stripe_payments.tenant_of(data)
    if tenant_id is None or db.session.get(Tenant, tenant_id) is None:
        log.info("Stripe event %s (%s) is for no tenant here", data.get("id"), data.get("type"))
        return Response("Ignored.\n", mimetype="text/plain")
    with scoping.tenant_context(tenant_id):
        stripe_payments.store_event(data)
        db.session.commit()
    return Response("OK\n", mimetype="text/plain")
