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
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
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
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"))
    document_id: Mapped[int | None] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"))
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
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL"))
    # The document link it came through, when it did not come from a signed-in contact.
    link_id: Mapped[int | None] = mapped_column(
        ForeignKey("portal_links.id", ondelete="SET NULL"))
    ip_address: Mapped[str] = mapped_column(String(45), default="")
    user_agent: Mapped[str] = mapped_column(String(300), default="")
    responded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # The draft order confirmation an acceptance made (R3.2).
    order_id: Mapped[int | None] = mapped_column(
        ForeignKey("documents.id", ondelete="SET NULL"))

    document: Mapped[Document] = relationship(foreign_keys=[document_id])
    order: Mapped[Document | None] = relationship(foreign_keys=[order_id])
    contact: Mapped[Contact | None] = relationship()


class StripeEvent(TenantScoped, db.Model):
    """A Stripe webhook event, verified and stored once; a job processes it.

    Stripe delivers an event again until it is answered, and may deliver it twice anyway:
    the event id is unique, so a delivery seen before changes nothing.
    """

    __tablename__ = "stripe_events"
    __table_args__ = (UniqueConstraint("event_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # What processing did: "payment 12 recorded", "ignored: not paid", ...
    outcome: Mapped[str] = mapped_column(String(300), default="")
