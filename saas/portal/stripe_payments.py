"""Paying open invoices online with Stripe Checkout, and what Stripe's webhooks tell us.

Paying: the customer ticks open invoices of one currency; a Checkout Session is opened for
the sum of their open amounts, with the tenant, the customer and each invoice's public id
and amount in its metadata (no table of our own: the session carries what it is for), and
an idempotency key per attempt.

The session is opened on the tenant's Stripe account (``stripe_connections``: its own
keys, its Connect account, or the platform's). The webhook's events (``stripe_events``)
record a paid session as a Stripe payment (``record_checkout_payment``), allocated to the
invoices in the metadata as far as they are still open; the rest is the customer's credit.
The payment's reference is the payment intent (or the session), so the same payment is
never recorded twice, whichever event brings it.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from decimal import Decimal

from flask import current_app, url_for
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select

from saas import clock
from saas.billing.customers.models import Customer
from saas.billing.documents.models import Document
from saas.billing.documents.states import DocumentKind
from saas.billing.money import minor_unit_exponent
from saas.billing.payments import services as payments
from saas.billing.payments.models import Payment, PaymentMethod
from saas.extensions import db
from saas.portal import stripe_connections
from saas.portal.documents import OPEN_STATES
from saas.portal.receipts import send_receipt
from saas.portal.stripe_connections import StripeAccount
from saas.tenants.access import tenant_today_of
from saas.tenants.services import ServiceError

# Currencies Stripe takes in whole units (https://docs.stripe.com/currencies#zero-decimal).
ZERO_DECIMAL = frozenset(
    {
        "BIF",
        "CLP",
        "DJF",
        "GNF",
        "JPY",
        "KMF",
        "KRW",
        "MGA",
        "PYG",
        "RWF",
        "VND",
        "VUV",
        "XAF",
        "XOF",
        "XPF",
    }
)
# Whole-unit currencies in ISO 4217 that Stripe still counts in hundredths.
TWO_DECIMAL_AT_STRIPE = frozenset({"ISK", "UGX"})
# Stripe allows 50 metadata keys; three are ours, one per invoice for the rest.
MAX_INVOICES = 40
PAID_EVENT = "checkout.session.completed"


class PayRefused(ServiceError):
    """Paying online cannot start; the message is for the customer (a msgid)."""


def stripe_exponent(currency: str) -> int:
    """How many decimals Stripe's integer amounts have in this currency."""
    currency = currency.upper()
    if currency in ZERO_DECIMAL:
        return 0
    if currency in TWO_DECIMAL_AT_STRIPE:
        return 2
    return minor_unit_exponent(currency)


def to_minor_units(amount: Decimal, currency: str) -> int:
    """An exact amount as Stripe's integer, refusing what does not fit exactly."""
    scaled = amount.scaleb(stripe_exponent(currency))
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{amount} {currency} is not a whole number of Stripe's units")
    return int(scaled)


def from_minor_units(value: int, currency: str) -> Decimal:
    return Decimal(int(value)).scaleb(-stripe_exponent(currency))


def is_demo() -> bool:
    """No Stripe at all: the demo checkout page stands in for it (`make run`)."""
    return stripe_connections.is_demo()


def account() -> StripeAccount | None:
    """The Stripe account the current tenant's payments go through."""
    return stripe_connections.account_of_current_tenant()


def _demo_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="stripe-demo-checkout")


def demo_session(token: str) -> dict | None:
    """The demo checkout session a demo page's token stands for (None if forged)."""
    try:
        return _demo_serializer().loads(token)
    except BadSignature:
        return None


def demo_paid_event(session: dict) -> dict:
    """The checkout.session.completed event Stripe would send for a paid demo session."""
    paid = {
        **session,
        "payment_status": "paid",
        "status": "complete",
        "payment_intent": "pi_demo_" + session["id"].removeprefix("cs_demo_"),
    }
    return {
        "id": f"evt_demo_{secrets.token_hex(12)}",
        "object": "event",
        "type": PAID_EVENT,
        "livemode": False,
        "created": int(clock.now().timestamp()),
        "data": {"object": paid},
    }


def payable_invoices(customer_id: int, public_ids: list[str]) -> list[Document]:
    """The chosen invoices, if each is an open invoice of this customer, in one currency."""
    wanted = list(dict.fromkeys(key for key in public_ids if key))
    if not wanted:
        raise PayRefused("Tick the invoices you want to pay.")
    if len(wanted) > MAX_INVOICES:
        raise PayRefused("Pay at most %(num)s invoices at once.")
    invoices = list(
        db.session.scalars(
            select(Document)
            .where(
                Document.customer_id == customer_id,
                Document.public_id.in_(wanted),
                Document.kind == DocumentKind.INVOICE,
                Document.number.is_not(None),
                Document.status.in_(OPEN_STATES),
            )
            .order_by(Document.due_date, Document.id)
        )
    )
    if len(invoices) != len(wanted):
        raise PayRefused(
            "One of the invoices you ticked is paid already or is not yours."
            " Look at the list again."
        )
    if len({invoice.currency for invoice in invoices}) > 1:
        raise PayRefused("Pay invoices in one currency at a time.")
    if any(invoice.open_amount <= 0 for invoice in invoices):
        raise PayRefused(
            "One of the invoices you ticked is paid already or is not yours."
            " Look at the list again."
        )
    return invoices


@dataclass(frozen=True)
class Checkout:
    session_id: str
    url: str
    amount: Decimal
    currency: str


def start_checkout(
    tenant_id: int,
    customer: Customer,
    invoices: list[Document],
    *,
    success_url: str,
    cancel_url: str,
    email: str = "",
) -> Checkout:
    """Open a Checkout Session for the open amounts of the invoices (one attempt)."""
    currency = invoices[0].currency
    amount = sum((invoice.open_amount for invoice in invoices), Decimal(0))
    metadata = {"tenant_id": str(tenant_id), "customer_id": str(customer.id), "amount": str(amount)}
    for n, invoice in enumerate(invoices, start=1):
        metadata[f"invoice_{n}"] = f"{invoice.public_id}:{invoice.open_amount}"
    names = ", ".join(invoice.number for invoice in invoices)
    params: dict = {
        "mode": "payment",
        "line_items": [
            {
                "quantity": 1,
                "price_data": {
                    "currency": currency.lower(),
                    "unit_amount": to_minor_units(amount, currency),
                    "product_data": {"name": names[:250]},
                },
            }
        ],
        "metadata": metadata,
        "payment_intent_data": {"metadata": metadata},
        "client_reference_id": f"{tenant_id}-{customer.id}",
        "success_url": success_url,
        "cancel_url": cancel_url,
    }
    if email:
        params["customer_email"] = email
    paying = account()
    if paying is None:
        raise PayRefused("Paying online is not available.")
    if paying.is_demo:
        session_id = f"cs_demo_{secrets.token_hex(12)}"
        token = _demo_serializer().dumps(
            {
                "id": session_id,
                "object": "checkout.session",
                "currency": currency.lower(),
                "amount_total": to_minor_units(amount, currency),
                "metadata": metadata,
                "success_url": success_url,
                "cancel_url": cancel_url,
                "description": names,
            }
        )
        return Checkout(session_id, url_for("portal.demo_checkout", token=token), amount, currency)
    session = paying.client().v1.checkout.sessions.create(
        params=params, options=paying.options(idempotency_key=f"portal-pay-{uuid.uuid4()}")
    )
    return Checkout(session.id, session.url, amount, currency)


# --- recording what was paid ----------------------------------------------------------------


def record_checkout_payment(session: dict, tenant_id: int) -> str:
    """Record a paid Checkout Session as a Stripe payment, once."""
    metadata = session.get("metadata") or {}
    if "customer_id" not in metadata:
        return "ignored: not a portal payment"
    customer = db.session.scalar(
        select(Customer).where(Customer.id == int(metadata["customer_id"])).with_for_update()
    )
    if customer is None:
        return "ignored: unknown customer"
    reference = str(session.get("payment_intent") or session["id"])
    existing = db.session.scalar(
        select(Payment.id).where(
            Payment.customer_id == customer.id,
            Payment.method == PaymentMethod.STRIPE,
            Payment.reference == reference,
            Payment.reversed_at.is_(None),
        )
    )
    if existing is not None:
        return f"already recorded: payment {existing}"
    currency = str(session["currency"]).upper()
    amount = from_minor_units(session["amount_total"], currency)
    left = amount
    allocations: list[tuple[Document, Decimal]] = []
    for key in sorted(
        (k for k in metadata if k.startswith("invoice_")),
        key=lambda k: int(k.removeprefix("invoice_")),
    ):
        public_id, _, asked = metadata[key].partition(":")
        invoice = db.session.scalar(
            select(Document).where(
                Document.public_id == public_id,
                Document.customer_id == customer.id,
                Document.kind == DocumentKind.INVOICE,
                Document.currency == currency,
            )
        )
        if invoice is None or invoice.status not in OPEN_STATES:
            continue
        part = min(Decimal(asked), invoice.open_amount, left)
        if part > 0:
            allocations.append((invoice, part))
            left -= part
    payment = payments.record_payment(
        customer,
        amount,
        tenant_today_of(tenant_id),
        method=PaymentMethod.STRIPE,
        currency=currency,
        reference=reference,
        note=f"Stripe {session['id']}",
        allocations=allocations,
    )
    db.session.flush()
    receipt = send_receipt(payment)
    return f"payment {payment.id} recorded" + ("; receipt e-mailed" if receipt else "")
