"""The catalog (R2): VAT rates, products and services, price lists, price rules, rates."""

from __future__ import annotations

import enum
from datetime import date
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from saas.columns import MONEY, PERCENT, QUANTITY, RATE, string_enum
from saas.extensions import db
from saas.tenants.scoping import TenantScoped


class VatCategory(enum.StrEnum):
    """How a VAT rate is treated on invoices (the EN 16931 category it maps to)."""

    STANDARD = "standard"  # S
    REDUCED = "reduced"  # S, lower rate
    ZERO = "zero"  # Z
    EXEMPT = "exempt"  # E: exempt from VAT, the reason is printed
    REVERSE_CHARGE = "reverse_charge"  # AE: the buyer accounts for the VAT

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


class VatRate(TenantScoped, db.Model):
    """A line in the tenant's VAT rate table."""

    __tablename__ = "vat_rates"
    __table_args__ = (UniqueConstraint("tenant_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(100))
    rate: Mapped[Decimal] = mapped_column(PERCENT)
    category: Mapped[VatCategory] = mapped_column(string_enum(VatCategory))
    # Printed on invoices for exempt and reverse-charge lines (the legal basis).
    note: Mapped[str] = mapped_column(String(300), default="")
    is_archived: Mapped[bool] = mapped_column(default=False)


class ProductCategory(TenantScoped, db.Model):
    """A group of products that shares discounts (e.g. 'Guarding', 'Spare parts')."""

    __tablename__ = "product_categories"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))


class Product(TenantScoped, db.Model):
    """A product or service the tenant sells."""

    __tablename__ = "products"
    __table_args__ = (
        UniqueConstraint("tenant_id", "sku"),
        CheckConstraint("base_price >= 0", name="base_price_not_negative"),
        CheckConstraint(
            "quantity_increment IS NULL OR quantity_increment > 0", name="increment_positive"
        ),
        CheckConstraint(
            "minimum_quantity IS NULL OR minimum_quantity >= 0", name="minimum_not_negative"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(60))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    unit: Mapped[str] = mapped_column(String(20), default="pcs")
    category_id: Mapped[int | None] = mapped_column(
        ForeignKey("product_categories.id", ondelete="SET NULL")
    )
    vat_rate_id: Mapped[int] = mapped_column(ForeignKey("vat_rates.id"))
    base_price: Mapped[Decimal] = mapped_column(MONEY)
    currency: Mapped[str] = mapped_column(String(3))
    cost_price: Mapped[Decimal | None] = mapped_column(MONEY)
    # R2.4: bill by started increments (1 = started hour, 0.25 = started quarter) ...
    quantity_increment: Mapped[Decimal | None] = mapped_column(QUANTITY)
    # ... and never less than this quantity (a call-out minimum).
    minimum_quantity: Mapped[Decimal | None] = mapped_column(QUANTITY)
    is_archived: Mapped[bool] = mapped_column(default=False)

    category: Mapped[ProductCategory | None] = relationship()
    vat_rate: Mapped[VatRate] = relationship()


class PriceList(TenantScoped, db.Model):
    """Prices for a group of customers, in one currency, valid for a period."""

    __tablename__ = "price_lists"
    __table_args__ = (
        UniqueConstraint("tenant_id", "name"),
        CheckConstraint("custom_rate IS NULL OR custom_rate > 0", name="custom_rate_positive"),
        CheckConstraint(
            "valid_to IS NULL OR valid_from IS NULL OR valid_to >= valid_from",
            name="valid_period",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    currency: Mapped[str] = mapped_column(String(3))
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    # R2.5: an agreed rate instead of the rate table, for documents in custom_rate_currency:
    # 1 unit of the list's currency = custom_rate units of custom_rate_currency.
    custom_rate: Mapped[Decimal | None] = mapped_column(RATE)
    custom_rate_currency: Mapped[str | None] = mapped_column(String(3))

    items: Mapped[list[PriceListItem]] = relationship(
        back_populates="price_list", cascade="all, delete-orphan"
    )


class PriceListItem(TenantScoped, db.Model):
    """One product's price on a price list."""

    __tablename__ = "price_list_items"
    __table_args__ = (
        UniqueConstraint("tenant_id", "price_list_id", "product_id"),
        CheckConstraint("price >= 0", name="price_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    price_list_id: Mapped[int] = mapped_column(ForeignKey("price_lists.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    price: Mapped[Decimal] = mapped_column(MONEY)

    price_list: Mapped[PriceList] = relationship(back_populates="items")
    product: Mapped[Product] = relationship()


class CustomerPrice(TenantScoped, db.Model):
    """A customer's own agreed price for a product (R2.3)."""

    tenant_id_indexed = True  # no index of the table leads with tenant_id

    __tablename__ = "customer_prices"
    __table_args__ = (
        CheckConstraint("price >= 0", name="price_not_negative"),
        CheckConstraint(
            "valid_to IS NULL OR valid_from IS NULL OR valid_to >= valid_from",
            name="valid_period",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    price: Mapped[Decimal] = mapped_column(MONEY)
    currency: Mapped[str] = mapped_column(String(3))
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)

    customer: Mapped[Customer] = relationship()  # noqa: F821 - customers model
    product: Mapped[Product] = relationship()


class CategoryDiscount(TenantScoped, db.Model):
    """A discount for a customer category on a product category (R2.3)."""

    __tablename__ = "category_discounts"
    __table_args__ = (
        UniqueConstraint("tenant_id", "customer_category_id", "product_category_id"),
        CheckConstraint("percent >= 0 AND percent <= 100", name="percent_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_category_id: Mapped[int] = mapped_column(
        ForeignKey("customer_categories.id", ondelete="CASCADE")
    )
    product_category_id: Mapped[int] = mapped_column(
        ForeignKey("product_categories.id", ondelete="CASCADE")
    )
    percent: Mapped[Decimal] = mapped_column(PERCENT)

    customer_category: Mapped[CustomerCategory] = relationship()  # noqa: F821
    product_category: Mapped[ProductCategory] = relationship()


class ExchangeRate(TenantScoped, db.Model):
    """A dated rate: 1 unit of base_currency = rate units of quote_currency."""

    __tablename__ = "exchange_rates"
    __table_args__ = (
        UniqueConstraint("tenant_id", "base_currency", "quote_currency", "valid_on"),
        CheckConstraint("rate > 0", name="rate_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    base_currency: Mapped[str] = mapped_column(String(3))
    quote_currency: Mapped[str] = mapped_column(String(3))
    valid_on: Mapped[date] = mapped_column(Date)
    rate: Mapped[Decimal] = mapped_column(RATE)
