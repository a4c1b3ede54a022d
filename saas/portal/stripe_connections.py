"""How each tenant takes payments with Stripe: its own keys, a Connect account, or ours.

A manager connects payments on the settings page (``settings/payments.html``):

- **Own keys**: the tenant's own Stripe account. The secret key and the webhook signing
  secret are stored encrypted (``saas.encryption``, ENCRYPTION_KEYS) and never shown
  again: the page shows their last four characters and when they were saved. Stripe sends
  that account's events to the tenant's own endpoint, ``/stripe/webhook/<slug>``, verified
  with the tenant's signing secret.
- **Connect**: a Stripe Connect account (``acct_…``) under the platform's key. Checkout
  Sessions are made on that account (the ``Stripe-Account`` header); its events come to the
  platform's endpoint carrying ``account``.
- Neither: the platform's own keys (STRIPE_SECRET_KEY), as before, or the demo checkout
  (STRIPE_DEMO, no key) in `make run`, which then stands in for every tenant's account.

``account_of`` answers, for the tenant at hand, which of them a Checkout Session, a
reconciling run or a look-up goes through. Test mode (a test key) is shown as such on the
settings page, on documents' portal panel and on the customer's pay page.
"""

from __future__ import annotations

from dataclasses import dataclass

import stripe
from flask import current_app
from sqlalchemy import select

from saas import clock
from saas.encryption import SecretUnreadable, decrypt, encrypt
from saas.extensions import db
from saas.portal import stripe_keys
from saas.portal.models import ConnectionKind, StripeConnection
from saas.tenants import audit, scoping
from saas.tenants.services import ServiceError

PLATFORM, DEMO = "platform", "demo"


class ConnectionRefused(ServiceError):
    """Input that cannot be saved, with the form field it concerns."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


# Stored keys that no configured encryption key decrypts (a key was removed or changed).
KeysUnreadable = SecretUnreadable


# --- the account a tenant pays through ------------------------------------------------------


@dataclass(frozen=True)
class StripeAccount:
    """What a tenant's Stripe calls and webhooks go through."""

    source: str  # own_keys, connect, platform or demo
    secret_key: str = ""
    account_id: str = ""  # Connect: calls are made on this account
    livemode: bool = False

    @property
    def is_demo(self) -> bool:
        return self.source == DEMO

    @property
    def test_mode(self) -> bool:
        return not self.livemode

    def client(self) -> stripe.StripeClient:
        base = current_app.config.get("STRIPE_API_BASE")
        return stripe.StripeClient(
            self.secret_key,
            base_addresses={"api": base} if base else None,
            max_network_retries=1,
        )

    def options(self, **extra: str) -> dict[str, str]:
        """Request options: a Connect account's calls carry its id (Stripe-Account)."""
        return {**extra, "stripe_account": self.account_id} if self.account_id else extra


def platform_account() -> StripeAccount | None:
    """The platform's own Stripe account (STRIPE_SECRET_KEY), or the demo, or nothing."""
    config = current_app.config
    if key := config.get("STRIPE_SECRET_KEY"):
        return StripeAccount(PLATFORM, secret_key=key, livemode=stripe_keys.is_live_key(key))
    if config.get("STRIPE_DEMO"):
        return StripeAccount(DEMO)
    return None


def connection_of_current_tenant() -> StripeConnection | None:
    scoping.require_tenant_id()
    return db.session.scalar(select(StripeConnection))


def is_demo() -> bool:
    """No Stripe at all (`make run`): the demo checkout page stands in for every tenant's."""
    config = current_app.config
    return bool(config.get("STRIPE_DEMO")) and not config.get("STRIPE_SECRET_KEY")


def account_of(connection: StripeConnection | None) -> StripeAccount | None:
    """The account a tenant with this connection (None: none of its own) pays through.

    In the demo nothing reaches Stripe, not even with a tenant's own (demo) keys.
    """
    if connection is None or is_demo():
        return platform_account()
    if connection.kind == ConnectionKind.OWN_KEYS:
        return StripeAccount(
            ConnectionKind.OWN_KEYS.value,
            secret_key=decrypt(connection.secret_key_encrypted),
            livemode=connection.livemode,
        )
    platform = platform_account()
    if platform is None or platform.is_demo:
        return None  # a Connect account needs the platform's key to be reached
    return StripeAccount(
        ConnectionKind.CONNECT.value,
        secret_key=platform.secret_key,
        account_id=connection.account_id,
        livemode=platform.livemode,
    )


def account_of_current_tenant() -> StripeAccount | None:
    """The current tenant's way to take payments, or None when it has none."""
    return account_of(connection_of_current_tenant())


def webhook_secret_of_current_tenant() -> str | None:
    """The signing secret of the tenant's own endpoint (own keys only)."""
    connection = connection_of_current_tenant()
    if connection is None or connection.kind != ConnectionKind.OWN_KEYS:
        return None
    return decrypt(connection.webhook_secret_encrypted)


# --- changing it ----------------------------------------------------------------------------


def _refuse_problem(problem: str | None, field: str) -> None:
    if problem:
        raise ConnectionRefused(problem, field)


def _replace(kind: ConnectionKind, user_id: int | None) -> StripeConnection:
    connection = connection_of_current_tenant()
    if connection is None:
        connection = StripeConnection(kind=kind)
        db.session.add(connection)
    connection.kind = kind
    connection.secret_key_encrypted = connection.webhook_secret_encrypted = ""
    connection.secret_key_last4 = connection.webhook_secret_last4 = ""
    connection.account_id = ""
    connection.saved_at, connection.saved_by_id = clock.now(), user_id
    return connection


def save_own_keys(
    secret_key: str, webhook_secret: str, *, user_id: int | None = None
) -> StripeConnection:
    """Take payments on the tenant's own Stripe account (replacing what was there)."""
    secret_key, webhook_secret = (secret_key or "").strip(), (webhook_secret or "").strip()
    _refuse_problem(stripe_keys.secret_key_problem(secret_key), "secret_key")
    _refuse_problem(stripe_keys.webhook_secret_problem(webhook_secret), "webhook_secret")
    connection = _replace(ConnectionKind.OWN_KEYS, user_id)
    connection.secret_key_encrypted = encrypt(secret_key)
    connection.webhook_secret_encrypted = encrypt(webhook_secret)
    connection.secret_key_last4 = stripe_keys.last4(secret_key)
    connection.webhook_secret_last4 = stripe_keys.last4(webhook_secret)
    connection.livemode = stripe_keys.is_live_key(secret_key)
    db.session.flush()
    mode = "live" if connection.livemode else "test mode"
    audit.record(
        "payments.stripe_keys_saved",
        connection,
        f"Own Stripe keys saved ({mode}, key …{connection.secret_key_last4})",
        user_id=user_id,
    )
    return connection


def save_connect_account(account_id: str, *, user_id: int | None = None) -> StripeConnection:
    """Take payments on a Stripe Connect account under the platform's key."""
    account_id = (account_id or "").strip()
    _refuse_problem(stripe_keys.account_id_problem(account_id), "account_id")
    platform = platform_account()
    if platform is None or platform.is_demo:
        raise ConnectionRefused(
            "Stripe Connect needs the platform's Stripe key (STRIPE_SECRET_KEY), which this"
            " installation does not have. Use your own keys instead.",
            "account_id",
        )
    connection = _replace(ConnectionKind.CONNECT, user_id)
    connection.account_id = account_id
    connection.livemode = platform.livemode
    db.session.flush()
    audit.record(
        "payments.stripe_connect_saved",
        connection,
        f"Stripe Connect account {account_id} connected",
        user_id=user_id,
    )
    return connection


def remove_connection(*, user_id: int | None = None) -> bool:
    """Forget the tenant's keys or Connect account: payments go through the platform again."""
    connection = connection_of_current_tenant()
    if connection is None:
        return False
    audit.record(
        "payments.stripe_connection_removed",
        connection,
        "Own Stripe keys removed"
        if connection.kind == ConnectionKind.OWN_KEYS
        else f"Stripe Connect account {connection.account_id} disconnected",
        user_id=user_id,
    )
    db.session.delete(connection)
    db.session.flush()
    return True
