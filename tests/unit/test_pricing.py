"""The pricing rules (catalog/pricing.py): tables of cases, one table per rule, and properties."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from saas.billing.catalog import pricing
from saas.billing.catalog.pricing import (
    CustomerPriceTerms,
    CustomerTerms,
    NoExchangeRate,
    PriceListTerms,
    ProductTerms,
    Rate,
)

ON = date(2026, 3, 15)
BEFORE = date(2026, 3, 14)
AFTER = date(2026, 3, 16)
PRODUCT_ID = 1
GUARDING = 20  # product category
PUBLIC_SECTOR = 30  # customer category
D = Decimal


def product(**overrides: object) -> ProductTerms:
    values: dict[str, object] = {
        "product_id": PRODUCT_ID, "base_price": D("100.00"), "currency": "NOK", "unit": "h",
        "category_id": GUARDING, "category_name": "Guarding",
    }
    return ProductTerms(**{**values, **overrides})


def price_list(**overrides: object) -> PriceListTerms:
    values: dict[str, object] = {
        "price_list_id": 5, "name": "Partners 2026", "currency": "NOK",
        "prices": {PRODUCT_ID: D("90.00")},
    }
    return PriceListTerms(**{**values, **overrides})


def customer(**overrides: object) -> CustomerTerms:
    values: dict[str, object] = {
        "customer_id": 7, "category_id": PUBLIC_SECTOR, "category_name": "Public sector",
    }
    return CustomerTerms(**{**values, **overrides})


def own(amount: str, valid_from=None, valid_to=None, currency="NOK") -> CustomerPriceTerms:
    return CustomerPriceTerms(
        price=D(amount), currency=currency, valid_from=valid_from, valid_to=valid_to
    )


def rate(base: str, quote: str, valid_on: date, value: str) -> Rate:
    return Rate(base=base, quote=quote, valid_on=valid_on, rate=D(value))


def quote(
    product_terms: ProductTerms | None = None,
    customer_terms: CustomerTerms | None = None,
    quantity: str = "1",
    on: date = ON,
    currency: str = "NOK",
    **rules: object,
) -> pricing.PriceQuote:
    return pricing.price(
        product_terms or product(),
        customer_terms or customer(),
        D(quantity),
        on,
        currency,
        **rules,
    )


# --- b. which price ----------------------------------------------------------------------

PARTNERS = price_list()


@pytest.mark.parametrize(
    ("customer_terms", "customer_prices", "source", "unit_price"),
    [
        pytest.param(customer(), (), "base price", "100.0000", id="base price"),
        pytest.param(
            customer(price_list=PARTNERS), (), "price list Partners 2026", "90.0000",
            id="price list",
        ),
        pytest.param(
            customer(price_list=price_list(prices={99: D("1")})), (), "base price", "100.0000",
            id="price list without the product",
        ),
        pytest.param(
            customer(price_list=price_list(valid_from=AFTER)), (), "base price", "100.0000",
            id="price list not yet valid",
        ),
        pytest.param(
            customer(price_list=price_list(valid_to=BEFORE)), (), "base price", "100.0000",
            id="price list expired",
        ),
        pytest.param(
            customer(price_list=price_list(valid_from=ON)), (), "price list Partners 2026",
            "90.0000", id="price list from the date (inclusive)",
        ),
        pytest.param(
            customer(price_list=price_list(valid_to=ON)), (), "price list Partners 2026",
            "90.0000", id="price list to the date (inclusive)",
        ),
        pytest.param(
            customer(price_list=price_list(valid_from=date(2025, 1, 1), valid_to=None)), (),
            "price list Partners 2026", "90.0000", id="price list open end",
        ),
        pytest.param(
            customer(price_list=PARTNERS), (own("80.00"),), "customer price", "80.0000",
            id="customer price beats price list",
        ),
        pytest.param(
            customer(), (own("80.00"),), "customer price", "80.0000",
            id="customer price beats base price",
        ),
        pytest.param(
            customer(price_list=PARTNERS), (own("80.00", valid_from=AFTER),),
            "price list Partners 2026", "90.0000", id="customer price not yet valid",
        ),
        pytest.param(
            customer(price_list=PARTNERS), (own("80.00", valid_to=BEFORE),),
            "price list Partners 2026", "90.0000", id="customer price expired",
        ),
        pytest.param(
            customer(), (own("80.00", valid_from=ON, valid_to=ON),), "customer price",
            "80.0000", id="customer price on its one-day period (inclusive)",
        ),
        pytest.param(
            customer(),
            (own("70.00", date(2026, 1, 1)), own("75.00", date(2026, 3, 1)), own("60.00")),
            "customer price", "75.0000", id="latest valid_from wins",
        ),
        pytest.param(
            customer(), (own("60.00", date(2026, 1, 1)), own("65.00")), "customer price",
            "60.0000", id="a dated price beats an open-start one",
        ),
        pytest.param(
            customer(), (own("61.00", date(2026, 1, 1)), own("62.00", date(2026, 1, 1))),
            "customer price", "62.0000", id="tie: the last given wins",
        ),
        pytest.param(
            customer(),
            (own("50.00", date(2026, 4, 1)), own("55.00", date(2026, 2, 1), BEFORE)),
            "base price", "100.0000", id="no customer price valid on the date",
        ),
    ],
)
def test_precedence_of_prices(customer_terms, customer_prices, source, unit_price):
    result = quote(customer_terms=customer_terms, customer_prices=customer_prices)
    assert result.source == source
    assert result.unit_price == D(unit_price)
    assert str(result.unit_price) == unit_price


# --- c. discounts ------------------------------------------------------------------------

CATEGORY_15 = {(PUBLIC_SECTOR, GUARDING): D("15.00")}


@pytest.mark.parametrize(
    ("customer_terms", "category_discounts", "customer_prices", "expected"),
    [
        pytest.param(customer(), {}, (), ("0", None, "100.0000"), id="no discount"),
        pytest.param(
            customer(discount_percent=D("10")), {}, (),
            ("10", "customer discount", "90.0000"), id="customer discount only",
        ),
        pytest.param(
            customer(), CATEGORY_15, (), ("15.00", "category discount", "85.0000"),
            id="category discount only",
        ),
        pytest.param(
            customer(discount_percent=D("20")), CATEGORY_15, (),
            ("20", "customer discount", "80.0000"), id="customer discount higher: no stacking",
        ),
        pytest.param(
            customer(discount_percent=D("5")), CATEGORY_15, (),
            ("15.00", "category discount", "85.0000"), id="category discount higher: no stacking",
        ),
        pytest.param(
            customer(discount_percent=D("15")), CATEGORY_15, (),
            ("15", "customer discount", "85.0000"), id="tie names the customer discount",
        ),
        pytest.param(
            customer(category_id=31), CATEGORY_15, (), ("0", None, "100.0000"),
            id="category discount of another customer category",
        ),
        pytest.param(
            customer(category_id=None), CATEGORY_15, (), ("0", None, "100.0000"),
            id="customer without a category",
        ),
        pytest.param(
            customer(price_list=PARTNERS), CATEGORY_15, (),
            ("15.00", "category discount", "76.5000"), id="discount applies to price list",
        ),
        pytest.param(
            customer(discount_percent=D("50")), CATEGORY_15, (own("80.00"),),
            ("0", None, "80.0000"), id="no discount on a customer price",
        ),
        pytest.param(
            customer(discount_percent=D("100")), {}, (), ("100", "customer discount", "0.0000"),
            id="full discount",
        ),
        pytest.param(
            customer(discount_percent=D("33.33")), {}, (),
            ("33.33", "customer discount", "66.6700"), id="fractional discount",
        ),
    ],
)
def test_discounts_do_not_stack(customer_terms, category_discounts, customer_prices, expected):
    percent, source, unit_price = expected
    result = quote(
        customer_terms=customer_terms,
        category_discounts=category_discounts,
        customer_prices=customer_prices,
    )
    assert (result.discount_percent, result.discount_source) == (D(percent), source)
    assert str(result.unit_price) == unit_price
    assert result.list_unit_price >= result.unit_price


def test_discount_only_when_the_product_has_a_category():
    result = quote(product(category_id=None), category_discounts=CATEGORY_15)
    assert result.discount_percent == 0


def test_unit_price_is_rounded_once_after_discount():
    # 1.00005 × 50% = 0.500025 → 0.5000; rounding the list price first (1.0001) would give
    # 0.50005 → 0.5001.
    result = quote(
        product(base_price=D("1.00005")), customer(discount_percent=D("50"))
    )
    assert result.unit_price == D("0.5000")
    assert result.list_unit_price == D("1.0001")


# --- a. quantities -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("worked", "increment", "minimum", "billable", "line_net"),
    [
        pytest.param("5", None, None, "5", "500.00", id="no rule"),
        pytest.param("2.3", "1", None, "3", "300.00", id="started hour"),
        pytest.param("2.3", "0.25", None, "2.5", "250.00", id="started quarter"),
        pytest.param("2.3", "0.5", None, "2.5", "250.00", id="started half"),
        pytest.param("2.5", "0.5", None, "2.5", "250.00", id="whole increments unchanged"),
        pytest.param("0.1", "0.25", None, "0.25", "25.00", id="a little is one increment"),
        pytest.param("1.0001", "1", None, "2", "200.00", id="a bit over starts the next"),
        pytest.param("0.5", None, "1", "1", "100.00", id="minimum"),
        pytest.param("1.5", None, "1", "1.5", "150.00", id="above the minimum"),
        pytest.param("2.3", "1", "2", "3", "300.00", id="increment then minimum: increment"),
        pytest.param("0.3", "0.25", "1", "1", "100.00", id="increment then minimum: minimum"),
        pytest.param("0", "1", "2", "0", "0.00", id="zero worked bills zero despite minimum"),
        pytest.param("0", None, None, "0", "0.00", id="zero"),
        pytest.param("0.005", None, None, "0.005", "0.50", id="tiny quantity, exact"),
    ],
)
def test_billable_quantity(worked, increment, minimum, billable, line_net):
    terms = product(
        quantity_increment=D(increment) if increment else None,
        minimum_quantity=D(minimum) if minimum else None,
    )
    result = quote(terms, quantity=worked)
    assert result.worked_quantity == D(worked)
    assert result.billable_quantity == D(billable)
    assert result.line_net == D(line_net)
    assert pricing.billable_quantity(
        D(worked), terms.quantity_increment, terms.minimum_quantity
    ) == D(billable)


def test_line_net_is_rounded_half_up_to_the_document_currency():
    result = quote(product(base_price=D("10.01")), quantity="0.5")  # 5.005 NOK
    assert str(result.line_net) == "5.01"
    yen = quote(product(base_price=D("101"), currency="JPY"), quantity="0.5", currency="JPY")
    assert str(yen.line_net) == "51"


# --- d. currency -------------------------------------------------------------------------

NOK_EUR_CUSTOM = price_list(custom_rate=D("0.087"), custom_rate_currency="EUR")


@pytest.mark.parametrize(
    ("customer_terms", "customer_prices", "rates", "expected"),
    [
        pytest.param(
            customer(price_list=NOK_EUR_CUSTOM), (), [rate("NOK", "EUR", ON, "0.09")],
            ("7.8300", "price list custom rate", False), id="price list custom rate",
        ),
        pytest.param(
            customer(price_list=price_list(custom_rate=D("0.9"), custom_rate_currency="SEK")),
            (), [rate("NOK", "EUR", ON, "0.09")], ("8.1000", f"rate table of {ON}", False),
            id="custom rate for another currency: rate table",
        ),
        pytest.param(
            customer(price_list=price_list(prices={}, custom_rate=D("0.087"),
                                           custom_rate_currency="EUR")),
            (), [rate("NOK", "EUR", ON, "0.09")], ("9.0000", f"rate table of {ON}", False),
            id="custom rate only for the list's own prices",
        ),
        pytest.param(
            customer(), (), [rate("NOK", "EUR", date(2026, 1, 2), "0.086")],
            ("8.6000", "rate table of 2026-01-02", False), id="direct rate",
        ),
        pytest.param(
            customer(), (), [rate("EUR", "NOK", date(2026, 1, 2), "11.5")],
            ("8.6957", "rate table of 2026-01-02", True), id="inverse rate",
        ),
        pytest.param(
            customer(), (),
            [
                rate("NOK", "EUR", date(2026, 1, 1), "0.080"),
                rate("NOK", "EUR", date(2026, 3, 1), "0.085"),
                rate("NOK", "EUR", AFTER, "0.099"),
            ],
            ("8.5000", "rate table of 2026-03-01", False), id="newest rate before the date",
        ),
        pytest.param(
            customer(), (), [rate("NOK", "EUR", BEFORE, "0.08"), rate("NOK", "EUR", ON, "0.09")],
            ("9.0000", f"rate table of {ON}", False), id="a rate of the date itself",
        ),
        pytest.param(
            customer(), (),
            [rate("NOK", "EUR", date(2026, 3, 1), "0.09"), rate("EUR", "NOK", BEFORE, "10")],
            ("10.0000", f"rate table of {BEFORE}", True), id="newer inverse beats older direct",
        ),
        pytest.param(
            customer(), (),
            [rate("NOK", "EUR", BEFORE, "0.09"), rate("EUR", "NOK", date(2026, 3, 1), "10")],
            ("9.0000", f"rate table of {BEFORE}", False), id="newer direct beats older inverse",
        ),
        pytest.param(
            customer(), (), [rate("NOK", "EUR", ON, "0.09"), rate("EUR", "NOK", ON, "10")],
            ("9.0000", f"rate table of {ON}", False), id="tie: direct wins",
        ),
        pytest.param(
            customer(), (own("8.00", currency="USD"),),
            [rate("USD", "EUR", ON, "0.9"), rate("NOK", "EUR", ON, "0.09")],
            ("7.2000", f"rate table of {ON}", False), id="customer price in its own currency",
        ),
    ],
)
def test_conversion_into_the_document_currency(customer_terms, customer_prices, rates, expected):
    unit_price, rate_source, inverse = expected
    result = quote(
        customer_terms=customer_terms, customer_prices=customer_prices, rates=rates,
        currency="EUR",
    )
    assert str(result.unit_price) == unit_price
    assert result.conversion is not None
    assert result.conversion.to_currency == "EUR"
    assert (result.conversion.source, result.conversion.inverse) == (rate_source, inverse)
    assert result.currency == "EUR"


def test_discount_and_conversion_round_once():
    # 100 NOK − 10% = 90 NOK; at 1 EUR = 11.5 NOK that is 7.826086... → 7.8261 EUR.
    result = quote(
        customer_terms=customer(discount_percent=D("10")),
        rates=[rate("EUR", "NOK", ON, "11.5")],
        currency="EUR",
        quantity="3",
    )
    assert result.list_unit_price == D("8.6957")
    assert result.unit_price == D("7.8261")
    assert result.line_net == D("23.48")  # 3 × 7.8261 = 23.4783


def test_same_currency_needs_no_rate():
    result = quote(rates=[rate("NOK", "EUR", ON, "0.09")])
    assert result.conversion is None
    assert result.unit_price == D("100.0000")


@pytest.mark.parametrize(
    "rates",
    [
        pytest.param([], id="no rates"),
        pytest.param([rate("NOK", "EUR", AFTER, "0.09")], id="only a later rate"),
        pytest.param([rate("EUR", "NOK", AFTER, "11")], id="only a later inverse rate"),
        pytest.param([rate("NOK", "SEK", ON, "1.05")], id="only another pair"),
    ],
)
def test_no_usable_rate_raises(rates):
    with pytest.raises(NoExchangeRate, match=r"from NOK to EUR .*2026-03-15") as raised:
        quote(rates=rates, currency="EUR")
    assert isinstance(raised.value, ValueError)
    assert (raised.value.from_currency, raised.value.to_currency) == ("NOK", "EUR")


# --- the explanation names the deciding rule ---------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "phrases"),
    [
        pytest.param({}, ["Base price: 100.00 NOK", "1 h billed"], id="base price"),
        pytest.param(
            {
                "product_terms": product(quantity_increment=D("0.5")),
                "customer_terms": customer(price_list=PARTNERS),
                "category_discounts": {(PUBLIC_SECTOR, GUARDING): D("10")},
                "quantity": "2.3",
            },
            [
                "Price list Partners 2026: 90.00 NOK",
                "category discount 10% (Public sector × Guarding)",
                "unit price 81.00 NOK per h",
                "2.3 h billed as 2.5 h (started 0.5 h)",
                "Line net 202.50 NOK",
            ],
            id="the example of the rules",
        ),
        pytest.param(
            {"customer_prices": (own("80.00"),), "customer_terms": customer(
                discount_percent=D("10"))},
            ["Customer price: 80.00 NOK (no discount applies)"],
            id="customer price",
        ),
        pytest.param(
            {"customer_terms": customer(discount_percent=D("20")),
             "category_discounts": CATEGORY_15},
            ["customer discount 20%, better than the category discount 15%"],
            id="customer discount wins",
        ),
        pytest.param(
            {"customer_terms": customer(price_list=price_list(valid_to=BEFORE))},
            ["Base price: 100.00 NOK (price list Partners 2026 is not valid on 2026-03-15)"],
            id="expired price list",
        ),
        pytest.param(
            {"rates": [rate("EUR", "NOK", date(2026, 1, 2), "11.5")], "currency": "EUR"},
            ["converted from NOK to EUR at 1 EUR = 11.5 NOK (rate table of 2026-01-02)"],
            id="inverse rate",
        ),
        pytest.param(
            {"product_terms": product(minimum_quantity=D("2")), "quantity": "0.5"},
            ["0.5 h billed as 2 h (minimum 2 h)"],
            id="minimum",
        ),
        pytest.param(
            {"product_terms": product(minimum_quantity=D("2")), "quantity": "0"},
            ["nothing billed", "only when something is worked"],
            id="zero worked",
        ),
    ],
)
def test_explanation_names_the_deciding_rule(kwargs, phrases):
    explanation = quote(**kwargs).explanation
    for phrase in phrases:
        assert phrase in explanation


# --- e. validation -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "error"),
    [
        pytest.param(lambda: quote(quantity="-1"), ValueError, id="negative quantity"),
        pytest.param(lambda: product(base_price=D("-1")), ValueError, id="negative base price"),
        pytest.param(lambda: product(base_price=1.5), TypeError, id="float base price"),
        pytest.param(
            lambda: product(quantity_increment=D("0")), ValueError, id="zero increment"
        ),
        pytest.param(lambda: product(minimum_quantity=D("-1")), ValueError, id="negative min"),
        pytest.param(
            lambda: price_list(prices={PRODUCT_ID: D("-0.01")}), ValueError,
            id="negative list price",
        ),
        pytest.param(lambda: own("-5"), ValueError, id="negative customer price"),
        pytest.param(
            lambda: customer(discount_percent=D("100.01")), ValueError, id="discount over 100"
        ),
        pytest.param(
            lambda: customer(discount_percent=D("-1")), ValueError, id="negative discount"
        ),
        pytest.param(
            lambda: quote(category_discounts={(PUBLIC_SECTOR, GUARDING): D("101")}),
            ValueError, id="category discount over 100",
        ),
        pytest.param(lambda: rate("EUR", "NOK", ON, "0"), ValueError, id="zero rate"),
        pytest.param(
            lambda: price_list(custom_rate=D("-1"), custom_rate_currency="EUR"), ValueError,
            id="negative custom rate",
        ),
        pytest.param(lambda: quote(currency="eur"), ValueError, id="lower-case currency"),
        pytest.param(
            lambda: own("1", valid_from=AFTER, valid_to=BEFORE), ValueError,
            id="period ends before it starts",
        ),
        pytest.param(
            lambda: pricing.price(product(), customer(), 1.5, ON, "NOK"), TypeError,
            id="float quantity",
        ),
    ],
)
def test_invalid_terms_are_refused(make, error):
    with pytest.raises(error):
        make()


# --- properties --------------------------------------------------------------------------

quantities = st.decimals(min_value=0, max_value=10_000, places=4, allow_nan=False)
increments = st.none() | st.decimals(min_value="0.0001", max_value=100, places=4)
minimums = st.none() | st.decimals(min_value=0, max_value=1_000, places=4)
amounts = st.decimals(min_value=0, max_value=1_000_000, places=4)
percents = st.decimals(min_value=0, max_value=100, places=2)
rate_values = st.decimals(min_value="0.00000001", max_value=100_000, places=8)


@given(worked=quantities, increment=increments, minimum=minimums)
def test_billable_is_never_less_than_worked(worked, increment, minimum):
    billable = pricing.billable_quantity(worked, increment, minimum)
    assert billable >= worked
    if worked == 0:
        assert billable == 0
    elif minimum is not None:
        assert billable >= minimum
    if increment is not None and minimum is None and worked:
        assert billable - worked < increment
        assert (billable / increment) == (billable / increment).to_integral_value()


@given(
    base=amounts,
    list_price=st.none() | amounts,
    own_price=st.none() | amounts,
    own_discount=percents,
    category_discount=percents,
    worked=quantities,
    increment=increments,
    minimum=minimums,
    exchange=st.none() | rate_values,
    inverse=st.booleans(),
)
def test_prices_and_lines_are_never_negative(
    base, list_price, own_price, own_discount, category_discount, worked, increment, minimum,
    exchange, inverse,
):
    prices = {PRODUCT_ID: list_price} if list_price is not None else {}
    terms = product(base_price=base, quantity_increment=increment, minimum_quantity=minimum)
    customer_terms = customer(
        discount_percent=own_discount, price_list=price_list(prices=prices)
    )
    rates = []
    currency = "NOK"
    if exchange is not None:
        currency = "EUR"
        rates = [rate("EUR", "NOK", ON, str(exchange)) if inverse
                 else rate("NOK", "EUR", ON, str(exchange))]
    result = pricing.price(
        terms,
        customer_terms,
        worked,
        ON,
        currency,
        customer_prices=(own(str(own_price)),) if own_price is not None else (),
        category_discounts={(PUBLIC_SECTOR, GUARDING): category_discount},
        rates=rates,
    )
    assert result.unit_price >= 0
    assert result.list_unit_price >= result.unit_price
    assert result.line_net >= 0
    assert result.billable_quantity >= result.worked_quantity
    assert result.unit_price.as_tuple().exponent == -4
