"""The EPC QR payload (EPC069-12 version 002) and its QR code image."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from PIL import Image

from saas.billing.documents import epc

# The guidelines' own example beneficiary, with a valid Belgian IBAN and RF reference.
NAME = "Red Cross of Belgium"
IBAN = "BE72000000001616"
BIC = "BPOTBEB1"
RF = "RF18539007547034"


def test_payload_with_a_structured_reference_is_exactly_the_specified_lines():
    expected = "\n".join([
        "BCD",  # service tag
        "002",  # version
        "1",  # character set: UTF-8
        "SCT",  # SEPA credit transfer
        "BPOTBEB1",
        "Red Cross of Belgium",
        "BE72000000001616",
        "EUR12.30",
        "",  # no purpose code
        "RF18539007547034",  # structured remittance; nothing follows it
    ])
    payload = epc.payload(name=NAME, iban=IBAN, bic=BIC, amount=Decimal("12.3"), reference=RF)
    assert payload == expected


def test_payload_with_unstructured_text_leaves_the_reference_empty():
    expected = ("BCD\n002\n1\nSCT\n\nŻółty Żuraw Sp. z o.o.\nDE89370400440532013000\nEUR1.00"
                "\n\n\nINV-2026-0007")
    payload = epc.payload(name="Żółty Żuraw Sp. z o.o.", iban="DE89370400440532013000",
                          amount=Decimal("1"), text="INV-2026-0007")
    assert payload == expected


def test_iban_bic_and_reference_are_normalised():
    payload = epc.payload(name=NAME, iban="be72 0000 0000 1616", bic="bpot beb1",
                          amount=Decimal("12.30"), reference="rf18 5390 0754 7034")
    lines = payload.split("\n")
    assert lines[4:7] == [BIC, NAME, IBAN]
    assert lines[9] == RF


def test_optional_purpose_and_information_are_placed_in_their_elements():
    payload = epc.payload(name=NAME, iban=IBAN, amount=Decimal("5.00"), purpose="gdds",
                          text="Order 42", information="Thank you")
    assert payload.split("\n")[7:] == ["EUR5.00", "GDDS", "", "Order 42", "Thank you"]


@pytest.mark.parametrize("amount", ["0.01", "999999999.99", "1234.5"])
def test_amounts_within_the_range_are_accepted(amount):
    payload = epc.payload(name=NAME, iban=IBAN, amount=Decimal(amount), reference=RF)
    assert payload.split("\n")[7] == f"EUR{Decimal(amount):.2f}"


@pytest.mark.parametrize("amount", ["0", "0.00", "-1.00", "1000000000.00", "999999999.999"])
def test_amounts_out_of_range_are_refused(amount):
    with pytest.raises(ValueError, match="EPC QR: the amount"):
        epc.payload(name=NAME, iban=IBAN, amount=Decimal(amount), reference=RF)


def test_the_amount_range_is_named_in_the_message():
    with pytest.raises(ValueError, match=r"between 0\.01 and 999999999\.99 EUR, not 0"):
        epc.payload(name=NAME, iban=IBAN, amount=Decimal("0"), reference=RF)


def test_a_float_amount_is_refused():
    with pytest.raises(TypeError, match="Decimal"):
        epc.payload(name=NAME, iban=IBAN, amount=12.3, reference=RF)  # type: ignore[arg-type]


@pytest.mark.parametrize("iban", ["BE72000000001617", "DE00370400440532013000", "XX", ""])
def test_an_invalid_iban_is_refused(iban):
    with pytest.raises(ValueError, match="is not a valid IBAN"):
        epc.payload(name=NAME, iban=iban, amount=Decimal("1"), reference=RF)


def test_the_name_is_required_and_at_most_70_characters():
    assert epc.payload(name="x" * 70, iban=IBAN, amount=Decimal("1"))
    with pytest.raises(ValueError, match="71 characters, at most 70"):
        epc.payload(name="x" * 71, iban=IBAN, amount=Decimal("1"))
    with pytest.raises(ValueError, match="name is required"):
        epc.payload(name="  ", iban=IBAN, amount=Decimal("1"))


def test_reference_and_text_are_exclusive_and_checked():
    with pytest.raises(ValueError, match="not both"):
        epc.payload(name=NAME, iban=IBAN, amount=Decimal("1"), reference=RF, text="x")
    with pytest.raises(ValueError, match="ISO 11649"):
        epc.payload(name=NAME, iban=IBAN, amount=Decimal("1"), reference="RF19539007547034")
    with pytest.raises(ValueError, match="141 characters, at most 140"):
        epc.payload(name=NAME, iban=IBAN, amount=Decimal("1"), text="x" * 141)


def test_a_line_break_cannot_shift_the_elements():
    with pytest.raises(ValueError, match="line break"):
        epc.payload(name="Red Cross\nof Belgium", iban=IBAN, amount=Decimal("1"))


def test_bic_and_purpose_formats_are_checked():
    with pytest.raises(ValueError, match="is not a BIC"):
        epc.payload(name=NAME, iban=IBAN, bic="BPOT", amount=Decimal("1"))
    with pytest.raises(ValueError, match="purpose code"):
        epc.payload(name=NAME, iban=IBAN, purpose="GOODS", amount=Decimal("1"))


def test_without_remittance_the_payload_ends_with_the_amount():
    assert epc.payload(name=NAME, iban=IBAN, amount=Decimal("2")).endswith("\nEUR2.00")


def test_split_remittance_puts_rf_references_in_the_structured_element():
    assert epc.split_remittance("RF18 5390 0754 7034") == (RF, "")
    assert epc.split_remittance("1234567890128") == ("", "1234567890128")  # a KID
    assert epc.split_remittance("") == ("", "")


def test_qr_code_of_the_largest_payload_uses_level_m_and_fits_version_13():
    fields = dict(name="x" * 70, iban="PL61109010140000071219812874", bic="BREXPLPW",
                  amount=Decimal("999999999.99"), text="t" * 140)
    payload = epc.payload(**fields, information="i" * 49)
    assert len(payload.encode("utf-8")) == 331
    with pytest.raises(ValueError, match="332 bytes, at most 331"):
        epc.payload(**fields, information="i" * 50)
    code = epc.qr_code(payload)
    assert code.error == "M"
    assert code.version <= 13


def test_qr_png_draws_the_codes_modules():
    payload = epc.payload(name=NAME, iban=IBAN, bic=BIC, amount=Decimal("12.30"), reference=RF)
    png = epc.qr_png(payload, scale=3, border=4)
    image = Image.open(io.BytesIO(png)).convert("L")
    code = epc.qr_code(payload)
    modules = [list(row) for row in code.matrix_iter(scale=1, border=4)]
    assert image.size == (len(modules[0]) * 3, len(modules) * 3)
    for y, row in enumerate(modules):
        for x, dark in enumerate(row):
            assert image.getpixel((x * 3 + 1, y * 3 + 1)) == (0 if dark else 255)


def test_qr_svg_is_an_svg_document():
    payload = epc.payload(name=NAME, iban=IBAN, amount=Decimal("1"), reference=RF)
    svg = epc.qr_svg(payload)
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
