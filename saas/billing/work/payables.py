"""Payables (R5.10): suppliers, their price lists, and outsourced services owed to them.

A supplier is one of the tenant's customers with supplier terms (see payable_models). A
payable item is priced by the supplier's price list, valid on the day of the service; a
product the list lacks is priced at the product's cost price; a price typed by hand wins.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from saas.billing.catalog.models import PriceList, PriceListItem, Product
from saas.billing.customers.models import Customer
from saas.billing.money import as_decimal, quantize_unit_price
from saas.billing.work.payable_models import (
    PayableItem,
    PayableStatus,
    SupplierTerms,
)
from saas.billing.work.source_common import SourceError, own_customer, own_site
from saas.extensions import db
from saas.tenants import audit

QUANTITY_LIMIT = Decimal("1e10")


def terms_of(customer: Customer) -> SupplierTerms | None:
    return db.session.scalar(select(SupplierTerms).where(SupplierTerms.customer_id == customer.id))


def set_supplier_terms(
    customer: Customer, *, price_list_id: int | None, is_partner: bool
) -> SupplierTerms:
    """Make a customer a supplier (and maybe a netting partner) with its price list."""
    if price_list_id and db.session.get(PriceList, price_list_id) is None:
        raise SourceError("Choose one of your price lists.", "price_list_id")
    terms = terms_of(customer)
    if terms is None:
        terms = SupplierTerms(customer_id=customer.id)
        db.session.add(terms)
    terms.price_list_id, terms.is_partner = price_list_id or None, is_partner
    db.session.flush()
    audit.record(
        "work.supplier_terms",
        customer,
        f"{customer.name}: supplier" + (", netting partner" if is_partner else ""),
    )
    return terms


def suppliers() -> list[SupplierTerms]:
    return list(
        db.session.scalars(
            select(SupplierTerms).join(SupplierTerms.customer).order_by(Customer.name)
        )
    )


def supplier_price(terms: SupplierTerms, product: Product, on: date) -> tuple[Decimal, str]:
    """The supplier's price of the product on a day, and its currency."""
    price_list = terms.price_list
    if (
        price_list is not None
        and (price_list.valid_from is None or price_list.valid_from <= on)
        and (price_list.valid_to is None or on <= price_list.valid_to)
    ):
        price = db.session.scalar(
            select(PriceListItem.price).where(
                PriceListItem.price_list_id == price_list.id, PriceListItem.product_id == product.id
            )
        )
        if price is not None:
            return price, price_list.currency
    if product.cost_price is not None:
        return product.cost_price, product.currency
    raise SourceError(
        f"{terms.customer.name}'s price list has no price for {product.name}"
        f" on {on} and the product has no cost price: enter the price.",
        "unit_price",
    )


def record_payable(values: dict[str, Any], *, user_id: int | None = None) -> PayableItem:
    """An outsourced service owed to a supplier."""
    supplier = own_customer(values.get("supplier_id"), "supplier_id")
    terms = terms_of(supplier)
    if terms is None:
        raise SourceError(f"{supplier.name} is not set up as a supplier.", "supplier_id")
    occurred_on = values.get("occurred_on")
    if occurred_on is None:
        raise SourceError("Give the day of the service.", "occurred_on")
    quantity = values.get("quantity")
    if quantity is None or as_decimal(quantity, "quantity") <= 0:
        raise SourceError("Enter a quantity above 0.", "quantity")
    if quantity >= QUANTITY_LIMIT:
        raise SourceError("That quantity is too large.", "quantity")
    product = db.session.get(Product, values["product_id"]) if values.get("product_id") else None
    if values.get("product_id") and product is None:
        raise SourceError("Choose one of your products.", "product_id")
    customer = site = None
    if values.get("customer_id"):
        customer = own_customer(values["customer_id"])
        site = own_site(customer, values.get("site_id"))
    unit_price = values.get("unit_price")
    currency = values.get("currency") or supplier.currency
    if unit_price is None:
        if product is None:
            raise SourceError(
                "Enter a price, or choose a product to price it by the supplier's price list.",
                "unit_price",
            )
        unit_price, currency = supplier_price(terms, product, occurred_on)
    if as_decimal(unit_price, "unit price") < 0:
        raise SourceError("A price cannot be negative.", "unit_price")
    description = (values.get("description") or "").strip() or (product.name if product else "")
    if not description:
        raise SourceError("Describe the service or choose a product.", "description")
    item = PayableItem(
        supplier_id=supplier.id,
        customer_id=customer.id if customer else None,
        site_id=site.id if site else None,
        project_id=values.get("project_id") or None,
        product_id=product.id if product else None,
        description=description,
        occurred_on=occurred_on,
        quantity=quantity,
        unit=(values.get("unit") or (product.unit if product else "")).strip()[:20],
        unit_price=quantize_unit_price(unit_price),
        currency=currency,
        created_by_id=user_id,
    )
    db.session.add(item)
    db.session.flush()
    audit.record(
        "work.payable_recorded", item, f"Payable to {supplier.name}: {description}", user_id=user_id
    )
    return item


def mark_paid(item: PayableItem, *, user_id: int | None = None) -> None:
    if item.status is not PayableStatus.OPEN:
        raise SourceError("Only an open payable can be marked paid.")
    item.status = PayableStatus.PAID
    db.session.flush()
    audit.record("work.payable_paid", item, f"Payable {item.id} paid", user_id=user_id)
