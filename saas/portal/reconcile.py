"""Reconciling with Stripe: payments whose webhook never came (issue 8).

Stripe retries a webhook for days, but an endpoint that is down, misconfigured or answered
400 by a bad secret can still lose one. Every hour (``saas.cron``) and by hand
(``flask portal reconcile``) the Checkout Sessions created in the last
STRIPE_RECONCILE_HOURS are listed from every Stripe account payments go through (the
platform's, each Connect account under it, each tenant's own keys), page by page; each
paid one carrying our metadata is recorded through ``record_checkout_payment`` in its
tenant. A tenant's own account or Connect account counts only for that tenant. That records a
payment once by its reference (the payment intent), so a session whose webhook did come,
or a second run, changes nothing. One transaction per session: one bad session does not
hold back the others.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

import stripe
from flask import current_app

from saas import clock
from saas.extensions import db
from saas.portal import stripe_connections, stripe_events, stripe_payments
from saas.portal.stripe_connections import StripeAccount
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
    """Not in the demo: its checkout has no API to ask."""
    return not stripe_connections.is_demo()


def accounts_to_read() -> list[tuple[StripeAccount, int | None]]:
    """Every account payments go through, each with the one tenant it is for (None: the
    platform's own account, for whichever tenant a session names)."""
    accounts: list[tuple[StripeAccount, int | None]] = []
    platform = stripe_connections.platform_account()
    if platform is not None and not platform.is_demo:
        accounts.append((platform, None))
    for tenant_id, _ in tenants_and_zones():
        with scoping.tenant_context(tenant_id):
            connection = stripe_connections.connection_of_current_tenant()
            try:
                account = stripe_connections.account_of(connection) if connection else None
            except stripe_connections.KeysUnreadable:
                log.error("tenant %s: its Stripe keys cannot be decrypted", tenant_id)
                account = None
        if account is not None:
            accounts.append((account, tenant_id))
    db.session.commit()
    return accounts


def list_recent_sessions(hours: int, account: StripeAccount) -> list[dict]:
    """The account's Checkout Sessions created in the last hours, every page of them."""
    since = int((clock.now() - timedelta(hours=hours)).timestamp())
    api = account.client().v1.checkout.sessions
    params: dict = {"created": {"gte": since}, "limit": PAGE_SIZE}
    sessions: list[dict] = []
    while True:
        page = api.list(params=params, options=account.options())
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
    return stripe_events.tenant_of({"data": {"object": session}})


def reconcile(hours: int | None = None) -> ReconcileResult:
    """Record every paid session of the last hours that has no payment yet."""
    hours = hours or int(current_app.config["STRIPE_RECONCILE_HOURS"])
    result = ReconcileResult()
    wanted: list[tuple[dict, int]] = []
    for account, only_tenant in accounts_to_read():
        try:
            sessions = list_recent_sessions(hours, account)
        except stripe.StripeError:  # a tenant's revoked key must not stop the others
            log.exception(
                "listing Checkout Sessions (%s, tenant %s) failed", account.source, only_tenant
            )
            result.failed += 1
            continue
        result.sessions += len(sessions)
        wanted += [
            (session, tenant_id)
            for session in sessions
            if (tenant_id := _ours(session)) is not None and only_tenant in (None, tenant_id)
        ]
    known = {
        tenant_id for tenant_id, _ in tenants_and_zones({tenant_id for _, tenant_id in wanted})
    }
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
    return {
        "sessions": result.sessions,
        "paid": result.paid,
        "recorded": len(result.recorded),
        "failed": result.failed,
    }
