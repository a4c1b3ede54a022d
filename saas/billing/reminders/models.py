"""Payment reminders (R6.4, R6.5): a tenant's policy, its levels, the reminders sent, pauses.

A reminder is one level of the policy applied to one invoice. Its row is the claim: the
sweep inserts it under a unique (invoice, level day) key, so sweeping twice never reminds
twice; the e-mail that carries it is a ``Delivery`` (the document's delivery log). The
fee and interest are worked out once, when the reminder is prepared, and stay on the row
until they are billed on an invoice of their own: an issued invoice is never changed.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from saas.billing.customers.models import Customer
from saas.billing.documents.models import Document
from saas.columns import MONEY, PERCENT, string_enum
from saas.extensions import db
from saas.tenants.models import utcnow
from saas.tenants.scoping import TenantScoped

# Annual interest rates to four decimals (statutory rates such as 11.25 %).
ANNUAL_RATE = Numeric(7, 4, asdecimal=True)


class FeeKind(enum.StrEnum):
    NONE = "none"
    FIXED = "fixed"
    PERCENT = "percent"

    @property
    def label(self) -> str:
        return {"none": "No fee", "fixed": "Fixed amount", "percent": "Percentage"}[self.value]


class Tone(enum.StrEnum):
    """Which built-in wording a level's e-mail and letter use."""

    FRIENDLY = "friendly"  # before or on the due date: a courtesy note
    REMINDER = "reminder"  # overdue: please pay
    DEMAND = "demand"  # the last one: a formal payment demand

    @property
    def label(self) -> str:
        return {"friendly": "Friendly note", "reminder": "Reminder",
                "demand": "Payment demand"}[self.value]


class ReminderStatus(enum.StrEnum):
    NEW = "new"  # claimed by the sweep, not prepared yet
    PREPARED = "prepared"  # amounts worked out, its e-mail is queued
    TO_PRINT = "to_print"  # amounts worked out, for the next post batch (a post customer)
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"  # paid, credited or paused before it went out


class ReminderPolicy(TenantScoped, db.Model):
    """How a tenant reminds: on or off, the interest rate, spacing, who is told at the end."""

    __tablename__ = "reminder_policies"
    __table_args__ = (UniqueConstraint("tenant_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enabled: Mapped[bool] = mapped_column(default=True)
    # Statutory interest for late payment, per year (charged per day on the levels that say so).
    interest_rate: Mapped[Decimal] = mapped_column(ANNUAL_RATE, default=Decimal(0))
    # Two reminders of one invoice are at least this many days apart.
    min_days_between: Mapped[int] = mapped_column(default=7)
    # After the last level, the tenant's users are told when this many days pass unpaid.
    notify_after_days: Mapped[int] = mapped_column(default=7)
    attach_invoice: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class ReminderLevel(TenantScoped, db.Model):
    """One step of the policy: when it goes out, what it says, what it charges."""

    __tablename__ = "reminder_levels"
    __table_args__ = (
        UniqueConstraint("tenant_id", "position"),
        CheckConstraint("fee_amount >= 0 AND fee_percent >= 0", name="fee_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    position: Mapped[int] = mapped_column()
    name: Mapped[str] = mapped_column(String(100))
    # Days after the due date (negative: before it, a courtesy note while not yet overdue).
    days_after_due: Mapped[int] = mapped_column()
    tone: Mapped[Tone] = mapped_column(string_enum(Tone), default=Tone.REMINDER)
    # Replaces the built-in opening paragraph of the e-mail and letter when set.
    message: Mapped[str] = mapped_column(Text, default="")
    attach_letter: Mapped[bool] = mapped_column(default=True)
    fee_kind: Mapped[FeeKind] = mapped_column(string_enum(FeeKind), default=FeeKind.NONE)
    # A fixed fee in the tenant's currency, or a percentage of the open amount up to a cap.
    fee_amount: Mapped[Decimal] = mapped_column(MONEY, default=Decimal(0))
    fee_percent: Mapped[Decimal] = mapped_column(PERCENT, default=Decimal(0))
    fee_cap: Mapped[Decimal | None] = mapped_column(MONEY)
    charge_interest: Mapped[bool] = mapped_column(default=False)

    @property
    def is_courtesy(self) -> bool:
        return self.days_after_due <= 0


class Reminder(TenantScoped, db.Model):
    """One level of the policy applied to one invoice: claimed once, sent once, billed once."""

    __tablename__ = "reminders"
    __table_args__ = (
        UniqueConstraint("document_id", "level_day"),
        Index("ix_reminders_tenant_status", "tenant_id", "status"),
        Index("ix_reminders_tenant_customer", "tenant_id", "customer_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    # The level it applies, named by its day (days after the due date), which never changes
    # once a level has gone out: levels added or removed later do not shift it.
    level_day: Mapped[int] = mapped_column()
    level_name: Mapped[str] = mapped_column(String(100), default="")
    # The day of the sweep that claimed it (the injectable clock's today).
    reminded_on: Mapped[date] = mapped_column(Date)
    status: Mapped[ReminderStatus] = mapped_column(
        string_enum(ReminderStatus), default=ReminderStatus.NEW)
    currency: Mapped[str] = mapped_column(String(3), default="")
    open_amount: Mapped[Decimal | None] = mapped_column(MONEY)
    fee: Mapped[Decimal] = mapped_column(MONEY, default=Decimal(0))
    interest: Mapped[Decimal] = mapped_column(MONEY, default=Decimal(0))
    interest_days: Mapped[int] = mapped_column(default=0)
    interest_rate: Mapped[Decimal] = mapped_column(ANNUAL_RATE, default=Decimal(0))
    # The invoice that bills the fee and interest, once staff bill them.
    billed_document_id: Mapped[int | None] = mapped_column(
        ForeignKey("documents.id", ondelete="SET NULL"))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    document: Mapped[Document] = relationship(foreign_keys=[document_id])
    customer: Mapped[Customer] = relationship()

    @property
    def charges(self) -> Decimal:
        return (self.fee or Decimal(0)) + (self.interest or Decimal(0))


class ReminderPause(TenantScoped, db.Model):
    """Reminders held for one invoice or for every invoice of a customer (a dispute)."""

    __tablename__ = "reminder_pauses"
    __table_args__ = (
        UniqueConstraint("tenant_id", "document_id"),
        UniqueConstraint("tenant_id", "customer_id"),
        CheckConstraint("(document_id IS NULL) <> (customer_id IS NULL)", name="one_target"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int | None] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"))
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
