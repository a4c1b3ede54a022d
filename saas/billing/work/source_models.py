"""Sources of billable work (R5.5–R5.7): technical work protocols, guarded sites with their
hours, and cash-in-transit task cards. Each turns into billable items (``items.capture``)
when it is completed or its period is captured; the items carry the source's type and id.
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

from saas.billing.catalog.models import Product
from saas.billing.customers.models import Customer, Site
from saas.billing.work.guarding_rules import GuardingMode
from saas.columns import MONEY, QUANTITY, string_enum
from saas.extensions import db
from saas.tenants.models import utcnow
from saas.tenants.scoping import TenantScoped


class SourceStatus(enum.StrEnum):
    OPEN = "open"  # being filled in
    COMPLETED = "completed"  # done: its billable items are captured

    @property
    def label(self) -> str:
        return self.value.capitalize()


# --- technical work protocols (R5.5) ------------------------------------------------------


class WorkProtocol(TenantScoped, db.Model):
    """A work order done at a customer's site: the work, the hours and the materials used."""

    __tablename__ = "work_protocols"
    __table_args__ = (
        UniqueConstraint("tenant_id", "number"),
        Index("ix_work_protocols_tenant_status", "tenant_id", "status"),
        CheckConstraint("hours >= 0", name="hours_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="RESTRICT"))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id", ondelete="RESTRICT"))
    performed_on: Mapped[date] = mapped_column(Date)
    technician: Mapped[str] = mapped_column(String(200), default="")
    work_done: Mapped[str] = mapped_column(Text, default="")
    hours: Mapped[Decimal] = mapped_column(QUANTITY, default=Decimal(0))
    # The service the hours are billed as ("Service technician, hour").
    labour_product_id: Mapped[int | None] = mapped_column(
        ForeignKey("products.id", ondelete="RESTRICT")
    )
    billable: Mapped[bool] = mapped_column(default=True)
    status: Mapped[SourceStatus] = mapped_column(
        string_enum(SourceStatus), default=SourceStatus.OPEN
    )
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    customer: Mapped[Customer] = relationship()
    site: Mapped[Site | None] = relationship()
    labour_product: Mapped[Product | None] = relationship()
    materials: Mapped[list[ProtocolMaterial]] = relationship(
        back_populates="protocol", cascade="all, delete-orphan", order_by="ProtocolMaterial.id"
    )


class ProtocolMaterial(TenantScoped, db.Model):
    """A product used on the job, and how much of it."""

    tenant_id_indexed = True  # no index of the table leads with tenant_id

    __tablename__ = "protocol_materials"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    protocol_id: Mapped[int] = mapped_column(
        ForeignKey("work_protocols.id", ondelete="CASCADE"), index=True
    )
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="RESTRICT"))
    quantity: Mapped[Decimal] = mapped_column(QUANTITY)

    protocol: Mapped[WorkProtocol] = relationship(back_populates="materials")
    product: Mapped[Product] = relationship()


# --- guarding (R5.6) ----------------------------------------------------------------------


class GuardedSite(TenantScoped, db.Model):
    """A customer's site under guard, and how its periods are billed."""

    __tablename__ = "guarded_sites"
    __table_args__ = (
        UniqueConstraint("tenant_id", "site_id"),
        CheckConstraint("hourly_rate IS NULL OR hourly_rate >= 0", name="rate_not_negative"),
        CheckConstraint("lump_sum IS NULL OR lump_sum >= 0", name="lump_sum_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    mode: Mapped[GuardingMode] = mapped_column(
        string_enum(GuardingMode), default=GuardingMode.HOURLY
    )
    # The product the period is billed as (an hour of guarding, or the monthly lump sum).
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="RESTRICT"))
    # The site's own rate; none: the pricing engine's price of the product.
    hourly_rate: Mapped[Decimal | None] = mapped_column(MONEY)
    lump_sum: Mapped[Decimal | None] = mapped_column(MONEY)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    site: Mapped[Site] = relationship()
    product: Mapped[Product] = relationship()


class GuardingHours(TenantScoped, db.Model):
    """The hours guarded on a site on one day."""

    __tablename__ = "guarding_hours"
    __table_args__ = (
        UniqueConstraint("tenant_id", "guarded_site_id", "worked_on"),
        CheckConstraint("hours > 0 AND hours <= 24", name="hours_in_a_day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    guarded_site_id: Mapped[int] = mapped_column(ForeignKey("guarded_sites.id", ondelete="CASCADE"))
    worked_on: Mapped[date] = mapped_column(Date)
    hours: Mapped[Decimal] = mapped_column(QUANTITY)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class GuardingPeriod(TenantScoped, db.Model):
    """A site's period captured as billable items: unique, so a period is billed once."""

    __tablename__ = "guarding_periods"
    __table_args__ = (UniqueConstraint("tenant_id", "guarded_site_id", "period_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    guarded_site_id: Mapped[int] = mapped_column(ForeignKey("guarded_sites.id", ondelete="CASCADE"))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)  # inclusive
    hours: Mapped[Decimal] = mapped_column(QUANTITY, default=Decimal(0))
    captured_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    guarded_site: Mapped[GuardedSite] = relationship()


# --- cash in transit (R5.7) ---------------------------------------------------------------


class CitServiceKind(enum.StrEnum):
    PICKUP = "pickup"
    HANDOVER = "handover"

    @property
    def label(self) -> str:
        return {"pickup": "Pick-up", "handover": "Hand-over"}[self.value]


class CitCard(TenantScoped, db.Model):
    """A crew's task card for a day: the pick-ups and hand-overs it made for a customer."""

    __tablename__ = "cit_cards"
    __table_args__ = (UniqueConstraint("tenant_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="RESTRICT"))
    crew: Mapped[str] = mapped_column(String(200), default="")
    served_on: Mapped[date] = mapped_column(Date)
    status: Mapped[SourceStatus] = mapped_column(
        string_enum(SourceStatus), default=SourceStatus.OPEN
    )
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    customer: Mapped[Customer] = relationship()
    services: Mapped[list[CitService]] = relationship(
        back_populates="card", cascade="all, delete-orphan", order_by="CitService.id"
    )


class CitService(TenantScoped, db.Model):
    """One pick-up or hand-over on a card, priced as its own product from the price list."""

    tenant_id_indexed = True  # no index of the table leads with tenant_id

    __tablename__ = "cit_services"

    id: Mapped[int] = mapped_column(primary_key=True)
    card_id: Mapped[int] = mapped_column(ForeignKey("cit_cards.id", ondelete="CASCADE"), index=True)
    kind: Mapped[CitServiceKind] = mapped_column(string_enum(CitServiceKind))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="RESTRICT"))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id", ondelete="RESTRICT"))
    place: Mapped[str] = mapped_column(String(200), default="")
    seal: Mapped[str] = mapped_column(String(60), default="")  # the bag's seal number

    card: Mapped[CitCard] = relationship(back_populates="services")
    product: Mapped[Product] = relationship()
    site: Mapped[Site | None] = relationship()
