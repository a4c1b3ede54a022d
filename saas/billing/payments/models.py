"""Payments (R3.6, R6.2, R6.3): money received and refunded, what it settles, the journal,
and bank statements with their lines.

- A ``Payment`` is money from (``received``) or back to (``refund``) a customer, in one
  currency. ``Allocation`` rows say which invoices it settles and by how much; what is not
  allocated is the customer's credit, to apply later or refund. A credit note settles
  invoices the same way (an allocation from the credit note instead of a payment).
- ``Document.paid_total`` is the sum of an invoice's (or a credit note's) live allocations,
  kept by the services with the allocations, so the open amount of an invoice is read
  without a join: ``gross_total - paid_total``.
- Undoing is never deleting: a payment or an allocation is reversed (``reversed_at``), and
  the journal gets an entry that reverses the original one.
- The journal is double entry: each ``JournalEntry`` has lines whose debits equal their
  credits, in the entry's currency (see ``ledger.py`` for the accounts).
- A bank statement is imported once (its file's SHA-256 is unique per tenant); each of its
  lines is matched to a payment (``Payment.bank_line_id``), ignored, or waits for staff.
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
    ForeignKeyConstraint,
    Index,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from saas.billing.customers.models import Customer
from saas.billing.documents.models import Document
from saas.columns import MONEY, string_enum
from saas.extensions import db
from saas.tenants.models import utcnow
from saas.tenants.scoping import TenantScoped


class PaymentKind(enum.StrEnum):
    RECEIVED = "received"  # from the customer
    REFUND = "refund"  # back to the customer, out of their credit


class PaymentMethod(enum.StrEnum):
    BANK = "bank"
    CARD = "card"
    CASH = "cash"
    OFFSET = "offset"  # set off against what the tenant owes the customer
    STRIPE = "stripe"

    @property
    def label(self) -> str:
        return {"offset": "Offset"}.get(self.value, self.value.capitalize())


class Payment(TenantScoped, db.Model):
    """Money received from a customer, or refunded to one."""

    __tablename__ = "payments"
    __table_args__ = (
        Index("ix_payments_tenant_customer", "tenant_id", "customer_id"),
        UniqueConstraint("bank_line_id"),
        CheckConstraint("amount > 0", name="amount_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="RESTRICT"))
    kind: Mapped[PaymentKind] = mapped_column(string_enum(PaymentKind),
                                              default=PaymentKind.RECEIVED)
    received_on: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(MONEY)
    currency: Mapped[str] = mapped_column(String(3))
    method: Mapped[PaymentMethod] = mapped_column(string_enum(PaymentMethod))
    reference: Mapped[str] = mapped_column(String(140), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    # The bank statement line this payment was booked from (one payment per line).
    bank_line_id: Mapped[int | None] = mapped_column(
        ForeignKey("bank_lines.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reversed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reversed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))

    customer: Mapped[Customer] = relationship()
    allocations: Mapped[list[Allocation]] = relationship(
        back_populates="payment", foreign_keys="Allocation.payment_id",
        order_by="Allocation.id")

    @property
    def is_reversed(self) -> bool:
        return self.reversed_at is not None


class Allocation(TenantScoped, db.Model):
    """Part of a payment, or of a credit note, settling an invoice."""

    __tablename__ = "allocations"
    __table_args__ = (
        Index("ix_allocations_tenant_invoice", "tenant_id", "invoice_id"),
        Index("ix_allocations_tenant_payment", "tenant_id", "payment_id"),
        # A payment's allocations (most) have no credit note: not indexed.
        Index("ix_allocations_tenant_credit_note", "tenant_id", "credit_note_id",
              postgresql_where=text("credit_note_id IS NOT NULL"),
              sqlite_where=text("credit_note_id IS NOT NULL")),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("(payment_id IS NULL) <> (credit_note_id IS NULL)",
                        name="from_payment_or_credit_note"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="RESTRICT"))
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id",
                                                              ondelete="RESTRICT"))
    credit_note_id: Mapped[int | None] = mapped_column(
        ForeignKey("documents.id", ondelete="RESTRICT"))
    amount: Mapped[Decimal] = mapped_column(MONEY)
    allocated_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reversed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    invoice: Mapped[Document] = relationship(foreign_keys=[invoice_id])
    payment: Mapped[Payment | None] = relationship(back_populates="allocations",
                                                   foreign_keys=[payment_id])
    credit_note: Mapped[Document | None] = relationship(foreign_keys=[credit_note_id])


class JournalEntry(TenantScoped, db.Model):
    """One balanced posting: an issued document, a payment, an allocation, a reversal."""

    __tablename__ = "journal_entries"
    __table_args__ = (
        Index("ix_journal_entries_tenant_posted", "tenant_id", "posted_on"),
        # Receipts (most entries) have no document: not indexed.
        Index("ix_journal_entries_tenant_document", "tenant_id", "document_id",
              postgresql_where=text("document_id IS NOT NULL"),
              sqlite_where=text("document_id IS NOT NULL")),
        Index("ix_journal_entries_tenant_payment", "tenant_id", "payment_id"),
        # What the lines' foreign key (tenant_id, entry_id) refers to.
        UniqueConstraint("tenant_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    posted_on: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(30))  # invoice, credit_note, payment, refund ...
    description: Mapped[str] = mapped_column(String(300), default="")
    currency: Mapped[str] = mapped_column(String(3))
    document_id: Mapped[int | None] = mapped_column(
        ForeignKey("documents.id", ondelete="RESTRICT"))
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id",
                                                              ondelete="RESTRICT"))
    allocation_id: Mapped[int | None] = mapped_column(
        ForeignKey("allocations.id", ondelete="RESTRICT"))
    reverses_id: Mapped[int | None] = mapped_column(
        ForeignKey("journal_entries.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    lines: Mapped[list[JournalLine]] = relationship(
        back_populates="entry", cascade="all, delete-orphan", order_by="JournalLine.id",
        primaryjoin="JournalEntry.id == JournalLine.entry_id",
        foreign_keys="JournalLine.entry_id")


class JournalLine(TenantScoped, db.Model):
    """A debit or a credit to one account, for one customer where it concerns one."""

    __tablename__ = "journal_lines"
    tenant_fk = False  # the entry's tenant: (tenant_id, entry_id) is the foreign key
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "entry_id"],
                             ["journal_entries.tenant_id", "journal_entries.id"],
                             ondelete="CASCADE"),
        Index("ix_journal_lines_tenant_entry", "tenant_id", "entry_id"),
        Index("ix_journal_lines_tenant_account", "tenant_id", "account"),
        # Only the lines of a customer's account have one: the others are not indexed.
        Index("ix_journal_lines_tenant_customer", "tenant_id", "customer_id",
              postgresql_where=text("customer_id IS NOT NULL"),
              sqlite_where=text("customer_id IS NOT NULL")),
        CheckConstraint("debit >= 0 AND credit >= 0 AND (debit = 0 OR credit = 0)",
                        name="debit_or_credit"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column()
    account: Mapped[str] = mapped_column(String(10))
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="RESTRICT"))
    debit: Mapped[Decimal] = mapped_column(MONEY, default=Decimal(0))
    credit: Mapped[Decimal] = mapped_column(MONEY, default=Decimal(0))
    vat_code: Mapped[str] = mapped_column(String(20), default="")

    entry: Mapped[JournalEntry] = relationship(
        back_populates="lines", primaryjoin="JournalEntry.id == JournalLine.entry_id",
        foreign_keys=[entry_id])


class StatementFormat(enum.StrEnum):
    CAMT053 = "camt053"
    MT940 = "mt940"
    CSV = "csv"


class BankStatement(TenantScoped, db.Model):
    """An imported bank statement file: imported once (its SHA-256 is unique)."""

    __tablename__ = "bank_statements"
    __table_args__ = (
        UniqueConstraint("tenant_id", "file_sha256"),
        # What the lines' foreign key (tenant_id, statement_id) refers to.
        UniqueConstraint("tenant_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    bank_account_id: Mapped[int | None] = mapped_column(
        ForeignKey("bank_accounts.id", ondelete="SET NULL"))
    format: Mapped[StatementFormat] = mapped_column(string_enum(StatementFormat))
    file_name: Mapped[str] = mapped_column(String(255), default="")
    file_sha256: Mapped[str] = mapped_column(String(64))
    # The statement's own identification(s) and account, as the file gives them.
    statement_ref: Mapped[str] = mapped_column(String(200), default="")
    account: Mapped[str] = mapped_column(String(40), default="")
    currency: Mapped[str] = mapped_column(String(3), default="")
    opening_balance: Mapped[Decimal | None] = mapped_column(MONEY)
    closing_balance: Mapped[Decimal | None] = mapped_column(MONEY)
    from_date: Mapped[date | None] = mapped_column(Date)
    to_date: Mapped[date | None] = mapped_column(Date)
    line_count: Mapped[int] = mapped_column(default=0)
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    imported_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))

    lines: Mapped[list[BankLine]] = relationship(
        back_populates="statement", cascade="all, delete-orphan", order_by="BankLine.position",
        primaryjoin="BankStatement.id == BankLine.statement_id",
        foreign_keys="BankLine.statement_id")


class BankLineStatus(enum.StrEnum):
    UNMATCHED = "unmatched"  # waits for staff
    MATCHED = "matched"  # booked as a payment
    PENDING = "pending"  # matched surely, booked after its import (bank.booking.book_pending)
    IGNORED = "ignored"  # not a customer's payment (fees, outgoing ...)


class BankLine(TenantScoped, db.Model):
    """One booked transaction of a statement: credits are positive, debits negative."""

    __tablename__ = "bank_lines"
    tenant_fk = False  # the statement's tenant: (tenant_id, statement_id) is the foreign key
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "statement_id"],
                             ["bank_statements.tenant_id", "bank_statements.id"],
                             ondelete="CASCADE"),
        Index("ix_bank_lines_tenant_status", "tenant_id", "status"),
        Index("ix_bank_lines_tenant_statement", "tenant_id", "statement_id"),
        # Payers known by their account (bank.services.known_accounts).
        Index("ix_bank_lines_tenant_account", "tenant_id", "counterparty_account",
              postgresql_where=text("counterparty_account <> ''"),
              sqlite_where=text("counterparty_account <> ''")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    statement_id: Mapped[int] = mapped_column()
    position: Mapped[int] = mapped_column()
    booked_on: Mapped[date] = mapped_column(Date)
    value_date: Mapped[date | None] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(MONEY)
    currency: Mapped[str] = mapped_column(String(3))
    counterparty_name: Mapped[str] = mapped_column(String(200), default="")
    counterparty_account: Mapped[str] = mapped_column(String(40), default="")
    structured_reference: Mapped[str] = mapped_column(String(40), default="")  # KID, RF ...
    remittance_text: Mapped[str] = mapped_column(Text, default="")
    bank_reference: Mapped[str] = mapped_column(String(100), default="")
    status: Mapped[BankLineStatus] = mapped_column(string_enum(BankLineStatus),
                                                   default=BankLineStatus.UNMATCHED)
    # How sure the automatic matching was (0–100), and whether it booked the line itself.
    confidence: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    matched_automatically: Mapped[bool] = mapped_column(default=False)
    match_note: Mapped[str] = mapped_column(String(300), default="")
    # A pending line's sure match, until it is booked: its customer, the invoices' shares,
    # the credit and the rule (bank.booking.pending_match reads it back).
    sure_match: Mapped[dict | None] = mapped_column(JSON(none_as_null=True))

    statement: Mapped[BankStatement] = relationship(
        back_populates="lines", primaryjoin="BankStatement.id == BankLine.statement_id",
        foreign_keys=[statement_id])


class BankCsvMapping(TenantScoped, db.Model):
    """How one bank account's CSV statements are read: saved once, used for every file."""

    __tablename__ = "bank_csv_mappings"
    __table_args__ = (UniqueConstraint("tenant_id", "bank_account_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bank_account_id: Mapped[int] = mapped_column(
        ForeignKey("bank_accounts.id", ondelete="CASCADE"))
    delimiter: Mapped[str] = mapped_column(String(1), default=";")
    decimal_comma: Mapped[bool] = mapped_column(default=True)
    date_format: Mapped[str] = mapped_column(String(20), default="%d.%m.%Y")
    encoding: Mapped[str] = mapped_column(String(20), default="utf-8")
    header_rows: Mapped[int] = mapped_column(default=1)
    # Field name (booked_on, amount, counterparty_name, reference, text ...) → column
    # header or 1-based column number.
    columns: Mapped[dict] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                                 onupdate=utcnow)
