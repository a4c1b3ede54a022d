"""quote_price(): the pricing rules fed from the database, inside one tenant."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import event

from saas.billing.catalog.prices import PriceTermsNotFound, quote_price
from saas.billing.catalog.pricing import NoExchangeRate
from saas.extensions import db
from saas.tenants import scoping
from tests.factories import (
    CategoryDiscountFactory,
    CustomerCategoryFactory,
    CustomerFactory,
    CustomerPriceFactory,
    ExchangeRateFactory,
    PriceListFactory,
    PriceListItemFactory,
    ProductCategoryFactory,
    ProductFactory,
    TenantFactory,
)

ON = date(2026, 3, 15)


@pytest.fixture()
def tenant(db_session):
    return TenantFactory(name="Vakt AS")


@pytest.fixture()
def other_tenant(db_session):
    return TenantFactory(name="Other AS")


@pytest.fixture()
def product(tenant):
    guarding = ProductCategoryFactory(tenant=tenant, name="Guarding")
    return ProductFactory(
        tenant=tenant, category_id=guarding.id, base_price=Decimal("100.00"), currency="NOK",
        unit="h", quantity_increment=Decimal("0.5"),
    )


def test_customer_price_beats_price_list_and_takes_no_discount(tenant, product):
    with scoping.tenant_context(tenant.id):
        partners = PriceListFactory(tenant=tenant, name="Partners 2026")
        PriceListItemFactory(
            tenant=tenant, price_list=partners, product=product, price=Decimal("90")
        )
        customer = CustomerFactory(
            tenant=tenant, price_list_id=partners.id, discount_percent=Decimal("10")
        )
        CustomerPriceFactory(
            tenant=tenant, customer=customer, product=product, price=Decimal("70.00"),
            valid_to=date(2026, 1, 31),
        )
        CustomerPriceFactory(
            tenant=tenant, customer=customer, product=product, price=Decimal("80.00"),
            valid_from=date(2026, 2, 1),
        )
        result = quote_price(customer.id, product.id, Decimal("2.3"), ON)
        assert result.source == "customer price"
        assert result.unit_price == Decimal("80.0000")
        assert result.discount_percent == 0
        assert result.billable_quantity == Decimal("2.5")
        assert result.line_net == Decimal("200.00")
        assert result.currency == "NOK"


def test_price_list_with_the_better_category_discount(tenant, product):
    with scoping.tenant_context(tenant.id):
        partners = PriceListFactory(
            tenant=tenant, name="Partners 2026", valid_to=date(2026, 12, 31)
        )
        PriceListItemFactory(
            tenant=tenant, price_list=partners, product=product, price=Decimal("90")
        )
        PriceListItemFactory(tenant=tenant, price_list=partners, price=Decimal("1"))  # another
        public = CustomerCategoryFactory(tenant=tenant, name="Public sector")
        CategoryDiscountFactory(
            tenant=tenant, customer_category=public, product_category=product.category,
            percent=Decimal("10"),
        )
        customer = CustomerFactory(
            tenant=tenant, price_list_id=partners.id, category_id=public.id,
            discount_percent=Decimal("5"),
        )
        result = quote_price(customer.id, product.id, Decimal("2.3"), ON)
        expired = quote_price(customer.id, product.id, Decimal("1"), date(2027, 1, 1))
        assert result.source == "price list Partners 2026"
        assert (result.discount_percent, result.discount_source) == (10, "category discount")
        assert result.unit_price == Decimal("81.0000")
        assert result.line_net == Decimal("202.50")
        assert "category discount 10% (Public sector × Guarding)" in result.explanation
        assert "2.3 h billed as 2.5 h (started 0.5 h)" in result.explanation
        assert expired.source == "base price"
        assert expired.unit_price == Decimal("90.0000")  # the category's 10% on the base price


def test_conversion_uses_the_newest_rate_before_the_date(tenant):
    with scoping.tenant_context(tenant.id):
        product = ProductFactory(tenant=tenant, base_price=Decimal("10.00"), currency="EUR")
        customer = CustomerFactory(tenant=tenant, currency="NOK")
        for valid_on, rate in [
            (date(2026, 1, 1), "11.00"),
            (date(2026, 3, 1), "11.50"),
            (date(2026, 4, 1), "12.00"),
        ]:
            ExchangeRateFactory(
                tenant=tenant, base_currency="EUR", quote_currency="NOK", valid_on=valid_on,
                rate=Decimal(rate),
            )
        result = quote_price(customer.id, product.id, Decimal("3"), ON)
        in_euro = quote_price(customer.id, product.id, Decimal("3"), ON, currency="EUR")
        with pytest.raises(NoExchangeRate, match="from EUR to SEK"):
            quote_price(customer.id, product.id, Decimal("3"), ON, currency="SEK")
        assert result.unit_price == Decimal("115.0000")
        assert result.line_net == Decimal("345.00")
        assert result.conversion is not None
        assert result.conversion.source == "rate table of 2026-03-01"
        assert in_euro.conversion is None
        assert in_euro.line_net == Decimal("30.00")


def test_price_list_custom_rate(tenant, product):
    with scoping.tenant_context(tenant.id):
        export = PriceListFactory(
            tenant=tenant, name="Export", currency="NOK", custom_rate=Decimal("0.08"),
            custom_rate_currency="EUR",
        )
        PriceListItemFactory(
            tenant=tenant, price_list=export, product=product, price=Decimal("90")
        )
        customer = CustomerFactory(tenant=tenant, currency="EUR", price_list_id=export.id)
        result = quote_price(customer.id, product.id, Decimal("1"), ON)
        assert result.currency == "EUR"
        assert result.unit_price == Decimal("7.2000")
        assert result.conversion is not None
        assert result.conversion.source == "price list custom rate"


def test_another_tenants_price_list_and_rates_are_not_used(tenant, other_tenant, product):
    with scoping.tenant_context(other_tenant.id):
        theirs = PriceListFactory(tenant=other_tenant, name="Theirs")
        their_product = ProductFactory(tenant=other_tenant)
        PriceListItemFactory(tenant=other_tenant, price_list=theirs, product=their_product)
        ExchangeRateFactory(
            tenant=other_tenant, base_currency="NOK", quote_currency="EUR",
            valid_on=date(2026, 1, 1), rate=Decimal("0.09"),
        )
        their_list_id, their_product_id = theirs.id, their_product.id
    with scoping.tenant_context(tenant.id):
        # A customer whose price list id points at the other tenant's list (a corrupt row).
        customer = CustomerFactory(tenant=tenant, price_list_id=their_list_id)
        result = quote_price(customer.id, product.id, Decimal("1"), ON)
        assert result.source == "base price"
        assert result.unit_price == Decimal("100.0000")
        with pytest.raises(NoExchangeRate, match="from NOK to EUR"):
            quote_price(customer.id, product.id, Decimal("1"), ON, currency="EUR")
        with pytest.raises(PriceTermsNotFound):
            quote_price(customer.id, their_product_id, Decimal("1"), ON)


def test_quote_price_needs_a_tenant_and_few_queries(tenant, product, db_session):
    with scoping.tenant_context(tenant.id):
        customer = CustomerFactory(tenant=tenant, currency="EUR")
        CustomerPriceFactory(
            tenant=tenant, customer=customer, product=product, price=Decimal("80")
        )
        ExchangeRateFactory(
            tenant=tenant, base_currency="EUR", quote_currency="NOK", valid_on=date(2026, 1, 1),
            rate=Decimal("10"),
        )
        customer_id, product_id, tenant_id = customer.id, product.id, tenant.id
    with pytest.raises(scoping.TenantNotSet):
        quote_price(customer_id, product_id, Decimal("1"), ON)

    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT") and "set_config" not in statement:
            statements.append(statement)

    engine = db_session.get_bind()
    event.listen(engine, "before_cursor_execute", count)
    try:
        with scoping.tenant_context(tenant_id):
            result = quote_price(customer_id, product_id, Decimal("1"), ON)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert result.unit_price == Decimal("8.0000")  # 80 NOK at 1 EUR = 10 NOK
    assert len(statements) <= 4, statements
    assert all("tenant_id" in statement for statement in statements)
    assert not (db.session.new or db.session.dirty)  # it only reads
