"""The outbox of domain events, one row per thing that happened in a tenant."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from saas.extensions import db
from saas.tenants.models import utcnow
from saas.tenants.scoping import TenantScoped

MAX_ATTEMPTS = 5


class DomainEvent(TenantScoped, db.Model):
    __tablename__ = "domain_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60))  # e.g. "document.issued"
    subject_type: Mapped[str] = mapped_column(String(40))  # "document", "payment", ...
    subject_id: Mapped[int]
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    dispatched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # A consumer that failed leaves the event pending for the next hand-over; after
    # MAX_ATTEMPTS it is set aside (dispatched_at stays empty, attempts says why).
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        # What the dispatcher and the sweep look for: a tenant's events not handed over yet.
        Index("ix_domain_events_pending", "tenant_id", "id",
              postgresql_where=text("dispatched_at IS NULL"),
              sqlite_where=text("dispatched_at IS NULL")),
        # What the overdue sweep looks for: the invoices told overdue already. Only those
        # events are indexed: a bank statement records tens of thousands of others.
        Index("ix_domain_events_overdue", "tenant_id", "subject_id",
              postgresql_where=text("name = 'document.overdue'"),
              sqlite_where=text("name = 'document.overdue'")),
    )

    def __repr__(self) -> str:
        return f"<DomainEvent {self.id} {self.name} {self.subject_type}:{self.subject_id}>"
