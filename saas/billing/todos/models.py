"""A to-do: something a person of the tenant should do, about a customer or a document."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from saas.billing.customers.models import Customer
from saas.billing.documents.models import Document
from saas.columns import string_enum
from saas.extensions import db
from saas.tenants.models import utcnow
from saas.tenants.scoping import TenantScoped


class TodoKind(enum.StrEnum):
    # The customer has not paid after the last reminder level (R6.4).
    UNPAID_AFTER_REMINDERS = "unpaid_reminded"
    # A flat-fee contract line has used 80 % of its period's included volume (R4.6).
    VOLUME_ALMOST_USED = "volume_almost_used"
    # ... or more than all of it: the excess is billed.
    VOLUME_EXCEEDED = "volume_exceeded"
    # The customer answered a quote online: confirm the order, or follow up the refusal.
    QUOTE_ACCEPTED = "quote_accepted"
    QUOTE_DECLINED = "quote_declined"

    @property
    def label(self) -> str:
        return {"unpaid_reminded": "Unpaid after reminders",
                "volume_almost_used": "Prepaid volume almost used",
                "volume_exceeded": "Prepaid volume exceeded",
                "quote_accepted": "Quote accepted",
                "quote_declined": "Quote declined"}[self.value]


class Todo(TenantScoped, db.Model):
    """One task; a kind and a document (or a subject key) make it unique, so a sweep never
    files it twice."""

    __tablename__ = "todos"
    __table_args__ = (
        UniqueConstraint("tenant_id", "kind", "document_id"),
        UniqueConstraint("tenant_id", "kind", "subject_key"),
        Index("ix_todos_tenant_open", "tenant_id", "done_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[TodoKind] = mapped_column(string_enum(TodoKind))
    title: Mapped[str] = mapped_column(String(300))
    details: Mapped[str] = mapped_column(Text, default="")
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"))
    document_id: Mapped[int | None] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"))
    contract_id: Mapped[int | None] = mapped_column(
        ForeignKey("contracts.id", ondelete="CASCADE"))
    # What the to-do is about when no document says it, unique per kind: a prepaid volume's
    # to-do is one per contract line and period ("contract 7, line 2, 2026-05-01").
    subject_key: Mapped[str | None] = mapped_column(String(100))
    due_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # When the tenant's users were e-mailed about it (once).
    notified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    customer: Mapped[Customer | None] = relationship()
    document: Mapped[Document | None] = relationship()
