"""The price of a line from the database: load the terms, let pricing.py decide.

Every form that adds a line calls ``quote_price()``. It reads in the current tenant's
context (the scoping hooks filter every query; it never sets a tenant itself) and asks
at most four queries: the product, the customer with its category, price list, list
price for the product and category discount, the customer's prices for the product, and
the newest exchange rates between the two currencies when the rate table is needed.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import and_, false, func, or_, select

from saas.billing.catalog import pricing
from saas.billing.catalog.models import (
    CategoryDiscount,
    CustomerPrice,
    ExchangeRate,
    PriceList,
    PriceListItem,
    Product,
    ProductCategory,
)
from saas.billing.catalog.pricing import PriceQuote
from saas.billing.customers.models import Customer, CustomerCategory
from saas.extensions import db
from saas.tenants import scoping


class PriceTermsNotFound(LookupError):
    """The customer or product to price does not exist in the current tenant."""


def quote_price(
    customer_id: int,
    product_id: int,
    quantity: Decimal,
    on: date,
    currency: str | None = None,
) -> PriceQuote:
    """Decide the price of quantity × product for the customer on a date (in its currency)."""
    scoping.require_tenant_id()
    product = _product_terms(product_id)
    customer, customer_currency, category_percent = _customer_terms(customer_id, product)
    document_currency = currency or customer_currency
    customer_prices = _customer_prices(customer_id, product_id)
    chosen = pricing.choose_price(product, customer, on, customer_prices)
    rates: list[pricing.Rate] = []
    if pricing.needs_rate_table(chosen, document_currency):
        rates = _newest_rates(chosen.currency, document_currency, on)
    category_discounts: dict[tuple[int, int], Decimal] = {}
    if (
        category_percent is not None
        and customer.category_id is not None
        and product.category_id is not None
    ):
        category_discounts[(customer.category_id, product.category_id)] = category_percent
    return pricing.price(
        product,
        customer,
        quantity,
        on,
        document_currency,
        customer_prices=customer_prices,
        category_discounts=category_discounts,
        rates=rates,
    )


def _product_terms(product_id: int) -> pricing.ProductTerms:
    """Load the product and its category's name."""
    row = db.session.execute(
        select(Product, ProductCategory.name)
        .outerjoin(ProductCategory, Product.category_id == ProductCategory.id)
        .where(Product.id == product_id)
    ).one_or_none()
    if row is None:
        raise PriceTermsNotFound(f"There is no product {product_id} in this company.")
    product, category_name = row
    return pricing.ProductTerms(
        product_id=product.id,
        base_price=product.base_price,
        currency=product.currency,
        unit=product.unit,
        category_id=product.category_id,
        category_name=category_name,
        quantity_increment=product.quantity_increment,
        minimum_quantity=product.minimum_quantity,
    )


def _customer_terms(
    customer_id: int, product: pricing.ProductTerms
) -> tuple[pricing.CustomerTerms, str, Decimal | None]:
    """Load the customer, its category, price list, list price and category discount."""
    discount_match = (
        and_(
            CategoryDiscount.customer_category_id == Customer.category_id,
            CategoryDiscount.product_category_id == product.category_id,
        )
        if product.category_id is not None
        else false()
    )
    row = db.session.execute(
        select(
            Customer.id,
            Customer.currency,
            Customer.category_id,
            Customer.discount_percent,
            CustomerCategory.name,
            PriceList,
            PriceListItem.price,
            CategoryDiscount.percent,
        )
        .select_from(Customer)
        .outerjoin(CustomerCategory, Customer.category_id == CustomerCategory.id)
        .outerjoin(PriceList, Customer.price_list_id == PriceList.id)
        .outerjoin(
            PriceListItem,
            and_(
                PriceListItem.price_list_id == PriceList.id,
                PriceListItem.product_id == product.product_id,
            ),
        )
        .outerjoin(CategoryDiscount, discount_match)
        .where(Customer.id == customer_id)
    ).one_or_none()
    if row is None:
        raise PriceTermsNotFound(f"There is no customer {customer_id} in this company.")
    (_, currency, category_id, discount, category_name, price_list, list_price,
     category_percent) = row
    price_list_terms = None
    if price_list is not None:
        price_list_terms = pricing.PriceListTerms(
            price_list_id=price_list.id,
            name=price_list.name,
            currency=price_list.currency,
            valid_from=price_list.valid_from,
            valid_to=price_list.valid_to,
            custom_rate=price_list.custom_rate,
            custom_rate_currency=price_list.custom_rate_currency or None,
            prices={product.product_id: list_price} if list_price is not None else {},
        )
    terms = pricing.CustomerTerms(
        customer_id=customer_id,
        category_id=category_id if category_name is not None else None,
        category_name=category_name,
        discount_percent=discount if discount is not None else Decimal(0),
        price_list=price_list_terms,
    )
    return terms, currency, category_percent


def _customer_prices(customer_id: int, product_id: int) -> list[pricing.CustomerPriceTerms]:
    """Load the customer's own prices for the product, oldest entry first."""
    rows = db.session.scalars(
        select(CustomerPrice)
        .where(CustomerPrice.customer_id == customer_id, CustomerPrice.product_id == product_id)
        .order_by(CustomerPrice.id)
    )
    return [
        pricing.CustomerPriceTerms(
            price=row.price, currency=row.currency, valid_from=row.valid_from,
            valid_to=row.valid_to,
        )
        for row in rows
    ]


def _newest_rates(from_currency: str, to_currency: str, on: date) -> list[pricing.Rate]:
    """Load the newest rate on or before the date in each direction between two currencies."""
    pair = or_(
        and_(
            ExchangeRate.base_currency == from_currency,
            ExchangeRate.quote_currency == to_currency,
        ),
        and_(
            ExchangeRate.base_currency == to_currency,
            ExchangeRate.quote_currency == from_currency,
        ),
    )
    newest = (
        select(
            ExchangeRate.base_currency,
            ExchangeRate.quote_currency,
            func.max(ExchangeRate.valid_on).label("valid_on"),
        )
        .where(pair, ExchangeRate.valid_on <= on)
        .group_by(ExchangeRate.base_currency, ExchangeRate.quote_currency)
        .subquery()
    )
    rows = db.session.scalars(
        select(ExchangeRate).join(
            newest,
            and_(
                ExchangeRate.base_currency == newest.c.base_currency,
                ExchangeRate.quote_currency == newest.c.quote_currency,
                ExchangeRate.valid_on == newest.c.valid_on,
            ),
        )
    )
    return [
        pricing.Rate(base=row.base_currency, quote=row.quote_currency, valid_on=row.valid_on,
                     rate=row.rate)
        for row in rows
    ]


def conversion(from_currency: str, to_currency: str, on: date) -> pricing.Conversion:
    """Return the rate table's conversion between two currencies on a date.

    Raises ``pricing.NoExchangeRate`` (a ValueError naming the pair and the date) when the
    table has no rate on or before the date in either direction.
    """
    scoping.require_tenant_id()
    return pricing.find_rate(
        from_currency, to_currency, on, _newest_rates(from_currency, to_currency, on)
    )
