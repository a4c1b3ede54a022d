"""Payables (R5.10): suppliers' terms, payable items and netting statements between
partner agencies.

A supplier is a customer record with ``SupplierTerms``: partner agencies both buy from and
sell to the tenant, so one counterparty keeps one address, VAT id and currency, and the
netting invoice goes to the same record the services were given to.
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

from saas.billing.catalog.models import PriceList, Product
from saas.billing.customers.models import Customer, Site
from saas.billing.work.netting_rules import Outcome, Side
from saas.columns import MONEY, QUANTITY, string_enum
from saas.extensions import db
from saas.tenants.models import utcnow
from saas.tenants.scoping import TenantScoped


class SupplierTerms(TenantScoped, db.Model):
    """A customer the tenant also buys from: its price list, and whether services net."""

    __tablename__ = "supplier_terms"
    __table_args__ = (UniqueConstraint("tenant_id", "customer_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    # What the supplier charges us, product by product.
    price_list_id: Mapped[int | None] = mapped_column(
        ForeignKey("price_lists.id", ondelete="SET NULL")
    )
    # A partner agency: services given and received are netted (R5.10).
    is_partner: Mapped[bool] = mapped_column(default=False)

    customer: Mapped[Customer] = relationship()
    price_list: Mapped[PriceList | None] = relationship()


class PayableStatus(enum.StrEnum):
    OPEN = "open"  # to be paid (or netted)
    NETTED = "netted"  # settled by a netting statement
    PAID = "paid"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class PayableItem(TenantScoped, db.Model):
    """An outsourced service owed to a supplier, priced by the supplier's price list."""

    __tablename__ = "payable_items"
    __table_args__ = (
        Index("ix_payable_items_tenant_supplier_status", "tenant_id", "supplier_id", "status"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_price >= 0", name="unit_price_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="RESTRICT"))
    # Whom the service was for, where, and for which project (its cost).
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id", ondelete="SET NULL"))
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("projects.id", ondelete="SET NULL"), index=True
    )
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id", ondelete="RESTRICT"))
    description: Mapped[str] = mapped_column(Text, default="")
    occurred_on: Mapped[date] = mapped_column(Date)
    quantity: Mapped[Decimal] = mapped_column(QUANTITY)
    unit: Mapped[str] = mapped_column(String(20), default="")
    unit_price: Mapped[Decimal] = mapped_column(MONEY)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[PayableStatus] = mapped_column(
        string_enum(PayableStatus), default=PayableStatus.OPEN
    )
    netting_statement_id: Mapped[int | None] = mapped_column(
        ForeignKey("netting_statements.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    supplier: Mapped[Customer] = relationship(foreign_keys=[supplier_id])
    customer: Mapped[Customer | None] = relationship(foreign_keys=[customer_id])
    site: Mapped[Site | None] = relationship()
    product: Mapped[Product | None] = relationship()


class NettingStatement(TenantScoped, db.Model):
    """Services given to and received from a partner in a period, and who owes the rest."""

    __tablename__ = "netting_statements"
    __table_args__ = (UniqueConstraint("tenant_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40))
    partner_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="RESTRICT"))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)  # inclusive
    currency: Mapped[str] = mapped_column(String(3))
    given_total: Mapped[Decimal] = mapped_column(MONEY)
    received_total: Mapped[Decimal] = mapped_column(MONEY)
    difference: Mapped[Decimal] = mapped_column(MONEY)
    outcome: Mapped[Outcome] = mapped_column(string_enum(Outcome))
    # The invoice of the difference (we collect) or the payable of it (we pay).
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id", ondelete="SET NULL"))
    # (No foreign key: payable items point at their statement already, and one cycle of
    # keys would need ALTER TABLE, which SQLite cannot do.)
    payable_item_id: Mapped[int | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    partner: Mapped[Customer] = relationship()
    lines: Mapped[list[NettingLine]] = relationship(
        back_populates="statement", cascade="all, delete-orphan", order_by="NettingLine.id"
    )


class NettingLine(TenantScoped, db.Model):
    """One service on a statement, as it stood when the statement was made."""

    __tablename__ = "netting_lines"
    __table_args__ = (Index("ix_netting_lines_tenant_statement", "tenant_id", "statement_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    statement_id: Mapped[int] = mapped_column(
        ForeignKey("netting_statements.id", ondelete="CASCADE")
    )
    side: Mapped[Side] = mapped_column(string_enum(Side))
    billable_item_id: Mapped[int | None] = mapped_column()
    payable_item_id: Mapped[int | None] = mapped_column(
        ForeignKey("payable_items.id", ondelete="SET NULL")
    )
    occurred_on: Mapped[date] = mapped_column(Date)
    description: Mapped[str] = mapped_column(Text, default="")
    quantity: Mapped[Decimal] = mapped_column(QUANTITY)
    unit: Mapped[str] = mapped_column(String(20), default="")
    unit_price: Mapped[Decimal] = mapped_column(MONEY)
    net: Mapped[Decimal] = mapped_column(MONEY)

    statement: Mapped[NettingStatement] = relationship(back_populates="lines")
