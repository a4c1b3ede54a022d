"""The customer portal's own records: the links it e-mails, and customers' answers to quotes.

A ``PortalLink`` is a random token that was e-mailed; only its SHA-256 is stored, so a copy
of the database opens nothing. A sign-in link lets a contact start a portal session once,
within minutes; a document link (in every document's e-mail) opens that one document for
weeks, until it expires or staff revoke it.

A ``QuoteResponse`` is the customer's answer to a quote given in the portal: who typed which
name, when, and from where — the record that the quote was accepted (R3.2) or declined.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from saas.billing.customers.models import Contact
from saas.billing.documents.models import Document
from saas.columns import string_enum
from saas.extensions import db
from saas.tenants.models import utcnow
from saas.tenants.scoping import TenantScoped


class LinkPurpose(enum.StrEnum):
    SIGN_IN = "sign_in"
    DOCUMENT = "document"


class PortalLink(TenantScoped, db.Model):
    """One e-mailed link into the portal, known by the hash of its token."""

    __tablename__ = "portal_links"
    __table_args__ = (
        UniqueConstraint("tenant_id", "token_hash"),
        Index("ix_portal_links_tenant_document", "tenant_id", "document_id"),
        Index("ix_portal_links_tenant_contact", "tenant_id", "contact_id", "created_at"),
        CheckConstraint(
            "(purpose = 'document' AND document_id IS NOT NULL)"
            " OR (purpose = 'sign_in' AND contact_id IS NOT NULL AND document_id IS NULL)",
            name="purpose_fits",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    purpose: Mapped[LinkPurpose] = mapped_column(string_enum(LinkPurpose))
    # Who it was sent to. A document's e-mail may go to an address that is no contact.
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # A sign-in link is used once; a document link is opened as often as it is clicked.
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    contact: Mapped[Contact | None] = relationship()
    document: Mapped[Document | None] = relationship()


class QuoteDecision(enum.StrEnum):
    ACCEPTED = "accepted"
    DECLINED = "declined"


class QuoteResponse(TenantScoped, db.Model):
    """A customer's answer to a quote in the portal; a quote is answered once."""

    __tablename__ = "quote_responses"
    __table_args__ = (UniqueConstraint("tenant_id", "document_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="RESTRICT"))
    decision: Mapped[QuoteDecision] = mapped_column(string_enum(QuoteDecision))
    # The name typed to accept (the customer's signature); on a decline, who declined.
    signed_name: Mapped[str] = mapped_column(String(200), default="")
    comment: Mapped[str] = mapped_column(Text, default="")
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    # The document link it came through, when it did not come from a signed-in contact.
    link_id: Mapped[int | None] = mapped_column(ForeignKey("portal_links.id", ondelete="SET NULL"))
    ip_address: Mapped[str] = mapped_column(String(45), default="")
    user_agent: Mapped[str] = mapped_column(String(300), default="")
    responded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # The draft order confirmation an acceptance made (R3.2).
    order_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id", ondelete="SET NULL"))

    document: Mapped[Document] = relationship(foreign_keys=[document_id])
    order: Mapped[Document | None] = relationship(foreign_keys=[order_id])
    contact: Mapped[Contact | None] = relationship()


class EventStatus(enum.StrEnum):
    RECEIVED = "received"  # stored, waiting for its job
    PROCESSED = "processed"
    FAILED = "failed"  # processing raised; retried later (``next_attempt_at``)


class StripeEvent(TenantScoped, db.Model):
    """A Stripe webhook event, verified and stored once; a job processes it.

    Stripe delivers an event again until it is answered, and may deliver it twice anyway:
    the event id is unique, so a delivery seen before changes nothing. Processing that
    fails is recorded (attempts, the error) and tried again later (``event_retries``).
    """

    __tablename__ = "stripe_events"
    __table_args__ = (
        UniqueConstraint("event_id"),
        Index("ix_stripe_events_tenant_due", "tenant_id", "status", "next_attempt_at"),
        Index("ix_stripe_events_tenant_customer", "tenant_id", "customer_id", "received_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # What processing did: "payment 12 recorded", "ignored: not paid", ...
    outcome: Mapped[str] = mapped_column(String(300), default="")
    status: Mapped[EventStatus] = mapped_column(
        string_enum(EventStatus),
        default=EventStatus.RECEIVED,
        server_default=EventStatus.RECEIVED.value,
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str] = mapped_column(String(500), default="", server_default="")
    # When a failed event is tried again; None once processed (or not failed).
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The customer a payment, failure or refund was about (the portal shows failures).
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))


class ConnectionKind(enum.StrEnum):
    OWN_KEYS = "own_keys"  # the tenant's own Stripe account, by its secret key
    CONNECT = "connect"  # a Stripe Connect account under the platform's key


class StripeConnection(TenantScoped, db.Model):
    """How a tenant takes payments with Stripe, when not through the platform's account.

    Own keys are stored encrypted (``stripe_connections.py``: Fernet, with a key from the
    environment) and never shown again: the page shows the last four characters and when
    they were saved. A tenant without a row pays through the platform's keys.
    """

    __tablename__ = "stripe_connections"
    __table_args__ = (
        UniqueConstraint("tenant_id"),
        CheckConstraint(
            "(kind = 'own_keys' AND secret_key_encrypted <> '' AND webhook_secret_encrypted <> '')"
            " OR (kind = 'connect' AND account_id <> '')",
            name="kind_fits",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[ConnectionKind] = mapped_column(string_enum(ConnectionKind))
    secret_key_encrypted: Mapped[str] = mapped_column(Text, default="")
    webhook_secret_encrypted: Mapped[str] = mapped_column(Text, default="")
    secret_key_last4: Mapped[str] = mapped_column(String(4), default="")
    webhook_secret_last4: Mapped[str] = mapped_column(String(4), default="")
    account_id: Mapped[str] = mapped_column(String(255), default="")
    # Test mode: an sk_test_/rk_test_ key, or a Connect account under a test platform key.
    livemode: Mapped[bool] = mapped_column(Boolean, default=False)
    saved_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    saved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
