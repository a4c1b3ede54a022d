"""Property tests: whatever a file holds, the import parsers answer with a result or their
own clear error, never a crash (issue 13). Hostile XML is refused without expanding it."""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from saas.billing.imports import formats
from saas.billing.imports.formats import Kind
from saas.billing.payments import statements
from saas.billing.payments.statements import CsvLayout, StatementParseError

SAMPLES = Path(__file__).resolve().parent.parent / "samples" / "bank"
CAMT = sorted((SAMPLES / "camt053").glob("*.xml"))
MT940 = sorted((SAMPLES / "mt940").iterdir())
REFERENCE = formats.Reference(
    countries=frozenset({"NO", "PL"}), currencies=frozenset({"NOK", "PLN"}),
    languages=frozenset({"en", "pl"}), vat_codes=frozenset({"S25"}))
LAYOUT = CsvLayout(columns={"booked_on": "Dato", "amount": "Beløp", "text": "Tekst"})
FUZZ = settings(max_examples=100, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def statements_or_refusal(data: bytes, **options) -> None:
    """Parse; a refusal must be the parser's own error with a message a person can read."""
    try:
        parsed = statements.parse(data, **options)
    except StatementParseError as exc:
        assert str(exc).strip()
        return
    for statement in parsed:
        for line in statement.lines:
            assert isinstance(line.amount, Decimal)


@FUZZ
@given(st.binary(max_size=4096))
def test_any_bytes_are_a_statement_or_a_clear_refusal(data):
    statements_or_refusal(data)


@FUZZ
@given(st.sampled_from(CAMT + MT940), st.data())
def test_damaged_real_statements_are_read_or_refused_clearly(sample, data):
    original = sample.read_bytes()
    start = data.draw(st.integers(0, len(original) - 1))
    end = data.draw(st.integers(start, min(len(original), start + 200)))
    patch = data.draw(st.binary(max_size=40))
    statements_or_refusal(original[:start] + patch + original[end:])


@FUZZ
@given(st.lists(st.lists(st.text(max_size=20), min_size=3, max_size=3), max_size=30))
def test_any_csv_statement_is_read_or_refused_clearly(rows):
    text = "Dato;Beløp;Tekst\n" + "\n".join(";".join(row) for row in rows)
    statements_or_refusal(text.encode("utf-8", "surrogatepass"), fmt="csv", layout=LAYOUT)


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>
<Stmt><Id>&lol9;</Id></Stmt></BkToCstmrStmt></Document>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE d [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>
<Stmt><Id>&secret;</Id></Stmt></BkToCstmrStmt></Document>"""


@pytest.mark.parametrize("hostile", [BILLION_LAUGHS, EXTERNAL_ENTITY],
                         ids=["entity-expansion", "external-entity"])
def test_hostile_xml_is_refused_without_being_expanded(hostile):
    started = time.perf_counter()
    with pytest.raises(StatementParseError) as refused:
        statements.parse(hostile)
    assert time.perf_counter() - started < 2
    assert "root:" not in str(refused.value)  # nothing of the file system read
    assert "lollollol" not in str(refused.value)


@FUZZ
@given(st.sampled_from(list(Kind)), st.binary(max_size=4096))
def test_any_bytes_are_an_import_or_a_clear_problem(kind, data):
    parsed = formats.parse(kind, data, REFERENCE)
    assert parsed.problem or parsed.records is not None


CELL = st.one_of(st.text(max_size=30), st.sampled_from(
    ["NO", "PL", "NOK", "1 234,50", "-5", "1e9", "S25", "yes", "2026-02-30", '"', ";", ""]))


@FUZZ
@given(st.sampled_from(list(Kind)), st.data())
def test_any_rows_under_a_right_header_are_checked_row_by_row(kind, data):
    columns = list(formats.COLUMNS[kind])
    rows = data.draw(st.lists(st.lists(CELL, min_size=len(columns), max_size=len(columns)),
                              max_size=15))
    delimiter = data.draw(st.sampled_from([",", ";"]))
    text = "\n".join(delimiter.join(f'"{cell.replace(chr(34), chr(34) * 2)}"' for cell in row)
                     for row in [columns, *rows])
    parsed = formats.parse_text(kind, text, REFERENCE)
    if parsed.problem:
        assert parsed.problem.strip()
        return
    for error in parsed.errors:  # every refusal names its line and says what is wrong
        assert error.line >= 2 and str(error.message).strip()
