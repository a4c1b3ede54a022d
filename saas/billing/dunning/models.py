"""Debt collection (R6.6–R6.8): cases, their invoices, contact notes, legal paths, documents.

A collection case follows one customer from the day their overdue invoices are handed to
collectors (the reminder policy is exhausted, the overdue amount passed the tenant's
threshold, or a person opened it) until the overdue amount is paid (it closes by itself) or
a person closes it. A customer has at most one open case (a partial unique index says so).
Its invoices are listed in ``collection_case_invoices``, each holding the reminder pause
the case put on it, so reminders stop while collectors work and resume when the case ends.

A contact note records one call, e-mail, letter or meeting, with the customer's balance and
overdue amount at that moment copied in, and when to contact them next. Legal paths are
the tenant's sequences of stages per customer category; entering a stage can generate its
document (a payment demand, a summons) which is stored once, with its hash, and never
rendered again.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from saas.billing.customers.models import Customer, CustomerCategory
from saas.billing.documents.models import Document
from saas.billing.reminders.models import ANNUAL_RATE
from saas.columns import MONEY, string_enum
from saas.extensions import db
from saas.tenants.models import User, utcnow
from saas.tenants.scoping import TenantScoped


class CaseStatus(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class OpenReason(enum.StrEnum):
    REMINDERS_EXHAUSTED = "reminders"  # the last reminder level went out and days passed
    THRESHOLD = "threshold"  # the overdue amount passed the tenant's threshold
    MANUAL = "manual"  # a person opened it from the customer's page

    @property
    def label(self) -> str:
        return {
            "reminders": "Reminders exhausted",
            "threshold": "Overdue above threshold",
            "manual": "Opened by hand",
        }[self.value]


class CloseReason(enum.StrEnum):
    PAID = "paid"  # the overdue amount was paid (or credited): closed by itself
    MANUAL = "manual"  # closed by a person, with a reason (written off, settled otherwise)

    @property
    def label(self) -> str:
        return {"paid": "Paid", "manual": "Closed by hand"}[self.value]


class Channel(enum.StrEnum):
    CALL = "call"
    EMAIL = "email"
    LETTER = "letter"
    MEETING = "meeting"

    @property
    def label(self) -> str:
        return {"call": "Call", "email": "E-mail", "letter": "Letter", "meeting": "Meeting"}[
            self.value
        ]


class Outcome(enum.StrEnum):
    REACHED = "reached"
    NO_ANSWER = "no_answer"
    PROMISED = "promised"
    DISPUTED = "disputed"
    REFUSED = "refused"
    OTHER = "other"

    @property
    def label(self) -> str:
        return {
            "reached": "Reached",
            "no_answer": "No answer",
            "promised": "Promised to pay",
            "disputed": "Disputes the debt",
            "refused": "Refuses to pay",
            "other": "Other",
        }[self.value]


class StageDocument(enum.StrEnum):
    NONE = "none"
    DEMAND = "demand"  # a pre-legal payment demand letter
    SUMMONS = "summons"  # a statement of claim: principal, interest to date, fees

    @property
    def label(self) -> str:
        return {
            "none": "No document",
            "demand": "Payment demand letter",
            "summons": "Summons with the claim",
        }[self.value]


class CollectionSettings(TenantScoped, db.Model):
    """When a tenant's cases open by themselves, and the fallback interest rate."""

    __tablename__ = "collection_settings"
    __table_args__ = (
        UniqueConstraint("tenant_id"),
        CheckConstraint("threshold IS NULL OR threshold > 0", name="threshold_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Open a case when an invoice is still unpaid after the last reminder level's days.
    open_after_reminders: Mapped[bool] = mapped_column(default=True)
    # Open a case when the customer's overdue amount, in the tenant's currency (converted
    # at each invoice's recorded rate), is above this. None: no threshold.
    threshold: Mapped[Decimal | None] = mapped_column(MONEY)
    # Interest on claims when the reminder policy has no rate (per year, percent).
    interest_rate: Mapped[Decimal] = mapped_column(ANNUAL_RATE, default=Decimal(0))
    # Cases opened by the sweep go to this member; else to the least busy collector.
    default_collector_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )


class LegalPath(TenantScoped, db.Model):
    """The stages of legal collection for one customer category (None: every other one)."""

    tenant_id_indexed = True  # no index of the table leads with tenant_id

    __tablename__ = "legal_paths"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    customer_category_id: Mapped[int | None] = mapped_column(
        ForeignKey("customer_categories.id", ondelete="CASCADE")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    customer_category: Mapped[CustomerCategory | None] = relationship()
    stages: Mapped[list[LegalStage]] = relationship(
        back_populates="path", order_by="LegalStage.position", cascade="all, delete-orphan"
    )


class LegalStage(TenantScoped, db.Model):
    """One step of a legal path, with the document it generates and the fee it adds."""

    tenant_id_indexed = True  # no index of the table leads with tenant_id

    __tablename__ = "legal_stages"
    __table_args__ = (
        UniqueConstraint("path_id", "position"),
        CheckConstraint("fee >= 0", name="fee_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    path_id: Mapped[int] = mapped_column(ForeignKey("legal_paths.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column()
    name: Mapped[str] = mapped_column(String(100))
    document: Mapped[StageDocument] = mapped_column(
        string_enum(StageDocument), default=StageDocument.NONE
    )
    # The document's opening paragraph (the template); "" = the built-in wording.
    template: Mapped[str] = mapped_column(Text, default="")
    # A cost this stage adds to the claim (court fee, lawyer's fee), in the tenant's currency.
    fee: Mapped[Decimal] = mapped_column(MONEY, default=Decimal(0))
    # The term the document gives the customer to pay.
    days_to_pay: Mapped[int] = mapped_column(default=14)

    path: Mapped[LegalPath] = relationship(back_populates="stages")


class CollectionCase(TenantScoped, db.Model):
    """One customer's overdue invoices in the hands of a collector."""

    __tablename__ = "collection_cases"
    __table_args__ = (
        UniqueConstraint("tenant_id", "number"),
        # At most one open case per customer: a sweep that runs twice opens nothing twice.
        Index(
            "uq_collection_cases_open_customer",
            "tenant_id",
            "customer_id",
            unique=True,
            postgresql_where=text("status = 'open'"),
            sqlite_where=text("status = 'open'"),
        ),
        Index("ix_collection_cases_tenant_status", "tenant_id", "status", "collector_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column()
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    status: Mapped[CaseStatus] = mapped_column(string_enum(CaseStatus), default=CaseStatus.OPEN)
    open_reason: Mapped[OpenReason] = mapped_column(string_enum(OpenReason))
    opened_on: Mapped[date] = mapped_column(Date)
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    collector_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # When the collector should contact the customer next (set by each note).
    next_contact_on: Mapped[date | None] = mapped_column(Date)
    legal_path_id: Mapped[int | None] = mapped_column(
        ForeignKey("legal_paths.id", ondelete="SET NULL")
    )
    legal_stage_id: Mapped[int | None] = mapped_column(
        ForeignKey("legal_stages.id", ondelete="SET NULL")
    )
    stage_entered_on: Mapped[date | None] = mapped_column(Date)
    closed_on: Mapped[date | None] = mapped_column(Date)
    close_reason: Mapped[CloseReason | None] = mapped_column(string_enum(CloseReason))
    # How it closed: the payments and credit notes that settled its invoices, or the reason.
    close_note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    customer: Mapped[Customer] = relationship()
    collector: Mapped[User | None] = relationship(foreign_keys=[collector_id])
    legal_path: Mapped[LegalPath | None] = relationship()
    legal_stage: Mapped[LegalStage | None] = relationship()
    invoices: Mapped[list[CaseInvoice]] = relationship(
        back_populates="case", order_by="CaseInvoice.id"
    )

    @property
    def is_open(self) -> bool:
        return self.status == CaseStatus.OPEN

    @property
    def title(self) -> str:
        return f"Case {self.number}"


class CaseInvoice(TenantScoped, db.Model):
    """An overdue invoice handed to the case, with the reminder pause the case put on it."""

    tenant_id_indexed = True  # no index of the table leads with tenant_id

    __tablename__ = "collection_case_invoices"
    __table_args__ = (UniqueConstraint("case_id", "document_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("collection_cases.id", ondelete="CASCADE"))
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    added_on: Mapped[date] = mapped_column(Date)
    # What was open on it when it was handed over.
    open_amount: Mapped[Decimal] = mapped_column(MONEY)
    # The pause this case put on the invoice's reminders (None: it was paused already).
    pause_id: Mapped[int | None] = mapped_column(
        ForeignKey("reminder_pauses.id", ondelete="SET NULL")
    )

    case: Mapped[CollectionCase] = relationship(back_populates="invoices")
    document: Mapped[Document] = relationship()


class ContactNote(TenantScoped, db.Model):
    """One contact with the customer (R6.6), the account as it stood, what comes next."""

    __tablename__ = "collection_notes"
    __table_args__ = (
        Index("ix_collection_notes_case", "tenant_id", "case_id", "contacted_at"),
        CheckConstraint("(promise_amount IS NULL) = (promise_on IS NULL)", name="promise_whole"),
        CheckConstraint("promise_amount IS NULL OR promise_amount > 0", name="promise_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("collection_cases.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    contacted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    channel: Mapped[Channel] = mapped_column(string_enum(Channel))
    outcome: Mapped[Outcome] = mapped_column(string_enum(Outcome))
    text: Mapped[str] = mapped_column(Text, default="")
    next_contact_on: Mapped[date] = mapped_column(Date)
    promise_amount: Mapped[Decimal | None] = mapped_column(MONEY)
    promise_on: Mapped[date | None] = mapped_column(Date)
    # The account at the moment of the note, in the customer's currency ...
    currency: Mapped[str] = mapped_column(String(3))
    balance: Mapped[Decimal] = mapped_column(MONEY)
    overdue: Mapped[Decimal] = mapped_column(MONEY)
    # ... and in every currency they have: {"EUR": ["120.00", "80.00"]} (balance, overdue).
    amounts: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    user: Mapped[User | None] = relationship()


class CaseEvent(TenantScoped, db.Model):
    """The case's history: opened, assigned, invoice added, stage moved, closed, reopened."""

    __tablename__ = "collection_case_events"
    __table_args__ = (Index("ix_collection_case_events_case", "tenant_id", "case_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("collection_cases.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text, default="")
    happened_on: Mapped[date] = mapped_column(Date)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    user: Mapped[User | None] = relationship()


class CaseDocument(TenantScoped, db.Model):
    """A stage's document, generated once and stored with its hash (never re-rendered)."""

    tenant_id_indexed = True  # no index of the table leads with tenant_id

    __tablename__ = "collection_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("collection_cases.id", ondelete="CASCADE"))
    stage_id: Mapped[int | None] = mapped_column(ForeignKey("legal_stages.id", ondelete="SET NULL"))
    kind: Mapped[StageDocument] = mapped_column(string_enum(StageDocument))
    title: Mapped[str] = mapped_column(String(200))
    generated_on: Mapped[date] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(3))
    principal: Mapped[Decimal] = mapped_column(MONEY)
    interest: Mapped[Decimal] = mapped_column(MONEY)
    fees: Mapped[Decimal] = mapped_column(MONEY)
    total: Mapped[Decimal] = mapped_column(MONEY)
    pdf: Mapped[bytes] = mapped_column(LargeBinary)
    pdf_sha256: Mapped[str] = mapped_column(String(64))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
