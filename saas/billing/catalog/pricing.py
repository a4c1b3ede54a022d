"""How a line's price is decided (pure: plain values in, a PriceQuote out).

These are the product's pricing rules; ``catalog/prices.py`` loads the terms from the
database and calls ``price()``.

a. Quantity. When the product has a quantity increment, the billable quantity is the
   worked quantity rounded *up* to whole increments: every started increment is billed
   (increment 1 h: 2.3 h → 3 h; 0.25 h: 2.3 h → 2.5 h). Then, when the product has a
   minimum quantity, the billable quantity is at least that minimum. A quantity below
   zero is refused (ValueError). Zero worked bills zero: the minimum applies only when
   something was worked.
b. Which price. (1) The customer's own price for the product, when it is valid on the
   date (valid_from and valid_to inclusive, an empty end is open). It is final: no
   discount applies to it. When several are valid, the one with the latest valid_from
   wins (an empty valid_from counts as the earliest); on a tie, the one given last (the
   database adapter passes them in the order they were created, so the newest entry).
   (2) Otherwise the customer's price list, when the list is valid on the date (same
   inclusive, open-ended dates) and has a price for the product. (3) Otherwise the
   product's base price.
c. Discount (only on a price-list or base price). The customer's own discount percent
   and the discount of the customer's category on the product's category do not stack:
   the higher one applies, so the customer gets the better of the two (on a tie the
   customer's own discount is named). No discount applies to a customer price.
d. Currency. A price in another currency than the document's is converted. For a
   price-list price, the list's custom rate is used when the list's custom rate currency
   is the document currency. Otherwise the rate table: the newest rate dated on or before
   the document date from the price's currency to the document currency, or, when the
   newest usable rate is quoted the other way round (document currency to price
   currency), its inverse; of a direct and an inverse rate the one dated later wins, the
   direct one on a tie. Without a usable rate, NoExchangeRate (a ValueError) is raised,
   naming both currencies and the date.
e. Nothing is negative: quantities, prices and discounts are checked (prices >= 0,
   0 <= discount <= 100, rates > 0) before anything is computed.

Arithmetic is exact (Decimal inputs, exact fractions in between). The unit price is
rounded once, after discount and conversion, to 4 decimals half up; the line net is
billable quantity × rounded unit price, rounded once, half up, to the document
currency's minor unit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from fractions import Fraction
from types import MappingProxyType

from saas.billing.money import (
    as_decimal,
    check_currency,
    minor_unit_exponent,
    quantize_money,
    quantize_unit_price,
)

SOURCE_CUSTOMER_PRICE = "customer price"
SOURCE_PRICE_LIST = "price list"  # followed by the list's name: "price list Partners 2026"
SOURCE_BASE_PRICE = "base price"

DISCOUNT_CUSTOMER = "customer discount"
DISCOUNT_CATEGORY = "category discount"

RATE_CUSTOM = "price list custom rate"
RATE_TABLE = "rate table of"  # followed by the rate's date: "rate table of 2026-01-31"

HUNDRED = Decimal(100)
ZERO = Decimal(0)

_NO_DISCOUNTS: Mapping[tuple[int, int], Decimal] = MappingProxyType({})


class NoExchangeRate(ValueError):
    """No rate converts the price's currency into the document currency on the date."""

    def __init__(self, from_currency: str, to_currency: str, on: date) -> None:
        super().__init__(
            f"No exchange rate from {from_currency} to {to_currency} (or back) dated on or"
            f" before {on.isoformat()}: add one to the rate table."
        )
        self.from_currency = from_currency
        self.to_currency = to_currency
        self.on = on


# --- inputs ------------------------------------------------------------------------------


def _set(obj: object, name: str, value: object) -> None:
    object.__setattr__(obj, name, value)


def _check_amount(obj: object, name: str, *, positive: bool = False) -> None:
    """Make the named field a Decimal >= 0 (> 0 when positive), or raise."""
    value = getattr(obj, name)
    if value is None:
        return
    value = as_decimal(value, name)
    if value < 0 or (positive and value == 0):
        raise ValueError(f"{name} must be {'above' if positive else 'at least'} 0, not {value}")
    _set(obj, name, value)


def _check_percent(obj: object, name: str) -> None:
    _check_amount(obj, name)
    if getattr(obj, name) > HUNDRED:
        raise ValueError(f"{name} must be at most 100, not {getattr(obj, name)}")


def _valid_on(valid_from: date | None, valid_to: date | None, on: date) -> bool:
    return (valid_from is None or valid_from <= on) and (valid_to is None or on <= valid_to)


def _check_period(valid_from: date | None, valid_to: date | None) -> None:
    if valid_from is not None and valid_to is not None and valid_to < valid_from:
        raise ValueError(f"the period ends ({valid_to}) before it starts ({valid_from})")


@dataclass(frozen=True, kw_only=True)
class ProductTerms:
    """What the product says about its price and quantities."""

    product_id: int
    base_price: Decimal
    currency: str
    unit: str = ""
    category_id: int | None = None
    category_name: str | None = None
    quantity_increment: Decimal | None = None
    minimum_quantity: Decimal | None = None

    def __post_init__(self) -> None:
        check_currency(self.currency)
        _check_amount(self, "base_price")
        _check_amount(self, "quantity_increment", positive=True)
        _check_amount(self, "minimum_quantity")


@dataclass(frozen=True, kw_only=True)
class PriceListTerms:
    """A price list, with its price for the products concerned (product id → price)."""

    price_list_id: int
    name: str
    currency: str
    valid_from: date | None = None
    valid_to: date | None = None
    # 1 unit of the list's currency = custom_rate units of custom_rate_currency.
    custom_rate: Decimal | None = None
    custom_rate_currency: str | None = None
    prices: Mapping[int, Decimal] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_currency(self.currency)
        _check_period(self.valid_from, self.valid_to)
        _check_amount(self, "custom_rate", positive=True)
        if self.custom_rate_currency is not None:
            check_currency(self.custom_rate_currency)
        prices = {}
        for product_id, amount in self.prices.items():
            amount = as_decimal(amount, f"price of product {product_id}")
            if amount < 0:
                raise ValueError(f"price of product {product_id} must be at least 0")
            prices[product_id] = amount
        _set(self, "prices", MappingProxyType(prices))

    def is_valid_on(self, on: date) -> bool:
        """Return whether the list applies on the date (both ends inclusive, open if empty)."""
        return _valid_on(self.valid_from, self.valid_to, on)


@dataclass(frozen=True, kw_only=True)
class CustomerTerms:
    """What the customer's record says about its prices."""

    customer_id: int
    category_id: int | None = None
    category_name: str | None = None
    discount_percent: Decimal = ZERO
    price_list: PriceListTerms | None = None

    def __post_init__(self) -> None:
        _check_percent(self, "discount_percent")


@dataclass(frozen=True, kw_only=True)
class CustomerPriceTerms:
    """A customer's own agreed price for the product, for a period."""

    price: Decimal
    currency: str
    valid_from: date | None = None
    valid_to: date | None = None

    def __post_init__(self) -> None:
        check_currency(self.currency)
        _check_amount(self, "price")
        _check_period(self.valid_from, self.valid_to)

    def is_valid_on(self, on: date) -> bool:
        """Return whether the price applies on the date (both ends inclusive, open if empty)."""
        return _valid_on(self.valid_from, self.valid_to, on)


@dataclass(frozen=True, kw_only=True)
class Rate:
    """A dated exchange rate: 1 base = rate quote."""

    base: str
    quote: str
    valid_on: date
    rate: Decimal

    def __post_init__(self) -> None:
        check_currency(self.base)
        check_currency(self.quote)
        _check_amount(self, "rate", positive=True)


# --- outputs -----------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Conversion:
    """How a price was converted: 1 base = rate quote, used directly or inverted."""

    from_currency: str
    to_currency: str
    base: str
    quote: str
    rate: Decimal
    inverse: bool
    source: str  # RATE_CUSTOM, or "rate table of <date>"
    valid_on: date | None = None

    @property
    def factor(self) -> Fraction:
        """Return what one unit of from_currency is worth in to_currency, exactly."""
        return 1 / Fraction(self.rate) if self.inverse else Fraction(self.rate)

    def describe(self) -> str:
        """Return e.g. 'converted from EUR to NOK at 1 EUR = 11.5 NOK (rate table of ...)'."""
        return (
            f"converted from {self.from_currency} to {self.to_currency} at"
            f" 1 {self.base} = {_number(self.rate)} {self.quote} ({self.source})"
        )


@dataclass(frozen=True, kw_only=True)
class PriceQuote:
    """The decided price of one line, with the reasons."""

    currency: str  # the document currency
    unit: str
    worked_quantity: Decimal
    billable_quantity: Decimal
    source: str  # "customer price", "price list <name>" or "base price"
    source_price: Decimal  # the price as the deciding rule states it ...
    source_currency: str  # ... in this currency
    list_unit_price: Decimal  # before discount, in the document currency, 4 decimals
    discount_percent: Decimal
    discount_source: str | None  # "customer discount", "category discount" or None
    conversion: Conversion | None
    unit_price: Decimal  # after discount and conversion, 4 decimals half up
    line_net: Decimal  # billable × unit price, rounded to the currency's minor unit
    explanation: str


# --- the rules ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ChosenPrice:
    """The price a rule gives, before discount and conversion."""

    amount: Decimal
    currency: str
    source: str
    text: str
    price_list: PriceListTerms | None = None

    @property
    def discountable(self) -> bool:
        return self.source != SOURCE_CUSTOMER_PRICE


def billable_quantity(
    worked: Decimal, increment: Decimal | None = None, minimum: Decimal | None = None
) -> Decimal:
    """Return the quantity to bill for the worked quantity (rule a)."""
    return _billable(worked, increment, minimum)[0]


def _billable(
    worked: Decimal, increment: Decimal | None, minimum: Decimal | None
) -> tuple[Decimal, list[str]]:
    worked = as_decimal(worked, "quantity")
    if worked < 0:
        raise ValueError(f"quantity must be at least 0, not {worked}")
    if increment is not None and as_decimal(increment, "quantity_increment") <= 0:
        raise ValueError(f"quantity_increment must be above 0, not {increment}")
    if minimum is not None and as_decimal(minimum, "minimum_quantity") < 0:
        raise ValueError(f"minimum_quantity must be at least 0, not {minimum}")
    if worked == 0:
        return worked, []
    billable, reasons = worked, []
    if increment is not None:
        whole, remainder = divmod(Fraction(worked), Fraction(increment))
        if remainder:
            whole += 1
            billable = Decimal(whole) * increment
            reasons.append(f"started {_number(increment)}")
    if minimum is not None and billable < minimum:
        billable = minimum
        reasons.append(f"minimum {_number(minimum)}")
    return billable, reasons


def choose_price(
    product: ProductTerms,
    customer: CustomerTerms,
    on: date,
    customer_prices: Iterable[CustomerPriceTerms] = (),
) -> ChosenPrice:
    """Return the price that applies before discount and conversion (rule b)."""
    valid = [p for p in customer_prices if p.is_valid_on(on)]
    if valid:
        # max() keeps the first of equals: reversed, so the last one given wins a tie.
        best = max(reversed(valid), key=lambda p: (p.valid_from is not None, p.valid_from))
        text = f"Customer price: {_money(best.price, best.currency)} (no discount applies)"
        return ChosenPrice(best.price, best.currency, SOURCE_CUSTOMER_PRICE, text)
    base_note = ""
    price_list = customer.price_list
    if price_list is not None:
        if not price_list.is_valid_on(on):
            base_note = f" (price list {price_list.name} is not valid on {on.isoformat()})"
        elif product.product_id not in price_list.prices:
            base_note = f" (not on price list {price_list.name})"
        else:
            amount = price_list.prices[product.product_id]
            text = f"Price list {price_list.name}: {_money(amount, price_list.currency)}"
            source = f"{SOURCE_PRICE_LIST} {price_list.name}"
            return ChosenPrice(amount, price_list.currency, source, text, price_list)
    text = f"Base price: {_money(product.base_price, product.currency)}{base_note}"
    return ChosenPrice(product.base_price, product.currency, SOURCE_BASE_PRICE, text)


def _choose_discount(
    chosen: ChosenPrice,
    product: ProductTerms,
    customer: CustomerTerms,
    category_discounts: Mapping[tuple[int, int], Decimal],
) -> tuple[Decimal, str | None, str | None]:
    """Return (percent, source, text) of the discount that applies (rule c)."""
    if not chosen.discountable:
        return ZERO, None, None
    own = customer.discount_percent
    category = ZERO
    if customer.category_id is not None and product.category_id is not None:
        found = category_discounts.get((customer.category_id, product.category_id))
        if found is not None:
            category = as_decimal(found, "category discount")
            if not ZERO <= category <= HUNDRED:
                raise ValueError(f"a category discount must be 0 to 100, not {category}")
    if own == 0 and category == 0:
        return ZERO, None, None
    names = " × ".join(n for n in (customer.category_name, product.category_name) if n)
    category_text = f"category discount {_percent(category)}" + (f" ({names})" if names else "")
    own_text = f"customer discount {_percent(own)}"
    if own >= category:
        text = own_text + (f", better than the {category_text}" if category else "")
        return own, DISCOUNT_CUSTOMER, text
    text = category_text + (f", better than the {own_text}" if own else "")
    return category, DISCOUNT_CATEGORY, text


def find_rate(from_currency: str, to_currency: str, on: date, rates: Iterable[Rate]) -> Conversion:
    """Return the rate-table conversion that applies on the date, or raise NoExchangeRate."""
    direct: Rate | None = None
    inverse: Rate | None = None
    for rate in rates:
        if rate.valid_on > on:
            continue
        if (rate.base, rate.quote) == (from_currency, to_currency):
            if direct is None or rate.valid_on > direct.valid_on:
                direct = rate
        elif (rate.base, rate.quote) == (to_currency, from_currency):
            if inverse is None or rate.valid_on > inverse.valid_on:
                inverse = rate
    if direct is not None and (inverse is None or direct.valid_on >= inverse.valid_on):
        chosen, is_inverse = direct, False
    elif inverse is not None:
        chosen, is_inverse = inverse, True
    else:
        raise NoExchangeRate(from_currency, to_currency, on)
    return Conversion(
        from_currency=from_currency,
        to_currency=to_currency,
        base=chosen.base,
        quote=chosen.quote,
        rate=chosen.rate,
        inverse=is_inverse,
        source=f"{RATE_TABLE} {chosen.valid_on.isoformat()}",
        valid_on=chosen.valid_on,
    )


def needs_rate_table(chosen: ChosenPrice, currency: str) -> bool:
    """Return whether converting the chosen price into currency takes the rate table."""
    if chosen.currency == currency:
        return False
    price_list = chosen.price_list
    return not (
        price_list is not None
        and price_list.custom_rate is not None
        and price_list.custom_rate_currency == currency
    )


def _convert(
    chosen: ChosenPrice, currency: str, on: date, rates: Iterable[Rate]
) -> Conversion | None:
    """Return how the chosen price gets into the document currency (rule d)."""
    if chosen.currency == currency:
        return None
    if needs_rate_table(chosen, currency):
        return find_rate(chosen.currency, currency, on, rates)
    price_list = chosen.price_list
    assert price_list is not None and price_list.custom_rate is not None  # the custom rate
    return Conversion(
        from_currency=chosen.currency,
        to_currency=currency,
        base=price_list.currency,
        quote=currency,
        rate=price_list.custom_rate,
        inverse=False,
        source=RATE_CUSTOM,
    )


def price(
    product: ProductTerms,
    customer: CustomerTerms,
    quantity: Decimal,
    on: date,
    currency: str,
    customer_prices: Sequence[CustomerPriceTerms] = (),
    category_discounts: Mapping[tuple[int, int], Decimal] = _NO_DISCOUNTS,
    rates: Sequence[Rate] = (),
) -> PriceQuote:
    """Decide the unit price and line net of quantity × product for customer on a date."""
    check_currency(currency)
    billable, reasons = _billable(quantity, product.quantity_increment, product.minimum_quantity)
    worked = as_decimal(quantity, "quantity")
    chosen = choose_price(product, customer, on, customer_prices)
    percent, discount_source, discount_text = _choose_discount(
        chosen, product, customer, category_discounts
    )
    conversion = _convert(chosen, currency, on, rates)
    factor = conversion.factor if conversion is not None else Fraction(1)
    list_exact = Fraction(chosen.amount) * factor
    unit_price = quantize_unit_price(list_exact * (100 - Fraction(percent)) / 100)
    list_unit_price = quantize_unit_price(list_exact)
    line_net = quantize_money(Fraction(billable) * Fraction(unit_price), currency)

    parts = [chosen.text]
    if discount_text:
        parts.append(discount_text)
    if conversion is not None:
        parts.append(conversion.describe())
    per = f" per {product.unit}" if product.unit else ""
    parts.append(f"unit price {_money(unit_price, currency)}{per}")
    parts.append(_quantity_text(worked, billable, reasons, product))
    explanation = "; ".join(parts) + f". Line net {_money(line_net, currency)}."
    return PriceQuote(
        currency=currency,
        unit=product.unit,
        worked_quantity=worked,
        billable_quantity=billable,
        source=chosen.source,
        source_price=chosen.amount,
        source_currency=chosen.currency,
        list_unit_price=list_unit_price,
        discount_percent=percent,
        discount_source=discount_source,
        conversion=conversion,
        unit_price=unit_price,
        line_net=line_net,
        explanation=explanation,
    )


# --- wording -----------------------------------------------------------------------------


def _number(value: Decimal) -> str:
    """Return a number without trailing zeros or exponent: 2.5000 → '2.5', 1E+2 → '100'."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


def _percent(value: Decimal) -> str:
    return f"{_number(value)}%"


def _money(amount: Decimal, currency: str) -> str:
    """Return an amount with at least the currency's decimals: '90.00 NOK', '12.3456 EUR'."""
    places = max(minor_unit_exponent(currency), -amount.normalize().as_tuple().exponent)
    return f"{amount:,.{places}f} {currency}"


def _quantity_text(
    worked: Decimal, billable: Decimal, reasons: list[str], product: ProductTerms
) -> str:
    unit = f" {product.unit}" if product.unit else ""
    if worked == 0 and product.minimum_quantity:
        return (
            f"0{unit} worked: nothing billed (the minimum of"
            f" {_number(product.minimum_quantity)}{unit} applies only when something is worked)"
        )
    if billable == worked:
        return f"{_number(worked)}{unit} billed"
    why = ", ".join(f"{reason}{unit}" for reason in reasons)
    return f"{_number(worked)}{unit} billed as {_number(billable)}{unit} ({why})"
