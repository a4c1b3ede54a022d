"""A tenant's webhook endpoints and every delivery made to them (the delivery log)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from saas.columns import string_enum
from saas.extensions import db
from saas.tenants.models import User, utcnow
from saas.tenants.scoping import TenantScoped

RESPONSE_KEPT = 2048  # characters of a receiver's answer kept in the log


class WebhookEndpoint(TenantScoped, db.Model):
    """A URL of the tenant's that wants some of its events."""

    __tablename__ = "webhook_endpoints"
    tenant_id_indexed = True  # no other index leads with tenant_id

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(String(200), default="")
    events: Mapped[list] = mapped_column(JSON, default=list)  # names from EVENT_NAMES
    active: Mapped[bool] = mapped_column(default=True)
    # Readable to sign, so encrypted (not hashed): saas.encryption, rotated with the rest.
    secret_encrypted: Mapped[str] = mapped_column(Text)
    secret_rotated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Set at the first failure after a success; an endpoint failing long enough is switched
    # off, with the reason shown to its admins.
    failing_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    disabled_reason: Mapped[str | None] = mapped_column(Text)

    created_by: Mapped[User | None] = relationship()

    def wants(self, event_name: str) -> bool:
        return self.active and event_name in (self.events or [])

    def __repr__(self) -> str:
        return f"<WebhookEndpoint {self.id} {self.url}>"


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"  # not tried yet
    SUCCEEDED = "succeeded"  # answered 2xx; never sent again
    FAILED = "failed"  # tried, will be tried again at next_attempt_at
    GIVEN_UP = "given_up"  # every try failed

    @property
    def label(self) -> str:
        return {"pending": "Pending", "succeeded": "Succeeded", "failed": "Failed, retrying",
                "given_up": "Given up"}[self.value]


TEST_EVENT = "webhook.test"


class WebhookDelivery(TenantScoped, db.Model):
    """One message to one endpoint: what was sent, how each try went, until it succeeds."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    # The domain event told; None for a test ping.
    event_id: Mapped[int | None] = mapped_column(ForeignKey("domain_events.id",
                                                            ondelete="CASCADE"))
    # 0 for the delivery the event itself asked for, 1, 2 ... for each replay of it.
    replay_number: Mapped[int] = mapped_column(default=0)
    replay_of_id: Mapped[int | None] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="SET NULL"))
    message_id: Mapped[str] = mapped_column(String(60))  # the webhook-id header
    event_type: Mapped[str] = mapped_column(String(60))
    body: Mapped[str] = mapped_column(Text)  # exactly the JSON that is posted
    status: Mapped[DeliveryStatus] = mapped_column(string_enum(DeliveryStatus),
                                                   default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    response_status: Mapped[int | None]
    response_body: Mapped[str | None] = mapped_column(Text)  # the first RESPONSE_KEPT chars
    duration_ms: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    endpoint: Mapped[WebhookEndpoint] = relationship()

    __table_args__ = (
        # A re-dispatched event finds its delivery and makes no second one.
        UniqueConstraint("tenant_id", "endpoint_id", "event_id", "replay_number",
                         name="uq_webhook_deliveries_event"),
        Index("ix_webhook_deliveries_log", "tenant_id", "endpoint_id", "id"),
        # What the retry sweep looks for.
        Index("ix_webhook_deliveries_due", "tenant_id", "next_attempt_at",
              postgresql_where=text("status IN ('pending', 'failed')"),
              sqlite_where=text("status IN ('pending', 'failed')")),
    )

    @property
    def finished(self) -> bool:
        return self.status in (DeliveryStatus.SUCCEEDED, DeliveryStatus.GIVEN_UP)

    def __repr__(self) -> str:
        return f"<WebhookDelivery {self.id} {self.event_type} {self.status}>"
