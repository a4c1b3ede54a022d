"""Contracts (R4.1–R4.3): what a customer is billed for each period, and its annexes.

A contract's lines are kept as versions: each row of ``contract_lines`` is one line
(``line_key``) as it stands from ``effective_from``; the original lines are version one,
and an annex adds versions — a changed quantity or price, a removed line (``removed``),
a new line — from its effective date. The contract as it stood on any date is, per line,
the latest version effective by then (``services.version_at``). Nothing is overwritten,
so every period can be billed from the terms that applied to it.
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
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from saas.billing.catalog.models import Product, VatRate
from saas.billing.contracts.proration import BillingPeriod
from saas.billing.customers.models import Customer, Site
from saas.columns import MONEY, PERCENT, QUANTITY, string_enum
from saas.extensions import db
from saas.tenants.models import utcnow
from saas.tenants.scoping import TenantScoped


class ContractType(TenantScoped, db.Model):
    """A tenant's kind of contract (monitoring, guarding, software subscription ...)."""

    __tablename__ = "contract_types"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    is_archived: Mapped[bool] = mapped_column(default=False)


class Contract(TenantScoped, db.Model):
    """An agreement to bill a customer every period, from a start date, until it ends."""

    __tablename__ = "contracts"
    __table_args__ = (
        UniqueConstraint("tenant_id", "number"),
        Index("ix_contracts_tenant_customer", "tenant_id", "customer_id"),
        CheckConstraint("billing_day BETWEEN 1 AND 28", name="billing_day_in_month"),
        CheckConstraint("end_date IS NULL OR end_date >= start_date", name="ends_after_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="RESTRICT"))
    contract_type_id: Mapped[int | None] = mapped_column(
        ForeignKey("contract_types.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(200), default="")
    start_date: Mapped[date] = mapped_column(Date)
    # The agreed end (fixed term), and the last day of service once terminated.
    end_date: Mapped[date | None] = mapped_column(Date)
    notice_months: Mapped[int] = mapped_column(default=0)
    termination_date: Mapped[date | None] = mapped_column(Date)
    billing_period: Mapped[BillingPeriod] = mapped_column(
        string_enum(BillingPeriod), default=BillingPeriod.MONTHLY)
    in_advance: Mapped[bool] = mapped_column(default=True)
    billing_day: Mapped[int] = mapped_column(default=1)
    currency: Mapped[str] = mapped_column(String(3))
    payment_terms_days: Mapped[int] = mapped_column(default=14)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    customer: Mapped[Customer] = relationship()
    contract_type: Mapped[ContractType | None] = relationship()
    sites: Mapped[list[Site]] = relationship(secondary="contract_sites", order_by=Site.code)
    annexes: Mapped[list[ContractAnnex]] = relationship(
        order_by="ContractAnnex.effective_date", viewonly=True)

    @property
    def last_day(self) -> date | None:
        """The last day of service: the termination, else the agreed end, else none."""
        days = [day for day in (self.termination_date, self.end_date) if day is not None]
        return min(days) if days else None


class ContractSite(TenantScoped, db.Model):
    """A site the contract covers (R4.1)."""

    tenant_id_indexed = True  # no index of the table leads with tenant_id

    __tablename__ = "contract_sites"
    __table_args__ = (UniqueConstraint("contract_id", "site_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id", ondelete="CASCADE"))
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="RESTRICT"))


class ContractAnnex(TenantScoped, db.Model):
    """A dated amendment: the line versions it brought apply from its effective date."""

    tenant_id_indexed = True  # no index of the table leads with tenant_id

    __tablename__ = "contract_annexes"
    __table_args__ = (UniqueConstraint("contract_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column()
    effective_date: Mapped[date] = mapped_column(Date)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class ContractLine(TenantScoped, db.Model):
    """One version of one contract line, in force from ``effective_from``."""

    __tablename__ = "contract_lines"
    __table_args__ = (
        UniqueConstraint("contract_id", "line_key", "effective_from"),
        Index("ix_contract_lines_contract", "tenant_id", "contract_id"),
        CheckConstraint("quantity >= 0", name="quantity_not_negative"),
        CheckConstraint("included_quantity IS NULL OR included_quantity > 0",
                        name="included_quantity_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id", ondelete="CASCADE"))
    # The same line across its versions (1, 2, 3 ... within the contract).
    line_key: Mapped[int] = mapped_column()
    effective_from: Mapped[date] = mapped_column(Date)
    annex_id: Mapped[int | None] = mapped_column(
        ForeignKey("contract_annexes.id", ondelete="CASCADE"))
    removed: Mapped[bool] = mapped_column(default=False)  # the line ends from this version
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id", ondelete="RESTRICT"))
    description: Mapped[str] = mapped_column(Text, default="")
    quantity: Mapped[Decimal] = mapped_column(QUANTITY, default=Decimal(1))
    unit: Mapped[str] = mapped_column(String(20), default="")
    # A fixed price, or none: the price list's price on the billing date.
    unit_price: Mapped[Decimal | None] = mapped_column(MONEY)
    discount_percent: Mapped[Decimal] = mapped_column(PERCENT, default=Decimal(0))
    vat_rate_id: Mapped[int | None] = mapped_column(
        ForeignKey("vat_rates.id", ondelete="RESTRICT"))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id", ondelete="RESTRICT"))
    # A flat fee that includes a volume each period (R4.6; None: not such a line). Work
    # recorded against the line (``VolumeUsage``) uses the volume up; what goes beyond it
    # is billed at the price-list price of the overage product, else of the line's own
    # product (see volumes.py).
    included_quantity: Mapped[Decimal | None] = mapped_column(QUANTITY)
    included_unit: Mapped[str] = mapped_column(String(20), default="", server_default="")
    overage_product_id: Mapped[int | None] = mapped_column(
        ForeignKey("products.id", ondelete="RESTRICT"))

    product: Mapped[Product | None] = relationship(foreign_keys=[product_id])
    vat: Mapped[VatRate | None] = relationship()
    site: Mapped[Site | None] = relationship()


class VolumeUsage(TenantScoped, db.Model):
    """Work recorded against a flat-fee line's included volume, on a day (R4.6).

    ``line_key`` names the line across its versions; which version's volume it uses is
    decided per period (volumes.py). ``source`` says where it came from, for the pages that
    record work later ("timesheet:123"); blank when entered by hand.
    """

    __tablename__ = "volume_usages"
    __table_args__ = (
        Index("ix_volume_usages_tenant_contract_day", "tenant_id", "contract_id", "used_on"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id", ondelete="CASCADE"))
    line_key: Mapped[int] = mapped_column()
    used_on: Mapped[date] = mapped_column(Date)
    quantity: Mapped[Decimal] = mapped_column(QUANTITY)
    description: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(40), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class RunStatus(enum.StrEnum):
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class BillingRun(TenantScoped, db.Model):
    """One billing run: which contracts, as on which date, how invoices are made, progress."""

    tenant_id_indexed = True  # no index of the table leads with tenant_id

    __tablename__ = "billing_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_date: Mapped[date] = mapped_column(Date)
    contract_type_id: Mapped[int | None] = mapped_column(
        ForeignKey("contract_types.id", ondelete="SET NULL"))
    consolidate: Mapped[bool] = mapped_column(default=True)  # one invoice per customer
    issue: Mapped[bool] = mapped_column(default=False)  # else drafts
    status: Mapped[RunStatus] = mapped_column(string_enum(RunStatus), default=RunStatus.RUNNING)
    total: Mapped[int] = mapped_column(default=0)  # contracts to bill
    done: Mapped[int] = mapped_column(default=0)
    invoices: Mapped[int] = mapped_column(default=0)
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Set as the run starts and at each commit: a running run without one for long lost
    # its worker (billing.resume_stalled_runs).
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    contract_type: Mapped[ContractType | None] = relationship()


class BilledPeriod(TenantScoped, db.Model):
    """A contract period on an invoice: unique, so no run bills a period twice (R4.4)."""

    __tablename__ = "billed_periods"
    __table_args__ = (
        UniqueConstraint("contract_id", "period_start"),
        Index("ix_billed_periods_tenant_period", "tenant_id", "period_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id", ondelete="CASCADE"))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)  # exclusive
    run_id: Mapped[int | None] = mapped_column(ForeignKey("billing_runs.id", ondelete="SET NULL"))
    # Deleting the draft invoice frees the period to be billed again.
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    amount: Mapped[Decimal] = mapped_column(MONEY, default=Decimal(0))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
