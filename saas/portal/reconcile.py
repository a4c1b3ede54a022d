"""Reconciling with Stripe: payments whose webhook never came (issue 8).

Stripe retries a webhook for days, but an endpoint that is down, misconfigured or answered
400 by a bad secret can still lose one. Every hour (``saas.cron``) and by hand
(``flask portal reconcile``) the Checkout Sessions created in the last
STRIPE_RECONCILE_HOURS are listed from Stripe, page by page; each paid one carrying our
metadata is recorded through ``record_checkout_payment`` in its tenant. That records a
payment once by its reference (the payment intent), so a session whose webhook did come,
or a second run, changes nothing. One transaction per session: one bad session does not
hold back the others.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from flask import current_app

from saas import clock
from saas.extensions import db
from saas.portal import stripe_payments
from saas.queue import job
from saas.tenants import scoping
from saas.tenants.services import tenants_and_zones

log = logging.getLogger(__name__)
PAGE_SIZE = 100  # Stripe's largest page


@dataclass
class ReconcileResult:
    sessions: int = 0  # listed
    paid: int = 0  # paid and ours
    recorded: list[str] = field(default_factory=list)  # "tenant 3: payment 12 recorded (cs_...)"
    failed: int = 0


def is_possible() -> bool:
    """Only with a real Stripe account: the demo checkout has no API to ask."""
    return stripe_payments.is_configured() and not stripe_payments.is_demo()


def list_recent_sessions(hours: int) -> list[dict]:
    """The Checkout Sessions created in the last hours, every page of them."""
    since = int((clock.now() - timedelta(hours=hours)).timestamp())
    api = stripe_payments.client().v1.checkout.sessions
    params: dict = {"created": {"gte": since}, "limit": PAGE_SIZE}
    sessions: list[dict] = []
    while True:
        page = api.list(params=params)
        found = [item.to_dict() for item in page.data]
        sessions.extend(found)
        if not page.has_more or not found:
            return sessions
        params = {**params, "starting_after": found[-1]["id"]}


def _ours(session: dict) -> int | None:
    """The tenant of a paid session of ours, or None to skip it."""
    if session.get("payment_status") != "paid":
        return None
    metadata = session.get("metadata") or {}
    if "customer_id" not in metadata:
        return None
    return stripe_payments.tenant_of({"data": {"object": session}})


def reconcile(hours: int | None = None) -> ReconcileResult:
    """Record every paid session of the last hours that has no payment yet."""
    hours = hours or int(current_app.config["STRIPE_RECONCILE_HOURS"])
    result = ReconcileResult()
    sessions = list_recent_sessions(hours)
    result.sessions = len(sessions)
    wanted = [(session, tenant_id) for session in sessions
              if (tenant_id := _ours(session)) is not None]
    known = {tenant_id for tenant_id, _ in
             tenants_and_zones({tenant_id for _, tenant_id in wanted})}
    for session, tenant_id in wanted:
        if tenant_id not in known:
            continue
        result.paid += 1
        try:
            with scoping.tenant_context(tenant_id):
                outcome = stripe_payments.record_checkout_payment(session, tenant_id)
                db.session.commit()
        except Exception:
            db.session.rollback()
            log.exception("reconciling Stripe session %s failed", session.get("id"))
            result.failed += 1
            continue
        if outcome.startswith("payment "):
            log.warning("Stripe session %s had no payment: %s", session["id"], outcome)
            result.recorded.append(f"tenant {tenant_id}: {outcome} ({session['id']})")
    return result


@job
def reconcile_checkouts() -> dict[str, int]:
    """Scheduler job (billing queue): record paid sessions whose webhook never came."""
    if not is_possible():
        return {"sessions": 0, "paid": 0, "recorded": 0, "failed": 0}
    result = reconcile()
    return {"sessions": result.sessions, "paid": result.paid,
            "recorded": len(result.recorded), "failed": result.failed}
