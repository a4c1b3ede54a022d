"""A recurring invoice: a template invoice, its schedule, and the invoices it made."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, DateTime, ForeignKey, Index, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from saas.billing.customers.models import Customer
from saas.billing.documents.models import Document
from saas.billing.recurring.schedule import Ending, Unit
from saas.columns import string_enum
from saas.extensions import db
from saas.tenants.models import utcnow
from saas.tenants.scoping import TenantScoped


class RecurringStatus(enum.StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    STOPPED = "stopped"
    FINISHED = "finished"  # its end date or count was reached

    @property
    def label(self) -> str:
        return self.value.capitalize()


class RecurringInvoice(TenantScoped, db.Model):
    """Repeat an invoice every N days, weeks, months or years (R4.5)."""

    __tablename__ = "recurring_invoices"
    __table_args__ = (
        Index("ix_recurring_invoices_due", "tenant_id", "status", "next_date"),
        CheckConstraint("every >= 1", name="every_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The invoice whose customer, currency, language, lines and notes each occurrence copies.
    source_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    every: Mapped[int] = mapped_column(default=1)
    unit: Mapped[Unit] = mapped_column(string_enum(Unit), default=Unit.MONTHS)
    start_date: Mapped[date] = mapped_column(Date)
    ending: Mapped[Ending] = mapped_column(string_enum(Ending), default=Ending.NEVER)
    until_date: Mapped[date | None] = mapped_column(Date)
    max_count: Mapped[int | None] = mapped_column()
    # How many occurrences were made, and the date of the next one (its index is made_count).
    made_count: Mapped[int] = mapped_column(default=0)
    next_date: Mapped[date | None] = mapped_column(Date)
    issue: Mapped[bool] = mapped_column(default=True)  # issue each invoice at once
    send: Mapped[bool] = mapped_column(default=False)  # and e-mail it
    status: Mapped[RecurringStatus] = mapped_column(
        string_enum(RecurringStatus), default=RecurringStatus.ACTIVE)
    note: Mapped[str] = mapped_column(Text, default="")
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    source: Mapped[Document] = relationship(foreign_keys=[source_id])
    customer: Mapped[Customer] = relationship()
    occurrences: Mapped[list[RecurringOccurrence]] = relationship(
        order_by="RecurringOccurrence.occurrence_date.desc()", viewonly=True)


class RecurringOccurrence(TenantScoped, db.Model):
    """One occurrence made: unique per schedule and date, so none is ever made twice."""

    tenant_id_indexed = True  # no index of the table leads with tenant_id

    __tablename__ = "recurring_occurrences"
    __table_args__ = (UniqueConstraint("recurring_id", "occurrence_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    recurring_id: Mapped[int] = mapped_column(
        ForeignKey("recurring_invoices.id", ondelete="CASCADE"))
    occurrence_date: Mapped[date] = mapped_column(Date)
    document_id: Mapped[int | None] = mapped_column(
        ForeignKey("documents.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    document: Mapped[Document | None] = relationship()

