"""The accountant export's pure parts: the period, member names, the CSVs and the README."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest

from saas.billing.exports import tables
from saas.billing.exports.periods import ExportError, check_period, last_month

D = Decimal


@pytest.mark.parametrize(("today", "expected"), [
    (date(2026, 11, 30), (date(2026, 10, 1), date(2026, 10, 31))),
    (date(2026, 1, 1), (date(2025, 12, 1), date(2025, 12, 31))),
    (date(2024, 3, 15), (date(2024, 2, 1), date(2024, 2, 29))),
])
def test_last_month_is_the_month_before_todays(today, expected):
    assert last_month(today) == expected


@pytest.mark.parametrize(("date_from", "date_to", "message"), [
    (date(2026, 10, 31), date(2026, 10, 1), "starts (2026-10-31) after it ends (2026-10-01)"),
    (date(2021, 1, 1), date(2026, 1, 1), "at most 5 years"),
    (date(2024, 2, 29), date(2029, 2, 28), "at most 5 years"),
    (None, date(2026, 1, 1), "Give the first and the last day"),
])
def test_a_bad_period_is_refused_saying_why(date_from, date_to, message):
    with pytest.raises(ExportError) as refused:
        check_period(date_from, date_to)
    assert message in str(refused.value)


@pytest.mark.parametrize(("date_from", "date_to"), [
    (date(2026, 10, 1), date(2026, 10, 1)), (date(2021, 1, 1), date(2025, 12, 31)),
    (date(2024, 2, 29), date(2029, 2, 27))])
def test_a_period_up_to_five_years_is_accepted(date_from, date_to):
    assert check_period(date_from, date_to) == (date_from, date_to)


@pytest.mark.parametrize(("number", "name"), [
    ("INV-2026-00001", "INV-2026-00001"), ("FV/2026/11/7", "FV-2026-11-7"),
    ("../../etc", "..-..-etc"), ("", "document")])
def test_a_document_number_becomes_a_safe_member_name(number, name):
    assert tables.safe_name(number) == name
    assert tables.pdf_member("invoice", number) == f"pdf/invoice/{name}.pdf"


def _row(**overrides) -> tables.DocumentRow:
    values = dict(
        number="CN-2026-0001", kind="credit_note", issue_date=date(2026, 10, 25),
        delivery_date=None, due_date=None, customer_number=10001, customer="=SUM(A1)",
        customer_vat_id="NO987654325MVA", currency="NOK", net=D("-999.99"),
        vat=D("-250.00"), gross=D("-1249.99"), status="issued", paid=D("-1249.99"),
        exchange_rate=D("1.000000"), source="INV-2026-00001", pdf_name="pdf/x.pdf",
        pdf_sha256="ab" * 32, ubl_name="ubl/x.xml",
        vat_lines=(tables.VatLine(code="S25", category="standard", rate=D("25.00"),
                                  net=D("-999.99"), vat=D("-250.00")),))
    values.update(overrides)
    return tables.DocumentRow(**values)


def test_amounts_stay_numbers_and_text_is_made_inert():
    out = io.StringIO()
    tables.write_documents_csv(out, [_row()])
    [row] = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert (row["net"], row["VAT"], row["gross"], row["paid"], row["outstanding"]) == (
        "-999.99", "-250.00", "-1249.99", "-1249.99", "0.00")
    assert row["customer"] == "'=SUM(A1)" and row["exchange rate"] == "1"


def test_a_quote_has_no_paid_or_outstanding_amount():
    out = io.StringIO()
    tables.write_documents_csv(out, [_row(kind="quote", net=D(10), vat=D(0), gross=D(10))])
    [row] = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert (row["paid"], row["outstanding"]) == ("", "")


def test_the_vat_csv_has_a_row_per_rate():
    out = io.StringIO()
    tables.write_vat_csv(out, [_row()])
    assert list(csv.DictReader(io.StringIO(out.getvalue()))) == [
        {"number": "CN-2026-0001", "kind": "credit_note", "currency": "NOK",
         "VAT code": "S25", "VAT category": "standard", "rate": "25.00", "net": "-999.99",
         "VAT": "-250.00"}]


def test_the_readme_counts_the_kinds_and_names_documents_without_a_pdf():
    text = tables.readme("Nordlys AS", date(2026, 10, 1), date(2026, 10, 31),
                         {"invoice": 3, "quote": 1}, ["INV-2026-00009"])
    assert "3 invoice, 0 credit_note, 0 proforma, 0 order, 1 quote" in text
    assert "No stored PDF yet (listed in documents.csv without a pdf): INV-2026-00009" in text
