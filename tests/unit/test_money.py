"""Exact money: minor units from babel, half-up rounding, no floats."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from saas.billing import money


@pytest.mark.parametrize(
    ("currency", "exponent"),
    [("JPY", 0), ("ISK", 0), ("EUR", 2), ("NOK", 2), ("PLN", 2), ("KWD", 3), ("BHD", 3)],
)
def test_minor_unit_exponent_comes_from_babel(currency, exponent):
    assert money.minor_unit_exponent(currency) == exponent


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("1234", "JPY", "1234"),
        ("1234.4", "JPY", "1234"),
        ("1234.5", "JPY", "1235"),
        ("0.5", "JPY", "1"),
        ("-0.5", "JPY", "-1"),
        ("-0.4", "JPY", "0"),
        ("10", "EUR", "10.00"),
        ("10.004", "EUR", "10.00"),
        ("10.005", "EUR", "10.01"),
        ("10.015", "EUR", "10.02"),  # half up, not half even
        ("10.025", "EUR", "10.03"),
        ("-10.005", "EUR", "-10.01"),
        ("0.0049999", "EUR", "0.00"),
        ("1.0005", "KWD", "1.001"),
        ("1.0004", "KWD", "1.000"),
        ("1.2345", "KWD", "1.235"),
        ("99999999999999.9995", "NOK", "100000000000000.00"),
    ],
)
def test_quantize_money_rounds_half_up_to_the_minor_unit(amount, currency, expected):
    result = money.quantize_money(Decimal(amount), currency)
    assert result == Decimal(expected)
    assert str(result) == expected  # the exponent too: 10 EUR is 10.00


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        (Decimal("81"), "81.0000"),
        (Decimal("1.23455"), "1.2346"),
        (Decimal("1.23454999"), "1.2345"),
        (Decimal("-1.23455"), "-1.2346"),
        (Fraction(1, 3), "0.3333"),
        (Fraction(2, 3), "0.6667"),
        (Fraction(200, 23), "8.6957"),  # 100 NOK at 1 EUR = 11.5 NOK, inverted
        (7, "7.0000"),
    ],
)
def test_quantize_unit_price_keeps_four_decimals(amount, expected):
    assert str(money.quantize_unit_price(amount)) == expected


def test_rounding_is_exact_beyond_the_decimal_context_precision():
    # 30 significant digits: the default context (28) would round before quantizing.
    amount = Decimal("1234567890123456789012345.00500")
    assert money.quantize_money(amount, "EUR") == Decimal("1234567890123456789012345.01")


@pytest.mark.parametrize("function", [money.quantize_unit_price, money.as_decimal])
def test_floats_are_refused(function):
    with pytest.raises(TypeError, match="float"):
        function(0.1)


def test_quantize_money_refuses_floats():
    with pytest.raises(TypeError, match="float"):
        money.quantize_money(0.1, "EUR")


@pytest.mark.parametrize("value", [Decimal("NaN"), Decimal("Infinity")])
def test_non_finite_amounts_are_refused(value):
    with pytest.raises(ValueError, match="finite"):
        money.quantize_money(value, "EUR")


@pytest.mark.parametrize("currency", ["eur", "EURO", "E1R", "QQQ", ""])
def test_unknown_currencies_are_refused(currency):
    with pytest.raises(ValueError):
        money.minor_unit_exponent(currency)


def _fraction_rounding(amount: Fraction, places: int) -> Decimal:
    """The integer-arithmetic rounding, as the Fraction path does it."""
    return money.round_half_up(amount, places)


def test_decimals_round_exactly_as_fractions_do():
    """The Decimal fast path (one quantize) agrees with integer rounding, digit for digit."""
    import random

    pick = random.Random(20261130)
    for _ in range(20_000):
        digits = pick.randint(1, 30)
        exponent = -pick.randint(0, 12)
        value = Decimal(pick.choice("-+") + str(pick.randrange(10**digits))).scaleb(exponent)
        places = pick.randint(0, 4)
        fast, slow = money.round_half_up(value, places), _fraction_rounding(Fraction(value),
                                                                            places)
        assert (str(fast), fast.as_tuple().exponent) == (str(slow), slow.as_tuple().exponent)


def test_exact_products_never_round():
    assert money.exact_product(Decimal("3.3333"), Decimal("1.5")) == Decimal("4.99995")
    huge = Decimal("9" * 150)
    product = money.exact_product(huge, huge)  # 300 digits: beyond EXACT, a Fraction
    assert isinstance(product, Fraction) and product == Fraction(int(huge)) ** 2
    with pytest.raises(TypeError):
        money.exact_product(Decimal(1), 0.1)
