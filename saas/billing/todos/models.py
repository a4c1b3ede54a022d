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

    @property
    def label(self) -> str:
        return {"unpaid_reminded": "Unpaid after reminders"}[self.value]


class Todo(TenantScoped, db.Model):
    """One task; a kind and a document make it unique, so a sweep never files it twice."""

    __tablename__ = "todos"
    __table_args__ = (
        UniqueConstraint("tenant_id", "kind", "document_id"),
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
    due_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # When the tenant's users were e-mailed about it (once).
    notified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    customer: Mapped[Customer | None] = relationship()
    document: Mapped[Document | None] = relationship()
