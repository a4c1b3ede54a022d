"""The API's value types and cursors, as tables of cases (no app, no database)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import TypeAdapter, ValidationError

from saas.api.errors import ApiError
from saas.api.pagination import decode_cursor, encode_cursor
from saas.api.schemas import Money, Percent, Quantity, decimal_text
from saas.api.tokens import TokenRefused, tenant_of


@pytest.mark.parametrize(("kind", "given", "expected"), [
    (Money, "12.50", Decimal("12.50")),
    (Money, "99999999.9999", Decimal("99999999.9999")),
    (Money, 7, Decimal(7)),
    (Quantity, "-2.5", Decimal("-2.5")),
    (Percent, "100", Decimal(100)),
])
def test_decimal_strings_that_fit_are_taken(kind, given, expected):
    assert TypeAdapter(kind).validate_python(given) == expected


@pytest.mark.parametrize(("kind", "given"), [
    (Money, 12.5),             # a JSON number went through a float
    (Money, "100000000"),      # beyond the column
    (Money, "1.23456"),        # more decimals than stored
    (Money, "-1"),             # money here is never negative
    (Money, "NaN"),
    (Quantity, "100000"),
    (Percent, "100.01"),
    (Percent, "abc"),
])
def test_decimals_that_do_not_fit_are_refused(kind, given):
    with pytest.raises(ValidationError):
        TypeAdapter(kind).validate_python(given)


@pytest.mark.parametrize(("stored", "text"), [
    ("2137.5000", "2137.50"), ("12.3456", "12.3456"), ("0", "0.00"), ("-1000.0000", "-1000.00"),
    ("0.1000", "0.10"), ("1E+2", "100.00"),
])
def test_stored_numbers_read_as_plain_decimal_text(stored, text):
    assert decimal_text(Decimal(stored)) == text


@pytest.mark.parametrize("last_id", [0, 1, 12345, 2**31 - 1])
def test_a_cursor_gives_back_the_id_it_was_made_from(last_id):
    assert decode_cursor(encode_cursor(last_id)) == last_id


@pytest.mark.parametrize("cursor", ["", "x", "e30", "eyJhZnRlciI6IC0xfQ", "eyJhZnRlciI6IHRydWV9",
                                    "eyJhZnRlciI6ICIxIn0", "!!!!"])
def test_a_cursor_this_api_did_not_give_is_a_400(cursor):
    with pytest.raises(ApiError) as refused:
        decode_cursor(cursor)
    assert (refused.value.status, refused.value.code) == (400, "invalid_cursor")


@pytest.mark.parametrize(("text", "tenant_id"), [
    ("fkt_1_" + "a" * 43, 1), ("fkt_4711_" + "A-b_9" * 9, 4711),
])
def test_a_token_names_its_company_first(text, tenant_id):
    assert tenant_of(text) == tenant_id


@pytest.mark.parametrize("text", ["", "fkt_1_short", "fkt_x_" + "a" * 43, "abc_1_" + "a" * 43,
                                  "fkt_1_" + "a" * 43 + " ", "fkt_1_" + "ä" * 43])
def test_anything_else_is_no_token(text):
    with pytest.raises(TokenRefused):
        tenant_of(text)
