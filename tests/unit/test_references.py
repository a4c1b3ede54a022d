"""Payment references (R6.2): KID MOD10/MOD11, RF creditor references, the layout."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from saas.billing.payments import references as r

ROOT = Path(__file__).resolve().parents[2]
# The shared KID/RF test vectors (tests/samples/SOURCES.md says where they come from).
VECTORS = ROOT / "tests" / "samples" / "kid" / "kid-rf-vectors.csv"


def vectors() -> list[dict[str, str]]:
    if not VECTORS.exists():
        raise FileNotFoundError(f"The KID/RF test vectors are missing: {VECTORS}")
    with VECTORS.open(newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


ROWS = vectors()
KID_ROWS = [row for row in ROWS if row["algorithm"] != "ISO11649"]
RF_ROWS = [row for row in ROWS if row["algorithm"] == "ISO11649"]


def row_id(row: dict[str, str]) -> str:
    return f"{row['algorithm']}-{row['valid']}-{row['value']}"


def test_every_vector_is_used():
    with VECTORS.open(encoding="utf-8") as file:
        lines = [line for line in file.read().splitlines()[1:] if line.strip()]
    assert len(KID_ROWS) + len(RF_ROWS) == len(lines) > 100
    assert {row["algorithm"] for row in KID_ROWS} == {
        "MOD10", "MOD11", "MOD10+MOD11", "length", "syntax"}


@pytest.mark.parametrize("row", KID_ROWS, ids=row_id)
def test_kid_vectors_validate_as_listed(row):
    valid = row["valid"] == "yes"
    algorithms = row["algorithm"].split("+") if "MOD" in row["algorithm"] else [
        "MOD10", "MOD11"]  # a bad length or character fails under both
    for algorithm in algorithms:
        assert r.is_valid_kid(row["value"], algorithm) is valid, (algorithm, row["note"])
        assert (r.kid_problem(row["value"], algorithm) is None) is valid


@pytest.mark.parametrize("row", [row for row in KID_ROWS if row["valid"] == "yes"],
                         ids=row_id)
def test_kid_vectors_are_what_generation_makes_of_their_digits(row):
    value = row["value"]
    make = r.kid_mod10 if row["algorithm"] == "MOD10" else r.kid_mod11
    assert make(value[:-1]) == value
    assert make(value[:-1].lstrip("0") or "0", len(value)) == value  # zero-padded to length


@pytest.mark.parametrize("row", RF_ROWS, ids=row_id)
def test_rf_vectors_validate_as_listed(row):
    valid = row["valid"] == "yes"
    assert r.is_valid_rf(row["value"]) is valid, row["note"]
    compact = row["value"].replace(" ", "")
    # The check digits made for the reference part are the listed ones exactly when valid.
    assert (r.rf(compact[4:]) == compact) is valid


@pytest.mark.parametrize(("base", "length", "mod10", "mod11"), [
    ("123", 10, "0000001230", "0000001236"),  # NoCommons mod10Kid / mod11Kid
    ("1234", 10, "0000012344", "0000012343"),
    ("1234", None, "12344", "12343"),
    ("0", None, "00", "00"),
    ("31", None, "315", "310"),  # MOD11: remainder 0 gives 0
    ("40", None, "406", "40-"),  # MOD11: remainder 1 gives 10, printed "-"
    ("1000005", None, "10000057", "1000005-"),
    ("", 2, "00", "00"),
])
def test_kid_check_digits_and_padding(base, length, mod10, mod11):
    assert (r.kid_mod10(base, length), r.kid_mod11(base, length)) == (mod10, mod11)
    assert r.is_valid_kid(mod10, "MOD10") and r.is_valid_kid(mod11, "kid_mod11")


@pytest.mark.parametrize(("call", "words"), [
    (lambda: r.kid_mod10("12a"), "digits"),
    (lambda: r.kid_mod10("12345", 5), "holds 4 and the check digit"),
    (lambda: r.kid_mod11("1", 26), "2 to 25"),
    (lambda: r.kid_mod10("", 1), "2 to 25"),
    (lambda: r.rf(""), "1 to 21"),
    (lambda: r.rf("A" * 22), "1 to 21"),
    (lambda: r.rf("AB-12"), "letters and digits"),
    (lambda: r.is_valid_kid("123", "MOD12"), "MOD10 or MOD11"),
])
def test_bad_input_is_refused_with_the_reason(call, words):
    with pytest.raises(ValueError, match=words):
        call()


@pytest.mark.parametrize(("value", "algorithm", "words"), [
    ("", "MOD10", "empty"),
    ("12 34a", "MOD10", "only digits"),
    ("1234-", "MOD10", "only digits"),
    ("1" * 26, "MOD11", "2 to 25 digits, this one 26"),
    ("12345", "MOD10", "check digit is 5, it should be 4"),
    ("12344", "MOD11", "MOD11 check digit is 4, it should be 3"),
])
def test_an_invalid_kid_says_why(value, algorithm, words):
    assert words in r.kid_problem(value, algorithm)


def test_spaces_inside_a_kid_or_an_rf_reference_are_allowed():
    assert r.is_valid_kid("0000 0012 30", "MOD10")
    assert r.is_valid_rf("rf18 5390 0754 7034")


# --- the generated layout ------------------------------------------------------------------

CUSTOMER = 10001
# The expected check digits were computed apart from the module (Luhn, weights 2-7, and
# ISO 7064 MOD 97-10 written out by hand).


@pytest.mark.parametrize(("scheme", "kind", "length", "counter", "expected"), [
    # S CCCC NNNN K: series 1 (invoice), customer 10001 → "0001", position 42 → "0042".
    (r.KID_MOD10, "invoice", 10, 42, "1000100428"),
    (r.KID_MOD11, "invoice", 10, 42, "1000100427"),
    (r.KID_MOD10, "proforma", 10, 42, "2000100426"),
    (r.KID_MOD10, "invoice", 10, 9999, "1000199990"),
    (r.KID_MOD10, "invoice", 11, 42, "10001000420"),  # S CCCC NNNNN K
    (r.KID_MOD10, "invoice", 7, 42, "1010420"),  # S CC NNN K
    (r.KID_MOD10, "invoice", 4, 7, "1172"),  # S C N K: the shortest
    (r.KID_MOD11, "invoice", 25, 42, "1000000100010000000000422"),
    (r.KID_MOD11, "invoice", 6, 1, "10101-"),  # S CC NN K; MOD11 check 10: "-"
    (r.RF, "invoice", 10, 42, "RF13101000100000042"),
    (r.RF, "proforma", 25, 42, "RF37201000100000042"),  # the length is a KID's only
    (r.INVOICE_NUMBER, "invoice", 10, 42, "INV-2026-0042"),
])
def test_references_are_made_from_series_customer_and_position(scheme, kind, length,
                                                                counter, expected):
    made = r.make_reference(scheme, customer_number=CUSTOMER, counter=counter,
                            number="INV-2026-0042", length=length, kind=kind)
    assert made == expected
    if scheme in r.KID_SCHEMES:
        assert len(made) == length and r.is_valid_kid(made, scheme)
    if scheme == r.RF:
        assert r.is_valid_rf(made)


@pytest.mark.parametrize(("length", "layout", "capacity"), [
    (4, (1, 1), 9), (5, (1, 2), 99), (10, (4, 4), 9_999), (11, (4, 5), 99_999),
    (15, (6, 7), 9_999_999), (25, (11, 12), 999_999_999_999),
])
def test_kid_layout_gives_the_position_the_larger_half(length, layout, capacity):
    assert r.kid_layout(length) == layout
    assert r.kid_capacity(length) == capacity


@pytest.mark.parametrize(("values", "words"), [
    ({"scheme": r.KID_MOD10, "length": 3}, "4 to 25 digits, not 3"),
    ({"scheme": r.KID_MOD10, "length": 26}, "4 to 25 digits, not 26"),
    ({"scheme": r.KID_MOD10, "counter": 10_000},
     "room for the first 9,999 invoices of the series; invoice no. 10,000"),
    ({"scheme": r.KID_MOD11, "counter": 0}, "starts at 1"),
    ({"scheme": r.RF, "counter": 100_000_000}, "first 99,999,999 invoices"),
    ({"scheme": r.KID_MOD10, "kind": "credit_note"}, "Only invoices and proformas"),
    ({"scheme": "kid_mod12"}, "not a reference scheme"),
    ({"scheme": r.INVOICE_NUMBER, "number": ""}, "no number"),
    ({"scheme": r.INVOICE_NUMBER, "number": "X" * 36}, "holds 35"),
    ({"scheme": r.KID_MOD10, "customer_number": -1}, "not negative"),
])
def test_what_does_not_fit_is_refused_never_cut(values, words):
    arguments = {"customer_number": CUSTOMER, "counter": 42, "number": "INV-1",
                 "length": 10, "kind": "invoice", **values}
    scheme = arguments.pop("scheme")
    with pytest.raises(ValueError, match=words):
        r.make_reference(scheme, **arguments)


def test_a_long_customer_number_keeps_its_last_digits():
    made = r.make_reference(r.KID_MOD10, customer_number=123456789, counter=5, number="",
                            length=10)
    assert made[:9] == "1" + "6789" + "0005"


@given(counter=st.integers(1, 9_999), customer=st.integers(0, 10**9),
       scheme=st.sampled_from([r.KID_MOD10, r.KID_MOD11, r.RF]),
       kind=st.sampled_from(["invoice", "proforma"]))
def test_every_generated_reference_validates(counter, customer, scheme, kind):
    made = r.make_reference(scheme, customer_number=customer, counter=counter, number="",
                            length=10, kind=kind)
    valid = r.is_valid_rf(made) if scheme == r.RF else r.is_valid_kid(made, scheme)
    assert valid and r.check_reference(made, scheme) == made


@pytest.mark.parametrize("scheme", [r.KID_MOD10, r.KID_MOD11, r.RF])
def test_no_two_series_positions_share_a_reference_whoever_the_customer(scheme):
    # 10001, 20001 and 1 have the same last digits; 123456789 more digits than fit.
    made: dict[str, set[tuple[str, int]]] = {}
    for kind in ("invoice", "proforma"):
        for customer in (10001, 20001, 1, 123456789):
            for counter in range(1, 1000):
                reference = r.make_reference(scheme, customer_number=customer,
                                             counter=counter, number="", length=8, kind=kind)
                made.setdefault(reference, set()).add((kind, counter))
    assert all(len(positions) == 1 for positions in made.values())


# --- references typed by hand, and printed -------------------------------------------------


@pytest.mark.parametrize(("value", "scheme", "stored"), [
    ("", r.KID_MOD10, ""),
    ("  ", r.RF, ""),
    ("0000 0012 30", r.KID_MOD10, "0000001230"),
    ("1000005-", r.KID_MOD11, "1000005-"),
    ("rf18 5390 0754 7034", r.RF, "RF18539007547034"),
    ("PO 4711 / project X", r.INVOICE_NUMBER, "PO 4711 / project X"),
])
def test_a_reference_typed_by_hand_is_kept_in_its_stored_form(value, scheme, stored):
    assert r.check_reference(value, scheme) == stored
    assert r.check_reference(value, scheme, len(stored) or 10) == stored


def test_a_kid_typed_by_hand_must_have_the_length_of_the_tenants_kids():
    with pytest.raises(ValueError, match="1000005- has 8 digits: this company's KIDs have 10"):
        r.check_reference("1000005-", r.KID_MOD11, 10)
    assert r.check_reference("RF18539007547034", r.RF, 10) == "RF18539007547034"


@pytest.mark.parametrize(("value", "scheme", "words"), [
    ("0000001231", r.KID_MOD10, "not a valid KID (MOD10): its MOD10 check digit is 1"),
    ("1000005-", r.KID_MOD10, "not a valid KID (MOD10)"),
    ("RF18539007547034", r.KID_MOD11, "not a valid KID (MOD11): a KID has only digits"),
    ("RF17 5390 0754 7034", r.RF, "not a valid RF creditor reference"),
    ("1000100428", r.RF, "not a valid RF creditor reference"),
    ("X" * 36, r.INVOICE_NUMBER, "at most 35"),
    ("two\nlines", r.INVOICE_NUMBER, "one line"),
])
def test_a_wrong_reference_typed_by_hand_is_refused_with_the_reason(value, scheme, words):
    with pytest.raises(ValueError, match=words.replace("(", r"\(").replace(")", r"\)")):
        r.check_reference(value, scheme)


@pytest.mark.parametrize(("reference", "scheme", "number", "label"), [
    ("1000100428", r.KID_MOD10, "INV-1", "KID"),
    ("1000100427", r.KID_MOD11, "INV-1", "KID"),
    ("RF18539007547034", r.RF, "INV-1", "Reference (RF)"),
    ("RF18539007547034", r.KID_MOD10, "INV-1", "Reference (RF)"),  # kept from a proforma
    ("INV-1", r.INVOICE_NUMBER, "INV-1", "Invoice number as reference"),
    ("INV-1", None, "INV-1", "Invoice number as reference"),  # issued before the schemes
    ("PO 4711", r.INVOICE_NUMBER, "INV-1", "Payment reference"),
    ("", r.KID_MOD10, "INV-1", ""),
])
def test_the_label_says_what_kind_of_reference_it_is(reference, scheme, number, label):
    assert r.reference_label(reference, scheme, number) == label


def test_rf_references_print_in_groups_of_four():
    assert r.display_reference("RF18539007547034") == "RF18 5390 0754 7034"
    assert r.display_reference("1000100428") == "1000100428"
    assert r.display_reference("") == ""
