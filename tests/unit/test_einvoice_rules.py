"""The EN 16931 calculation rules (BR-CO-09..17, BR-x-08) and the Peppol code lists (pure):
the official Peppol examples pass, hand-broken copies fail with the rule they break."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from saas.billing.einvoice import peppol
from saas.billing.einvoice.rules import NS, check

PEPPOL = Path(__file__).resolve().parent.parent / "samples" / "peppol"
EXAMPLES = ("base-example.xml", "base-creditnote-correction.xml", "vat-category-E.xml",
            "vat-category-Z.xml", "Allowance-example.xml")
D = Decimal


def example(name: str) -> etree._Element:
    return etree.parse(str(PEPPOL / name)).getroot()


@pytest.mark.parametrize("name", EXAMPLES)
def test_the_official_examples_keep_the_calculation_rules(name):
    assert check(example(name)) == []


def _set(root: etree._Element, path: str, value: str) -> None:
    node = root.find(path, NS)
    assert node is not None, path
    node.text = value


def _drop(root: etree._Element, path: str) -> None:
    node = root.find(path, NS)
    node.getparent().remove(node)


TOTALS = "cac:LegalMonetaryTotal"
BROKEN = [
    # (example, what is changed, the rule it breaks)
    ("base-example.xml", lambda r: _set(r, f"{TOTALS}/cbc:LineExtensionAmount", "1301"),
     "BR-CO-10"),
    ("base-example.xml", lambda r: _set(r, "cac:InvoiceLine/cbc:LineExtensionAmount", "2801"),
     "BR-CO-10"),
    ("Allowance-example.xml", lambda r: _set(r, f"{TOTALS}/cbc:AllowanceTotalAmount", "1"),
     "BR-CO-11"),
    ("base-example.xml", lambda r: _set(r, f"{TOTALS}/cbc:ChargeTotalAmount", "30"),
     "BR-CO-12"),
    ("base-example.xml", lambda r: _set(r, f"{TOTALS}/cbc:TaxExclusiveAmount", "1300"),
     "BR-CO-13"),
    ("base-example.xml", lambda r: _set(r, "cac:TaxTotal/cbc:TaxAmount", "331.26"),
     "BR-CO-14"),
    ("base-example.xml", lambda r: _set(r, f"{TOTALS}/cbc:TaxInclusiveAmount", "1656.24"),
     "BR-CO-15"),
    ("base-example.xml", lambda r: _set(r, f"{TOTALS}/cbc:PayableAmount", "1600"),
     "BR-CO-16"),
    ("base-example.xml",
     lambda r: _set(r, "cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory/cbc:Percent", "15"),
     "BR-CO-17"),
    ("base-example.xml",
     lambda r: _set(r, "cac:AccountingSupplierParty/cac:Party/cac:PartyTaxScheme/cbc:CompanyID",
                    "1232434"), "BR-CO-09"),
    ("base-example.xml",
     lambda r: _set(r, "cac:InvoiceLine/cac:Item/cac:ClassifiedTaxCategory/cbc:ID", "Z"),
     "BR-S-08"),
    ("vat-category-Z.xml",
     lambda r: _set(r, "cac:TaxTotal/cac:TaxSubtotal/cbc:TaxableAmount", "1"), "BR-Z-08"),
    ("vat-category-E.xml",
     lambda r: _set(r, "cac:TaxTotal/cac:TaxSubtotal/cbc:TaxableAmount", "1"), "BR-E-08"),
    ("base-example.xml", lambda r: _drop(r, "cac:AllowanceCharge"), "BR-CO-12"),
]


@pytest.mark.parametrize(("name", "breaking", "rule"), BROKEN)
def test_a_broken_copy_fails_with_the_rule_it_breaks(name, breaking, rule):
    root = example(name)
    breaking(root)
    assert rule in {violation.rule for violation in check(root)}


def test_a_violation_says_what_was_expected_and_found():
    root = example("base-example.xml")
    _set(root, f"{TOTALS}/cbc:PayableAmount", "1600")
    [violation] = check(root)
    assert violation.rule == "BR-CO-16" and "1656.25" in violation.message


def test_vat_on_an_amount_without_decimals_is_rounded_to_its_own_places():
    root = example("vat-category-Z.xml")
    for node in root.iter():
        if node.get("currencyID"):
            node.set("currencyID", "JPY")
    assert [v.rule for v in check(root)] == []


@pytest.mark.parametrize(("country", "org", "vat", "email", "expected"), [
    ("NO", "923 609 016", "NO923609016MVA", "", peppol.Endpoint("0192", "923609016")),
    ("SE", "556036-0793", "", "", peppol.Endpoint("0007", "5560360793")),
    ("NO", "", "NO974760673MVA", "x@example.com", peppol.Endpoint("0192", "974760673")),
    ("SE", "", "SE556036079301", "", peppol.Endpoint("0007", "5560360793")),
    ("BE", "", "BE 0123.456.749", "", peppol.Endpoint("0208", "0123456749")),
    ("DE", "", "DE 123456789", "", peppol.Endpoint("9930", "DE123456789")),
    ("PL", "", "5252248481", "", peppol.Endpoint("9945", "PL5252248481")),
    ("GR", "", "094014201", "", peppol.Endpoint("9933", "EL094014201")),
    ("US", "", "", "ap@example.com", peppol.Endpoint("EM", "ap@example.com")),
    ("US", "", "", "", None),
])
def test_the_peppol_address_is_the_org_number_then_the_vat_id_then_the_email(
        country, org, vat, email, expected):
    assert peppol.endpoint(country, org, vat, email) == expected


@pytest.mark.parametrize(("category", "rate", "code"), [
    ("standard", D("25"), "S"), ("reduced", D("15"), "S"), ("standard", D("0"), "Z"),
    ("zero", D("0"), "Z"), ("exempt", D("0"), "E"), ("reverse_charge", D("0"), "AE"),
])
def test_vat_categories_map_to_en16931_codes(category, rate, code):
    assert peppol.category_code(category, rate) == code


@pytest.mark.parametrize(("unit", "code"), [
    ("h", "HUR"), ("Hours", "HUR"), ("stk.", "H87"), ("month", "MON"), ("", "C62"),
    ("bucket", "C62")])
def test_units_map_to_unece_codes(unit, code):
    assert peppol.unit_code(unit) == code


@pytest.mark.parametrize(("line", "expected"), [
    ("0150 Oslo", ("0150", "Oslo")), ("00-950 Warszawa", ("00-950", "Warszawa")),
    ("110 00 Praha 1", ("110 00", "Praha 1")), ("London", ("", "London"))])
def test_a_town_line_splits_into_postal_zone_and_city(line, expected):
    assert peppol.split_town(line) == expected
