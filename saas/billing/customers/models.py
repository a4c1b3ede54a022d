"""The customer register (R1): customers, their contacts and sites, customer categories."""

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

from saas.columns import PERCENT, string_enum
from saas.extensions import db
from saas.tenants.models import utcnow
from saas.tenants.scoping import TenantScoped


class DeliveryPreference(enum.StrEnum):
    EMAIL = "email"
    POST = "post"
    BOTH = "both"

    @property
    def label(self) -> str:
        return {"email": "E-mail", "post": "Post", "both": "E-mail and post"}[self.value]


class CustomerCategory(TenantScoped, db.Model):
    """A group of customers that shares discounts (e.g. 'Public sector', 'Partners')."""

    __tablename__ = "customer_categories"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))


class Customer(TenantScoped, db.Model):
    """Someone the tenant sells to."""

    __tablename__ = "customers"
    __table_args__ = (
        UniqueConstraint("tenant_id", "number"),
        Index("ix_customers_tenant_archived_name", "tenant_id", "is_archived", "name"),
        CheckConstraint(
            "discount_percent >= 0 AND discount_percent <= 100", name="discount_range"
        ),
        CheckConstraint("payment_terms_days >= 0", name="terms_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column()
    name: Mapped[str] = mapped_column(String(200))
    org_number: Mapped[str] = mapped_column(String(40), default="")
    vat_id: Mapped[str] = mapped_column(String(40), default="")
    country: Mapped[str] = mapped_column(String(2))
    address_line1: Mapped[str] = mapped_column(String(200), default="")
    address_line2: Mapped[str] = mapped_column(String(200), default="")
    postal_code: Mapped[str] = mapped_column(String(20), default="")
    city: Mapped[str] = mapped_column(String(100), default="")
    delivery_address_line1: Mapped[str] = mapped_column(String(200), default="")
    delivery_address_line2: Mapped[str] = mapped_column(String(200), default="")
    delivery_postal_code: Mapped[str] = mapped_column(String(20), default="")
    delivery_city: Mapped[str] = mapped_column(String(100), default="")
    delivery_country: Mapped[str] = mapped_column(String(2), default="")
    language: Mapped[str] = mapped_column(String(5), default="en")
    currency: Mapped[str] = mapped_column(String(3))
    payment_terms_days: Mapped[int] = mapped_column(default=14)
    category_id: Mapped[int | None] = mapped_column(
        ForeignKey("customer_categories.id", ondelete="SET NULL")
    )
    price_list_id: Mapped[int | None] = mapped_column(
        ForeignKey("price_lists.id", ondelete="SET NULL")
    )
    discount_percent: Mapped[Decimal] = mapped_column(PERCENT, default=Decimal("0"))
    delivery_preference: Mapped[DeliveryPreference] = mapped_column(
        string_enum(DeliveryPreference), default=DeliveryPreference.EMAIL
    )
    region: Mapped[str] = mapped_column(String(100), default="")
    # Comma-separated, lower case ("enrolment, evening"): automation rules match on them.
    tags: Mapped[str] = mapped_column(String(500), default="", server_default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    is_archived: Mapped[bool] = mapped_column(default=False)
    # Lower-cased name, number, org/VAT ids, contact e-mails and names, site codes and
    # names, kept by the services; its words are indexed in customer_search_terms.
    search_text: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    category: Mapped[CustomerCategory | None] = relationship()
    price_list: Mapped[PriceList | None] = relationship()  # noqa: F821 - catalog model
    contacts: Mapped[list[Contact]] = relationship(
        back_populates="customer", cascade="all, delete-orphan", order_by="Contact.id"
    )
    sites: Mapped[list[Site]] = relationship(
        back_populates="customer", cascade="all, delete-orphan", order_by="Site.code"
    )

    @property
    def has_delivery_address(self) -> bool:
        return bool(self.delivery_address_line1 or self.delivery_city)


class Contact(TenantScoped, db.Model):
    """A person at a customer."""

    tenant_id_indexed = True  # no index of the table leads with tenant_id

    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    receives_invoices: Mapped[bool] = mapped_column(default=False)
    portal_access: Mapped[bool] = mapped_column(default=False)

    customer: Mapped[Customer] = relationship(back_populates="contacts")


class Site(TenantScoped, db.Model):
    """A customer's site or object: a guarded building, an installation (R1.2)."""

    __tablename__ = "sites"
    __table_args__ = (UniqueConstraint("tenant_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    address_line1: Mapped[str] = mapped_column(String(200), default="")
    postal_code: Mapped[str] = mapped_column(String(20), default="")
    city: Mapped[str] = mapped_column(String(100), default="")
    country: Mapped[str] = mapped_column(String(2), default="")
    active_from: Mapped[date | None] = mapped_column(Date)
    active_to: Mapped[date | None] = mapped_column(Date)

    customer: Mapped[Customer] = relationship(back_populates="sites")

    def is_active_on(self, day: date) -> bool:
        return (self.active_from is None or self.active_from <= day) and (
            self.active_to is None or day <= self.active_to
        )


class CustomerSearchTerm(TenantScoped, db.Model):
    """One word a customer is found by; the search box matches word prefixes here.

    A separate table of words with a b-tree index, rather than a trigram index on the
    text: row-level security lets PostgreSQL use an index only for leakproof operators,
    which LIKE is not and text comparison (the prefix range used here) is.
    """

    __tablename__ = "customer_search_terms"
    # customer_id, and the customer's name and archived flag, in the index too: a prefix
    # search finds, filters, sorts and counts its matches from the index alone.
    __table_args__ = (
        Index("ix_customer_search_terms_covering", "tenant_id", "term", "customer_id",
              postgresql_include=["is_archived", "name"]),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    # Byte order ("C") on PostgreSQL, so that a prefix is a plain range of the index.
    term: Mapped[str] = mapped_column(
        String(100).with_variant(String(100, collation="C"), "postgresql")
    )
    # Copies of the customer's, kept by the services: the list sorts by name and hides
    # archived customers without visiting a customer row per match.
    name: Mapped[str] = mapped_column(String(200), default="")
    is_archived: Mapped[bool] = mapped_column(default=False)
