"""CSV import formats: every rule of the customers and products files, without app or DB."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path

import pytest

from saas.billing.imports import formats
from saas.billing.imports.formats import Kind

REFERENCE = formats.Reference(
    countries=frozenset({"NO", "PL", "SE", "US"}),
    currencies=frozenset({"NOK", "EUR", "PLN"}),
    languages=frozenset({"en", "nb", "pl"}),
    customer_numbers=frozenset({500}),
    site_codes=frozenset({"TAKEN"}),
    skus=frozenset({"OLD-1"}),
    vat_codes=frozenset({"S25", "Z0"}),
    archived_vat_codes=frozenset({"OLD"}),
)
CUSTOMER = {"name": "Fjord Bygg AS", "country": "NO", "currency": "NOK"}
PRODUCT = {"sku": "GUARD-H", "name": "Guarding", "vat_code": "S25", "base_price": "650",
           "currency": "NOK"}


def csv_bytes(*rows: dict[str, str], delimiter: str = ",") -> bytes:
    """A file whose header is every column the rows use, in order of first use."""
    columns = list(dict.fromkeys(column for row in rows for column in row))
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row.get(column, "") for column in columns])
    return buffer.getvalue().encode()


def customers(*rows: dict[str, str], **options: str) -> formats.ParsedFile:
    return formats.parse(Kind.CUSTOMERS, csv_bytes(*rows, **options), REFERENCE)


def products(*rows: dict[str, str], **options: str) -> formats.ParsedFile:
    return formats.parse(Kind.PRODUCTS, csv_bytes(*rows, **options), REFERENCE)


def faults(parsed: formats.ParsedFile) -> list[tuple[int, str]]:
    return [(error.line, error.column) for error in parsed.errors]


# --- the file as a whole -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"", "The file is empty"),
        (b"\n\n", "The file is empty"),
        (b"name,country,currency\n", "The file has a header but no rows"),
        (b"name,country,currency\r\n,,\r\n\r\n", "The file has a header but no rows"),
        ("name,country,currency\nÅsane Bygg,NO,NOK\n".encode("latin-1"), formats.NOT_UTF8),
        ("name,country,currency\nÅsane,NO,NOK\n".encode("utf-16"), formats.NOT_UTF8),
        (b"name,currency\nA,NOK\n", "Required columns are missing: country."),
        (b"sku,name\nA,B\n", "Required columns are missing: country, currency."),
        (b"name,country,currency,colour,size\nA,NO,NOK,red,L\n", "Unknown columns: colour, size."),
        (b"name,country,name,currency\nA,NO,B,NOK\n", "Columns named twice: name."),
        (b"name,,country,currency\nA,,NO,NOK\n", "Column 2 has no name"),
    ],
)
def test_a_file_that_cannot_be_read_gives_one_problem_and_no_rows(data, problem):
    parsed = formats.parse(Kind.CUSTOMERS, data, REFERENCE)
    assert problem in parsed.problem
    assert (parsed.records, parsed.errors, parsed.ok) == ([], [], False)


def test_missing_and_unknown_columns_are_named_together():
    parsed = formats.parse(Kind.PRODUCTS, b"sku,name,price\nA,B,1\n", REFERENCE)
    assert parsed.problem.startswith(
        "Required columns are missing: vat_code, base_price, currency. Unknown columns: price."
    )


def test_the_bytes_and_rows_caps_refuse_the_whole_file(monkeypatch):
    monkeypatch.setattr(formats, "MAX_ROWS", 3)
    four_rows = csv_bytes(*[CUSTOMER] * 4)
    assert "more than 3 rows" in formats.parse(Kind.CUSTOMERS, four_rows, REFERENCE).problem
    assert formats.parse(Kind.CUSTOMERS, csv_bytes(*[CUSTOMER] * 3), REFERENCE).ok
    monkeypatch.setattr(formats, "MAX_BYTES", 40)
    assert "larger than" in formats.parse(Kind.CUSTOMERS, four_rows, REFERENCE).problem


@pytest.mark.parametrize(
    ("text", "delimiter"),
    [
        ("\ufeffname,country,currency\nÅsane Bygg,NO,NOK\n", ","),
        ("name;country;currency\r\nÅsane Bygg;NO;NOK\r\n", ";"),
        ("\ufeffname;country;currency\nÅsane Bygg;NO;NOK", ";"),
        (" Name , COUNTRY,Currency,\nÅsane Bygg,NO,NOK,\n", ","),
    ],
    ids=["bom", "semicolons-crlf", "bom-semicolons-no-final-newline", "header-case-and-spaces"],
)
def test_utf8_with_or_without_bom_and_either_delimiter_are_read(text, delimiter):
    parsed = formats.parse(Kind.CUSTOMERS, text.encode(), REFERENCE)
    assert parsed.ok, (parsed.problem, parsed.errors)
    assert parsed.delimiter == delimiter
    assert [record.values["name"] for record in parsed.records] == ["Åsane Bygg"]


@pytest.mark.parametrize(
    ("delimiter", "written", "expected"),
    [(";", "12,5", Decimal("12.5")), (";", "12.5", Decimal("12.5")),
     (",", "12.5", Decimal("12.5")), (",", "12,5", None)],
)
def test_decimal_commas_are_read_in_semicolon_files_only(delimiter, written, expected):
    parsed = customers({**CUSTOMER, "discount_percent": written}, delimiter=delimiter)
    if expected is None:
        assert faults(parsed) == [(2, "discount_percent")]
    else:
        assert parsed.records[0].values["discount_percent"] == expected


def test_line_numbers_are_the_rows_a_spreadsheet_shows():
    text = ('name,country,currency,notes\n'
            'A,NO,NOK,"two\nlines"\n'
            '\n'
            'B,XX,NOK,\n')
    parsed = formats.parse(Kind.CUSTOMERS, text.encode(), REFERENCE)
    assert faults(parsed) == [(4, "country")]


def test_a_row_with_more_values_than_columns_is_an_error_of_that_row():
    parsed = formats.parse(Kind.CUSTOMERS, b"name,country,currency\nA, B,NO,NOK\nC,NO,NOK\n",
                           REFERENCE)
    assert faults(parsed) == [(2, "")]
    assert "4 values for 3 columns" in parsed.errors[0].message
    assert [r.values["name"] for r in parsed.records] == ["C"]


def test_every_error_of_the_file_is_reported_not_only_the_first():
    parsed = customers(CUSTOMER, {**CUSTOMER, "country": "XX", "currency": "JPY"},
                       {**CUSTOMER, "name": ""})
    assert faults(parsed) == [(3, "country"), (3, "currency"), (4, "name")]


# --- customers: one rule per case ----------------------------------------------------------


@pytest.mark.parametrize(
    ("cells", "column", "message"),
    [
        ({"name": ""}, "name", "Required."),
        ({"name": "x" * 201}, "name", "Too long: at most 200 characters."),
        ({"country": ""}, "country", "Required."),
        ({"country": "XX"}, "country", "Unknown country: use one of NO, PL, SE, US."),
        ({"currency": ""}, "currency", "Required."),
        ({"currency": "USD"}, "currency", "Unknown currency"),
        ({"language": "de"}, "language", "Unknown language"),
        ({"vat_id": "NO 974 760 674 MVA"}, "vat_id", "Not a valid NO VAT id"),
        ({"country": "US", "vat_id": "123"}, "vat_id", "cannot be checked"),
        ({"org_number": "974760674"}, "org_number", "Not a valid NO organisation number"),
        ({"postal_code": "1" * 21}, "postal_code", "Too long"),
        ({"delivery_country": "Norway"}, "delivery_country", "Unknown country"),
        ({"payment_terms_days": "366"}, "payment_terms_days", "from 0 to 365"),
        ({"payment_terms_days": "-1"}, "payment_terms_days", "from 0 to 365"),
        ({"payment_terms_days": "14.5"}, "payment_terms_days", "whole number"),
        ({"discount_percent": "100.01"}, "discount_percent", "Must be at most 100."),
        ({"discount_percent": "-1"}, "discount_percent", "Must be at least 0."),
        ({"discount_percent": "1.234"}, "discount_percent", "at most 2 decimals"),
        ({"discount_percent": "1e2"}, "discount_percent", "Not a number"),
        ({"discount_percent": "NaN"}, "discount_percent", "Not a number"),
        ({"discount_percent": "1 000"}, "discount_percent", "Not a number"),
        ({"delivery_preference": "fax"}, "delivery_preference",
         "Unknown delivery preference: use one of both, email, post."),
        ({"number": "500"}, "number", "Customer number 500 already exists."),
        ({"number": "0"}, "number", "whole number from 1"),
        ({"number": "10001a"}, "number", "whole number"),
        ({"number": "99999999999"}, "number", "whole number"),
        ({"contact_name": "Ann", "contact_email": "ann@"}, "contact_email",
         "Not a valid e-mail address"),
        ({"contact_email": "ann@example.com"}, "contact_name", "Required."),
        ({"contact_name": "Ann", "contact_receives_invoices": "maybe"},
         "contact_receives_invoices", "Use yes or no"),
        ({"contact_name": "Ann", "contact_receives_invoices": "yes"},
         "contact_receives_invoices", "Invoices go by e-mail"),
        ({"contact_name": "Ann", "contact_portal_access": "1"}, "contact_portal_access",
         "Portal links go by e-mail"),
        ({"site_code": "A1"}, "site_name", "Required."),
        ({"site_name": "Main gate"}, "site_code", "Required."),
        ({"site_code": "TAKEN", "site_name": "Main"}, "site_code",
         "Site code TAKEN already exists."),
        ({"site_code": "A1", "site_name": "Main", "site_country": "XX"}, "site_country",
         "Unknown country"),
        ({"site_code": "A" * 41, "site_name": "Main"}, "site_code", "Too long"),
    ],
)
def test_each_customer_rule_names_the_line_the_column_and_the_reason(cells, column, message):
    parsed = customers({**CUSTOMER, **cells})
    assert faults(parsed) == [(2, column)]
    assert message in parsed.errors[0].message
    assert parsed.errors[0].value == {**CUSTOMER, **cells}.get(column, "")


@pytest.mark.parametrize(
    ("cells", "field", "expected"),
    [
        ({"country": "no"}, "country", "NO"),
        ({"currency": "eur"}, "currency", "EUR"),
        ({"language": "NB"}, "language", "nb"),
        ({}, "language", "en"),
        ({"vat_id": "974760673MVA"}, "vat_id", "NO974760673MVA"),
        ({"country": "PL", "vat_id": "PL 526-025-02-74"}, "vat_id", "PL5260250274"),
        ({"org_number": "974 760 673"}, "org_number", "974760673"),
        ({"country": "US", "org_number": "12-3456789"}, "org_number", "12-3456789"),
        ({}, "payment_terms_days", 14),
        ({"payment_terms_days": "0"}, "payment_terms_days", 0),
        ({"payment_terms_days": "365"}, "payment_terms_days", 365),
        ({}, "discount_percent", Decimal("0")),
        ({"discount_percent": "100"}, "discount_percent", Decimal("100")),
        ({"discount_percent": "7.25"}, "discount_percent", Decimal("7.25")),
        ({}, "delivery_preference", "email"),
        ({"delivery_preference": "POST"}, "delivery_preference", "post"),
        ({"category": "Public sector"}, "category", "Public sector"),
        ({"delivery_country": "se"}, "delivery_country", "SE"),
    ],
)
def test_customer_values_are_normalised(cells, field, expected):
    parsed = customers({**CUSTOMER, **cells})
    assert parsed.ok, parsed.errors
    value = parsed.records[0].values[field]
    assert (value, type(value)) == (expected, type(expected))


@pytest.mark.parametrize(
    ("written", "expected"),
    [("yes", True), ("YES", True), ("true", True), ("1", True),
     ("no", False), ("false", False), ("0", False), ("", False)],
)
def test_booleans_are_yes_no_true_false_1_0(written, expected):
    parsed = customers({**CUSTOMER, "contact_name": "Ann", "contact_email": "ann@example.com",
                        "contact_receives_invoices": written})
    assert parsed.records[0].contacts[0]["receives_invoices"] is expected


def test_contact_emails_are_normalised_to_lower_case():
    parsed = customers({**CUSTOMER, "contact_name": "Ann", "contact_email": "Ann@Example.COM"})
    assert parsed.records[0].contacts == [{
        "name": "Ann", "email": "ann@example.com", "phone": "",
        "receives_invoices": False, "portal_access": False,
    }]


def test_a_yes_flag_alone_makes_a_contact_that_needs_a_name_and_an_email():
    parsed = customers({**CUSTOMER, "contact_portal_access": "true"})
    assert faults(parsed) == [(2, "contact_name"), (2, "contact_portal_access")]


def test_a_row_without_contact_or_site_columns_gives_neither():
    parsed = customers({**CUSTOMER, "contact_receives_invoices": "no", "site_city": ""})
    assert (parsed.records[0].contacts, parsed.records[0].sites) == ([], [])


# --- customers: continuation rows ----------------------------------------------------------


def test_rows_repeating_the_number_add_contacts_and_sites_to_that_customer():
    parsed = customers(
        {"number": "10", **CUSTOMER, "contact_name": "Ann", "site_code": "A1",
         "site_name": "Gate"},
        {"number": "10", "contact_name": "Bob", "contact_phone": "+47 22 22 22 22"},
        {"number": "10", "site_code": "A2", "site_name": "Yard", "site_city": "Bergen"},
        {"number": "11", **CUSTOMER, "name": "Second AS"},
    )
    assert parsed.ok, parsed.errors
    first, second = parsed.records
    assert (first.number, first.line, second.number) == (10, 2, 11)
    assert [c["name"] for c in first.contacts] == ["Ann", "Bob"]
    assert [(s["code"], s["city"]) for s in first.sites] == [("A1", ""), ("A2", "Bergen")]
    assert len(parsed.rows) == 4


def test_rows_without_number_and_name_continue_the_customer_above():
    parsed = customers(
        {"number": "", **CUSTOMER, "contact_name": "Ann"},
        {"number": "", "name": "", "contact_name": "Bob"},
        {"number": "", **CUSTOMER, "name": "Next AS"},
    )
    assert parsed.ok, parsed.errors
    assert [(r.number, [c["name"] for c in r.contacts]) for r in parsed.records] == [
        (None, ["Ann", "Bob"]), (None, []),
    ]


def test_continuation_rows_may_repeat_the_customer_columns_unchanged():
    row = {"number": "10", **CUSTOMER, "city": "Oslo"}
    parsed = customers({**row, "contact_name": "Ann"}, {**row, "contact_name": "Bob"})
    assert parsed.ok, parsed.errors
    assert len(parsed.records) == 1 and len(parsed.records[0].contacts) == 2


@pytest.mark.parametrize(
    ("second_row", "column", "message"),
    [
        ({"number": "10", "city": "Bergen", "contact_name": "Bob"}, "city",
         "adds to customer 10 (line 2)"),
        ({"number": "10"}, "number", "repeats customer 10 but has no contact or site"),
        ({"number": "10", "site_code": "A1", "site_name": "Again"}, "site_code",
         "Site code A1 is already used on line 2."),
    ],
)
def test_continuation_rows_are_checked(second_row, column, message):
    first = {"number": "10", **CUSTOMER, "city": "Oslo", "site_code": "A1", "site_name": "Gate"}
    parsed = customers(first, second_row)
    assert faults(parsed) == [(3, column)]
    assert message in parsed.errors[0].message


def test_a_number_used_again_further_down_is_a_duplicate():
    parsed = customers({"number": "10", **CUSTOMER}, {"number": "11", **CUSTOMER},
                       {"number": "10", **CUSTOMER})
    assert faults(parsed) == [(4, "number")]
    assert parsed.errors[0].message == "Customer number 10 is already used on line 2."


def test_a_first_row_without_number_and_name_is_not_a_continuation():
    parsed = customers({"number": "", **CUSTOMER, "name": "", "contact_name": "Ann"})
    assert faults(parsed) == [(2, "name")]


# --- products ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cells", "column", "message"),
    [
        ({"sku": ""}, "sku", "Required."),
        ({"sku": "OLD-1"}, "sku", "SKU OLD-1 already exists."),
        ({"name": ""}, "name", "Required."),
        ({"vat_code": ""}, "vat_code", "Required."),
        ({"vat_code": "X9"}, "vat_code", "VAT code X9 is not in your VAT rate table."),
        ({"vat_code": "OLD"}, "vat_code", "VAT code OLD is archived."),
        ({"base_price": ""}, "base_price", "Required."),
        ({"base_price": "-1"}, "base_price", "Must be at least 0."),
        ({"base_price": "1.23456"}, "base_price", "at most 4 decimals"),
        ({"base_price": "12 kr"}, "base_price", "Not a number"),
        ({"base_price": "1" * 15}, "base_price", "Must be at most"),
        ({"currency": "XYZ"}, "currency", "Unknown currency"),
        ({"cost_price": "-0.01"}, "cost_price", "Must be at least 0."),
        ({"quantity_increment": "0"}, "quantity_increment", "Must be more than 0."),
        ({"minimum_quantity": "-1"}, "minimum_quantity", "Must be at least 0."),
        ({"unit": "x" * 21}, "unit", "Too long"),
    ],
)
def test_each_product_rule_names_the_line_the_column_and_the_reason(cells, column, message):
    parsed = products({**PRODUCT, **cells})
    assert faults(parsed) == [(2, column)]
    assert message in parsed.errors[0].message


def test_product_values_are_exact_decimals_with_defaults():
    parsed = products({**PRODUCT, "vat_code": "s25", "base_price": "1234.5678",
                       "cost_price": "", "quantity_increment": "0.25", "category": "Guards"})
    assert parsed.ok, parsed.errors
    values = parsed.records[0].values
    assert values == {
        "sku": "GUARD-H", "name": "Guarding", "description": "", "unit": "pcs",
        "category": "Guards", "vat_code": "S25", "base_price": Decimal("1234.5678"),
        "currency": "NOK", "cost_price": None, "quantity_increment": Decimal("0.25"),
        "minimum_quantity": None,
    }


def test_a_sku_twice_in_the_file_is_named_with_the_first_line():
    parsed = products(PRODUCT, {**PRODUCT, "name": "Other"})
    assert faults(parsed) == [(3, "sku")]
    assert parsed.errors[0].message == "SKU GUARD-H is already used on line 2."


# --- writing -------------------------------------------------------------------------------


def test_the_error_report_lists_line_column_value_and_message():
    parsed = customers({**CUSTOMER, "country": "XX"})
    assert "".join(formats.error_report(parsed.errors)) == (
        "line,column,value,message\r\n"
        '2,country,XX,"Unknown country: use one of NO, PL, SE, US."\r\n'
    )


@pytest.mark.parametrize(
    ("value", "min_places", "written"),
    [(Decimal("100.0000"), 2, "100.00"), (Decimal("12.5000"), 0, "12.5"),
     (Decimal("0.2500"), 0, "0.25"), (Decimal("100"), 2, "100.00"), (Decimal("3"), 0, "3"),
     (Decimal("1E+3"), 0, "1000"), (None, 2, "")],
)
def test_decimals_are_written_plainly(value, min_places, written):
    assert formats.plain_decimal(value, min_places) == written


def test_written_lines_quote_what_needs_quoting():
    assert formats.csv_line(["a,b", 'say "hi"', 1, ""]) == '"a,b","say ""hi""",1,\r\n'


SAMPLES = Path(__file__).resolve().parent.parent / "samples"


@pytest.mark.parametrize(
    ("kind", "records", "contacts", "sites"),
    [(Kind.CUSTOMERS, 2, 3, 3), (Kind.PRODUCTS, 2, 0, 0)],
)
def test_the_sample_files_read_cleanly(kind, records, contacts, sites):
    parsed = formats.parse(kind, (SAMPLES / f"{kind.value}.csv").read_bytes(), REFERENCE)
    assert parsed.ok, (parsed.problem, parsed.errors)
    assert len(parsed.records) == records
    if kind is Kind.CUSTOMERS:
        assert (parsed.count("contacts"), parsed.count("sites")) == (contacts, sites)
