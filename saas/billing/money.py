"""Exact money: currency minor units and half-up rounding (pure: no Flask, no database).

Amounts are ``Decimal`` (or ``int``, or an exact ``Fraction`` for intermediate results such
as a price divided by an exchange rate); a ``float`` is refused with ``TypeError`` because it
cannot hold most decimal amounts exactly. Rounding is ROUND_HALF_UP (a tie goes away from
zero). Exact amounts are Decimal arithmetic under ``EXACT``, which refuses (raises
``decimal.Inexact``) any result it would have to round, or integer arithmetic on fractions;
rounding is one ``quantize`` or integer division, so no intermediate step rounds first.

Minor units come from one table, babel's (CLDR): JPY has 0 decimals, EUR 2, KWD 3.
"""

from __future__ import annotations

from decimal import (
    ROUND_HALF_UP,
    Context,
    Decimal,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
)
from fractions import Fraction
from functools import cache

from babel.numbers import get_currency_precision, list_currencies

# Unit prices are kept to 4 decimals (the MONEY columns' scale), whatever the currency.
UNIT_PRICE_PLACES = 4

Exact = Decimal | int | Fraction

# Products and sums of amounts, prices, quantities and rates: exact, or an error (never a
# silently rounded result). Amounts have a few dozen digits at most; 200 is plenty.
EXACT = Context(prec=200, rounding=ROUND_HALF_UP,
                traps=[Inexact, InvalidOperation, Overflow, DivisionByZero])
_ROUNDING = Context(prec=200, rounding=ROUND_HALF_UP,
                    traps=[InvalidOperation, Overflow, DivisionByZero])


@cache
def _known_currencies() -> frozenset[str]:
    return frozenset(list_currencies())


def check_currency(currency: str) -> str:
    """Return the ISO 4217 code unchanged, or raise ValueError if it is not one."""
    if not isinstance(currency, str):
        raise TypeError(f"a currency is a 3-letter code, not {type(currency).__name__}")
    if len(currency) != 3 or not currency.isalpha() or not currency.isupper():
        raise ValueError(f"{currency!r} is not a currency code (3 capital letters, e.g. EUR)")
    if currency not in _known_currencies():
        raise ValueError(f"{currency!r} is not a known ISO 4217 currency")
    return currency


@cache
def minor_unit_exponent(currency: str) -> int:
    """Return how many decimals the currency's minor unit has (JPY 0, EUR 2, KWD 3)."""
    return int(get_currency_precision(check_currency(currency)))


def as_decimal(value: Decimal | int, name: str = "amount") -> Decimal:
    """Return value as a finite Decimal; refuse floats (TypeError) and NaN/infinity."""
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise TypeError(f"{name} must be a Decimal, not {type(value).__name__}")
    result = Decimal(value)
    if not result.is_finite():
        raise ValueError(f"{name} must be a finite number, not {value}")
    return result


def _as_fraction(value: Exact, name: str = "amount") -> Fraction:
    if isinstance(value, Fraction):
        return value
    return Fraction(as_decimal(value, name))


def round_half_up(amount: Exact, places: int) -> Decimal:
    """Round an exact amount to the given number of decimals, ties away from zero."""
    if places < 0:
        raise ValueError("places must be 0 or more")
    if isinstance(amount, Decimal):  # one quantize: the same result, far cheaper
        rounded = as_decimal(amount).quantize(_step(places), context=_ROUNDING)
        return rounded.copy_abs() if rounded.is_zero() else rounded  # no "-0.00"
    scaled = _as_fraction(amount) * 10**places
    whole, remainder = divmod(abs(scaled.numerator), scaled.denominator)
    if 2 * remainder >= scaled.denominator:
        whole += 1
    sign = "-" if scaled < 0 and whole else ""
    return Decimal(f"{sign}{whole}E-{places}")


@cache
def _step(places: int) -> Decimal:
    return Decimal(1).scaleb(-places)


def exact_product(*factors: Decimal | int) -> Exact:
    """The product of decimals, exact: a Decimal, or a Fraction beyond ``EXACT``'s digits."""
    values = [as_decimal(factor) for factor in factors]
    try:
        product = Decimal(1)
        for value in values:
            product = EXACT.multiply(product, value)
        return product
    except Inexact:
        product = Fraction(1)
        for value in values:
            product *= Fraction(value)
        return product


def quantize_money(amount: Exact, currency: str) -> Decimal:
    """Round an amount half up to the currency's minor unit (JPY 1, EUR 0.01, KWD 0.001)."""
    return round_half_up(amount, minor_unit_exponent(currency))


def quantize_unit_price(amount: Exact) -> Decimal:
    """Round a unit price half up to 4 decimals."""
    return round_half_up(amount, UNIT_PRICE_PLACES)
