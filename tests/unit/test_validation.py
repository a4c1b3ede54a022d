"""Official numbers, colours and slugs (python-stdnum underneath)."""

from __future__ import annotations

import pytest

from saas.tenants import validation


@pytest.mark.parametrize(
    ("value", "country", "expected"),
    [
        ("NO 974 760 673 MVA", "NO", "NO974760673MVA"),
        ("974760673MVA", "NO", "NO974760673MVA"),
        ("PL 526-025-02-74", "PL", "PL5260250274"),
        ("5260250274", "PL", "PL5260250274"),
        ("CZ25596641", "CZ", "CZ25596641"),
        ("RO 18547290", "RO", "RO18547290"),
        ("101134702", "RS", "101134702"),
    ],
)
def test_valid_vat_ids_come_back_compact(value, country, expected):
    assert validation.vat_id(value, country) == expected


@pytest.mark.parametrize(
    ("value", "country"),
    [("NO 974 760 674 MVA", "NO"), ("PL 526-025-02-75", "PL"), ("CZ123", "CZ"), ("X", "RS")],
)
def test_invalid_vat_ids_raise_a_message_naming_the_country(value, country):
    with pytest.raises(ValueError, match=f"Not a valid {country} VAT id"):
        validation.vat_id(value, country)


def test_a_country_without_a_vat_checker_says_so():
    with pytest.raises(ValueError, match="cannot be checked"):
        validation.vat_id("123", "ZZ")


@pytest.mark.parametrize(
    ("value", "country", "valid"),
    [("974760673", "NO", True), ("974760674", "NO", False), ("012100784", "PL", True),
     ("anything-goes", "US", True), ("", "US", False)],
)
def test_org_numbers_are_checked_where_the_format_is_known(value, country, valid):
    if valid:
        assert validation.org_number(value, country)
    else:
        with pytest.raises(ValueError):
            validation.org_number(value, country)


@pytest.mark.parametrize(
    ("value", "valid"),
    [("NO93 8601 1117 947", True), ("PL61109010140000071219812874", True),
     ("NO9386011117948", False), ("XX00", False)],
)
def test_ibans(value, valid):
    if valid:
        assert validation.iban(value) == value.replace(" ", "").upper()
    else:
        with pytest.raises(ValueError, match="Not a valid IBAN"):
            validation.iban(value)


@pytest.mark.parametrize(("value", "valid"), [("DNBANOKKXXX", True), ("WBKPPLPP", True),
                                              ("DNB", False), ("1234NOKK", False)])
def test_bics(value, valid):
    if valid:
        assert validation.bic(value) == value
    else:
        with pytest.raises(ValueError, match="Not a valid BIC"):
            validation.bic(value)


def test_norwegian_account_numbers_have_a_check_digit():
    assert validation.bban("8601.11.17947", "NO") == "86011117947"
    with pytest.raises(ValueError, match="NO account number"):
        validation.bban("8601.11.17948", "NO")


@pytest.mark.parametrize(
    ("name", "slug"),
    [("Nordlys Rørlegger AS", "nordlys-rorlegger-as"),
     ("Ochrona Sokół Sp. z o.o.", "ochrona-sokol-sp-z-o-o"),
     ("Tiskárna Vltava s.r.o.", "tiskarna-vltava-s-r-o"),
     ("Ștefan & Fiii SRL", "stefan-fiii-srl"),
     ("Đorđević d.o.o.", "dordevic-d-o-o"),
     ("!!!", "company")],
)
def test_slugs_are_ascii_from_any_european_name(name, slug):
    assert validation.slugify(name) == slug


@pytest.mark.parametrize(("value", "valid"), [("#1F4E79", True), ("1f4e79", False),
                                              ("#12345", False), ("red", False)])
def test_colours(value, valid):
    if valid:
        assert validation.color(value) == value.lower()
    else:
        with pytest.raises(ValueError):
            validation.color(value)
