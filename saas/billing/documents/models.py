"""Sales documents (R3): one model for every kind, lines in their own table, number series.

A document is a draft until it is issued. Issuing gives it the next number of its kind's
series, snapshots the seller and buyer (R3.9), freezes its lines and totals and stores
its PDF; from then on the ORM (``immutability.py``) and, on PostgreSQL, a trigger refuse
to change what was issued. Corrections are credit notes (R3.8).
"""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Computed,
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
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from saas.billing.customers.models import Customer, Site
from saas.billing.documents.numbering import YEARLY
from saas.billing.documents.states import DocumentKind, DocumentStatus
from saas.billing.money import EXACT, as_decimal, exact_product, quantize_unit_price
from saas.columns import MONEY, PERCENT, QUANTITY, RATE, string_enum
from saas.extensions import db
from saas.tenants.models import User, utcnow
from saas.tenants.scoping import TenantScoped

DEFAULT_FORMATS = {
    DocumentKind.QUOTE: "Q-{yyyy}-{counter:04}",
    DocumentKind.ORDER: "OC-{yyyy}-{counter:04}",
    DocumentKind.PROFORMA: "PF-{yyyy}-{counter:04}",
    DocumentKind.INVOICE: "INV-{yyyy}-{counter:05}",
    DocumentKind.CREDIT_NOTE: "CN-{yyyy}-{counter:04}",
}


OPEN_INVOICES_SQL = "kind = 'invoice' AND status IN ('issued', 'partly_paid')"
# Open invoices' indexes for bank matching: (name, column, more of the condition).
OPEN_INVOICE_KEYS = (("reference", "payment_reference", " AND payment_reference <> ''"),
                     ("number", "number_key", ""), ("amount", "open_units", ""))
# An amount in units of 1/10,000 (MONEY's scale): open_units as an exact integer.
AMOUNT_UNITS = 10_000


def _public_id() -> str:
    return uuid.uuid4().hex


class NumberSeries(TenantScoped, db.Model):
    """How the numbers of one kind of document look and when their counter restarts."""

    __tablename__ = "number_series"
    __table_args__ = (UniqueConstraint("tenant_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[DocumentKind] = mapped_column(string_enum(DocumentKind))
    format: Mapped[str] = mapped_column(String(60))
    reset: Mapped[str] = mapped_column(String(10), default=YEARLY)
    # The head of the series' hash chain: how many documents were issued, the last hash.
    issued_count: Mapped[int] = mapped_column(default=0)
    last_hash: Mapped[str] = mapped_column(String(64), default="")


class NumberCounter(TenantScoped, db.Model):
    """The last number drawn in one period of a series; locked while a number is drawn."""

    __tablename__ = "number_counters"
    __table_args__ = (UniqueConstraint("tenant_id", "kind", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[DocumentKind] = mapped_column(string_enum(DocumentKind))
    period: Mapped[str] = mapped_column(String(7))  # "2026", "2026-11" or ""
    last_value: Mapped[int] = mapped_column(default=0)


class Document(TenantScoped, db.Model):
    """A quote, order confirmation, proforma invoice, invoice or credit note."""

    __tablename__ = "documents"
    __table_args__ = (
        UniqueConstraint("tenant_id", "kind", "number"),
        UniqueConstraint("public_id"),
        # Per status, covering what the list's sums add up (read from the index alone).
        Index("ix_documents_tenant_kind_status", "tenant_id", "kind", "status", "currency",
              postgresql_include=["net_total", "gross_total"]),
        # The list's order (drafts on top, newest first), read backwards by its pages.
        Index("ix_documents_list_order", "tenant_id", "kind", text("(number IS NULL)"),
              "issue_date", "id"),
        Index("ix_documents_tenant_customer", "tenant_id", "customer_id"),
        # Only documents made from another (an order from a quote, a credit note) have a
        # source: the others are not indexed (an invoice paid is written anew in each).
        Index("ix_documents_tenant_source", "tenant_id", "source_id",
              postgresql_where=text("source_id IS NOT NULL"),
              sqlite_where=text("source_id IS NOT NULL")),
        # The sales reports read the documents of a period by issue date.
        Index("ix_documents_tenant_issue_date", "tenant_id", "issue_date"),
        # The reminder sweep reads open invoices by due date.
        Index("ix_documents_open_invoices_due", "tenant_id", "due_date",
              postgresql_where=text(OPEN_INVOICES_SQL), sqlite_where=text(OPEN_INVOICES_SQL)),
        # A bank statement's lines look their open invoices up by payment reference,
        # number (case folded) and open amount (bank.services.load_candidates). A paid
        # invoice leaves these indexes: booking one writes nothing to them.
        *(Index(f"ix_documents_open_{name}", "tenant_id", column,
                postgresql_where=text(f"{OPEN_INVOICES_SQL}{where}"),
                sqlite_where=text(f"{OPEN_INVOICES_SQL}{where}"))
          for name, column, where in OPEN_INVOICE_KEYS),
        CheckConstraint("(number IS NULL) = (status = 'draft')", name="number_iff_issued"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), default=_public_id)
    kind: Mapped[DocumentKind] = mapped_column(string_enum(DocumentKind))
    # active_history: a change of state is a domain event (billing/events.py), which
    # needs the state it left even when it was not loaded.
    status: Mapped[DocumentStatus] = mapped_column(
        string_enum(DocumentStatus), default=DocumentStatus.DRAFT, active_history=True
    )
    number: Mapped[str | None] = mapped_column(String(60))
    counter: Mapped[int | None] = mapped_column()
    period: Mapped[str | None] = mapped_column(String(7))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="RESTRICT"))
    # The document this one was made from: quote → order → invoice, proforma → invoice,
    # invoice → credit note.
    source_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id", ondelete="RESTRICT"))
    currency: Mapped[str] = mapped_column(String(3))
    tenant_currency: Mapped[str] = mapped_column(String(3))
    # 1 unit of the document currency = exchange_rate units of the tenant's currency.
    exchange_rate: Mapped[Decimal] = mapped_column(RATE, default=Decimal(1))
    language: Mapped[str] = mapped_column(String(5), default="en")
    issue_date: Mapped[date | None] = mapped_column(Date)
    delivery_date: Mapped[date | None] = mapped_column(Date)
    due_date: Mapped[date | None] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    payment_terms_days: Mapped[int] = mapped_column(default=14)
    payment_reference: Mapped[str] = mapped_column(String(35), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    # R3.12: print the customer's balance and a payment demand with an invoice.
    show_balance: Mapped[bool] = mapped_column(default=False)
    payment_demand: Mapped[bool] = mapped_column(default=False)
    net_total: Mapped[Decimal] = mapped_column(MONEY, default=Decimal(0))
    vat_total: Mapped[Decimal] = mapped_column(MONEY, default=Decimal(0))
    gross_total: Mapped[Decimal] = mapped_column(MONEY, default=Decimal(0))
    # What payments and credit notes settle of an invoice (or what a credit note settles):
    # the sum of its live allocations, kept with them (payments.services). Not content: it
    # changes after issue, as the status does.
    paid_total: Mapped[Decimal] = mapped_column(MONEY, default=Decimal(0),
                                                server_default="0")
    # Kept by the database, for bank matching's look-ups (OPEN_INVOICE_KEYS): the number
    # in lower case, and what is open as an integer (AMOUNT_UNITS). Columns rather than
    # expression indexes because under row-level security PostgreSQL uses an index only
    # for conditions of "leakproof" functions, which lower() and numeric's are not.
    number_key: Mapped[str | None] = mapped_column(String(60), Computed("lower(number)",
                                                                         persisted=True))
    open_units: Mapped[int] = mapped_column(BigInteger, Computed(
        f"CAST(ROUND((gross_total - paid_total) * {AMOUNT_UNITS}) AS BIGINT)", persisted=True))
    # Snapshots taken at issue (R3.9): what was printed, whatever happens to the customer.
    seller: Mapped[dict | None] = mapped_column(JSON)
    buyer: Mapped[dict | None] = mapped_column(JSON)
    balance_before: Mapped[Decimal | None] = mapped_column(MONEY)
    # The chain: SHA-256 over the previous document's hash and this one's content.
    chain_position: Mapped[int | None] = mapped_column()
    previous_hash: Mapped[str | None] = mapped_column(String(64))
    chain_hash: Mapped[str | None] = mapped_column(String(64))
    pdf: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    pdf_sha256: Mapped[str | None] = mapped_column(String(64))
    issued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )

    customer: Mapped[Customer] = relationship()
    source: Mapped[Document | None] = relationship(remote_side=[id])
    lines: Mapped[list[DocumentLine]] = relationship(
        back_populates="document",
        cascade="all, delete-orphan",
        order_by="DocumentLine.position",
    )
    issued_by: Mapped[User | None] = relationship(foreign_keys=[issued_by_id])

    @property
    def open_amount(self) -> Decimal:
        """What is still to settle: the gross total less what is allocated to it."""
        return self.gross_total - (self.paid_total or Decimal(0))

    @property
    def is_draft(self) -> bool:
        return self.status == DocumentStatus.DRAFT

    @property
    def is_issued(self) -> bool:
        return self.number is not None

    @property
    def title(self) -> str:
        if self.number:
            return f"{self.kind.label} {self.number}"
        return f"Draft {self.kind.label.lower()}"

    @property
    def buyer_name(self) -> str:
        return (self.buyer or {}).get("name") or self.customer.name


class DocumentLine(TenantScoped, db.Model):
    """One line of a document: a product or a manual line (R3.11), maybe for a site (R1.2)."""

    __tablename__ = "document_lines"
    __table_args__ = (
        Index("ix_document_lines_tenant_document", "tenant_id", "document_id", "position"),
        # The sales reports sum a period's lines from this index alone (PostgreSQL).
        Index("ix_document_lines_report", "tenant_id", "document_id",
              postgresql_include=["net", "quantity", "product_id", "site_id", "contract_id"]),
        Index("ix_document_lines_tenant_source_line", "tenant_id", "source_line_id"),
        CheckConstraint(
            "discount_percent >= 0 AND discount_percent <= 100", name="discount_range"
        ),
        CheckConstraint("unit_price >= 0", name="unit_price_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column()
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id", ondelete="RESTRICT"))
    description: Mapped[str] = mapped_column(Text)
    quantity: Mapped[Decimal] = mapped_column(QUANTITY)
    unit: Mapped[str] = mapped_column(String(20), default="")
    # Before discount, in the document's currency.
    unit_price: Mapped[Decimal] = mapped_column(MONEY)
    discount_percent: Mapped[Decimal] = mapped_column(PERCENT, default=Decimal(0))
    net: Mapped[Decimal] = mapped_column(MONEY, default=Decimal(0))
    # The VAT rate as it was when the line was written (the rate table may change later).
    vat_rate_id: Mapped[int] = mapped_column(ForeignKey("vat_rates.id", ondelete="RESTRICT"))
    vat_code: Mapped[str] = mapped_column(String(20))
    vat_rate: Mapped[Decimal] = mapped_column(PERCENT)
    vat_category: Mapped[str] = mapped_column(String(20))
    vat_note: Mapped[str] = mapped_column(String(300), default="")
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id", ondelete="RESTRICT"))
    site_label: Mapped[str] = mapped_column(String(250), default="")
    # R3.10: the contract and the period a billing run made the line for.
    contract_id: Mapped[int | None] = mapped_column(
        ForeignKey("contracts.id", ondelete="RESTRICT"), index=True)
    period_start: Mapped[date | None] = mapped_column(Date)
    period_end: Mapped[date | None] = mapped_column(Date)  # the last day, inclusive
    # What this line continues or corrects: the quote line an order line came from, the
    # order line an invoice line bills, the invoice line a credit note line credits.
    source_line_id: Mapped[int | None] = mapped_column(
        ForeignKey("document_lines.id", ondelete="RESTRICT")
    )
    price_explanation: Mapped[str] = mapped_column(Text, default="")

    document: Mapped[Document] = relationship(back_populates="lines")
    site: Mapped[Site | None] = relationship()
    source_line: Mapped[DocumentLine | None] = relationship(remote_side=[id])

    @property
    def net_unit_price(self) -> Decimal:
        """The unit price after the line's discount, to 4 decimals, half up."""
        return net_unit_price(self.unit_price, self.discount_percent)


def net_unit_price(unit_price: Decimal, discount_percent: Decimal) -> Decimal:
    """Return the unit price after a percentage discount, to 4 decimals, half up."""
    if not discount_percent:
        return quantize_unit_price(as_decimal(unit_price, "unit price"))
    remaining = EXACT.subtract(100, as_decimal(discount_percent, "discount"))
    product = exact_product(unit_price, remaining)
    return quantize_unit_price(
        product.scaleb(-2) if isinstance(product, Decimal) else product / 100)


class DeliveryStatus(enum.StrEnum):
    QUEUED = "queued"
    # Claimed by a job that is sending it: its Message-ID is fixed, so a retry after a
    # crash sends the same message again (at least once; see delivery.py).
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Delivery(TenantScoped, db.Model):
    """One message that carries a document to its customer."""

    __tablename__ = "deliveries"
    __table_args__ = (Index("ix_deliveries_tenant_document", "tenant_id", "document_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(10), default="email")
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    status: Mapped[DeliveryStatus] = mapped_column(
        string_enum(DeliveryStatus), default=DeliveryStatus.QUEUED, active_history=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    message_id: Mapped[str] = mapped_column(String(250), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # Post deliveries (channel "post") belong to the print batch that carries them.
    post_batch_id: Mapped[int | None] = mapped_column(
        ForeignKey("post_batches.id", ondelete="CASCADE"), index=True)
    # Who is sending it (the job's id) and since when: another job leaves a fresh claim
    # alone; the same job, retried after a crash, sends it again with the same Message-ID.
    claimed_by: Mapped[str] = mapped_column(String(64), default="")
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # A reminder's e-mail carries the reminder (and a copy of the invoice).
    reminder_id: Mapped[int | None] = mapped_column(
        ForeignKey("reminders.id", ondelete="CASCADE"), index=True)

    document: Mapped[Document] = relationship()


class PostBatch(TenantScoped, db.Model):
    """Documents for customers who want them by post: one merged PDF to print (R3.4)."""

    tenant_id_indexed = True  # no index of the table leads with tenant_id

    __tablename__ = "post_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    printed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    pdf: Mapped[bytes] = deferred(mapped_column(LargeBinary))
    deliveries: Mapped[list[Delivery]] = relationship(order_by="Delivery.id")
