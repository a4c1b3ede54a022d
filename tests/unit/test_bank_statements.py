"""Bank statement files: every sample of camt.053 and MT940, CSV by mappings, broken files
named with their line or element; no app, no database."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from saas.billing.payments.statements import (
    CsvLayout,
    ParsedLine,
    StatementParseError,
    detect_format,
    parse,
)
from saas.billing.payments.statements.camt053_writer import build_camt053

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "tests" / "samples" / "bank"
D = Decimal


def sample(name: str) -> bytes:
    folder = "camt053" if name.endswith(".xml") else "mt940"
    return (SAMPLES / folder / name).read_bytes()


def amounts(statement) -> list[str]:
    return [str(line.amount) for line in statement.lines]


def test_every_sample_is_found_and_read():
    names = sorted(p.name for p in (SAMPLES / "camt053").iterdir()) + sorted(
        p.name for p in (SAMPLES / "mt940").iterdir())
    assert len(names) == 11
    for name in names:
        statements = parse(sample(name))
        assert statements and all(s.account and s.currency for s in statements), name


# --- camt.053 ----------------------------------------------------------------------------


def test_the_finnish_sample_splits_batches_and_keeps_scor_and_the_invalid_rf():
    [statement] = parse(sample("fi-fffs-camt053.001.02-rf-scor.xml"))
    assert (statement.account, statement.currency, statement.statement_ref) == (
        "FI7433010001222090", "EUR", "BANKSTMTID0972009")
    assert (statement.opening_balance, statement.closing_balance) == (D("10000.00"),
                                                                     D("23644.83"))
    assert statement.from_date == statement.to_date == date(2009, 10, 29)
    # 10 entries: the batch of three transactions and the two charges become lines each.
    assert amounts(statement) == ["-1000.12", "-4000.00", "-2000.02", "-1000.01", "-1230.02",
                                  "2000.00", "500.00", "3000.00", "2120.00", "5455.00",
                                  "10000.00", "-100.00", "-100.00"]
    assert statement.warnings == ()  # the balances add up
    scor = statement.lines[2]
    assert (scor.structured_reference, scor.counterparty_name, scor.counterparty_account,
            scor.bank_reference) == ("3900", "Creditor Company", "29501800020582",
                                     "091029ARCH03001")
    assert statement.lines[3].remittance_text == "Invoices 123 and 321"
    assert statement.lines[4].remittance_text == "217827182718"  # a referred invoice number
    international = statement.lines[8]
    assert (international.counterparty_name, international.remittance_text,
            international.value_date) == ("DEBTOR NAME", "INVOICE US20291092",
                                          date(2009, 10, 30))
    assert [(line.amount, line.structured_reference, line.counterparty_name)
            for line in statement.lines[9:11]] == [
        (D("5455.00"), "RF98123456789012", "PAYERS NAME2"),
        (D("10000.00"), "RF98123456789012", "DEBTOR")]


def test_the_swiss_sample_reads_additional_entry_information_with_umlauts():
    [statement] = parse(sample("ch-postfinance-camt053.001.04.xml"))
    assert (statement.account, statement.currency) == ("CH2909000000250094239", "CHF")
    assert amounts(statement) == ["4.50", "-77.70", "1500.00", "1537.00", "1692.22"]
    assert statement.lines[2].remittance_text.startswith("SAMMELGUTSCHRIFT FÜR KONTO:")
    assert statement.lines[3].bank_reference == "07582000303KBMSU"
    # The test account's closing balance does not follow from its lines: said, not refused.
    assert statement.warnings and "do not add up" in statement.warnings[0]


def test_the_lithuanian_sample_has_available_balances_and_utf8_text():
    [statement] = parse(sample("lt-siauliu-bankas-camt053.001.02.xml"))
    assert (statement.opening_balance, statement.closing_balance) == (D("2768.08"), D("0.00"))
    assert amounts(statement) == ["-1.64", "-2734.58", "-30.16", "-1.7"]
    assert statement.lines[0].counterparty_name == 'UAB "TESTAVIMAS"'
    assert "įskaitymą" in statement.lines[0].remittance_text
    assert statement.lines[2].counterparty_name == "Antstolis Vardenis Pavardenis"


def test_two_stmt_elements_are_two_statements():
    first, second = parse(sample("nl-genkgo-camt053.001.02-multi-statement.xml"))
    assert (first.statement_ref, second.statement_ref) == ("253EURNL26VAYB8060476890",
                                                           "254EURNL26VAYB8060476890")
    assert first.account == second.account == "NL26VAYB8060476890"
    assert (amounts(first), amounts(second)) == (["8.85"], ["-7.00"])
    assert (second.lines[0].counterparty_name, second.lines[0].counterparty_account) == (
        "Company Name 2", "NL56AGDH9619008421")
    assert first.lines[0].remittance_text == "Transaction Description 1"


def test_version_008_reads_other_account_ids_party_names_and_booking_times():
    [statement] = parse(sample("nl-genkgo-camt053.001.08.xml"))
    [line] = statement.lines
    assert (statement.account, statement.currency) == ("NL26VAYB8060476890", "EUR")
    assert statement.closing_balance is None  # given in SEK only: not the statement's
    assert (line.amount, line.booked_on, line.counterparty_name, line.counterparty_account,
            line.structured_reference, line.bank_reference) == (
        D("8.85"), date(2014, 12, 31), "NAME NAME", "NL56AGDH9619008421", "4654654654654654",
        "AAAASESS-FP-CN_98765/01")


# --- MT940 -------------------------------------------------------------------------------


def test_abn_amro_with_plain_headers_and_a_blank_line_is_two_statements():
    first, second = parse(sample("abnamro-nl.sta"))
    assert first.account == "517852257" and len(first.lines) == 8 and len(second.lines) == 2
    assert (first.opening_balance, first.closing_balance) == (D("3236.28"), D("876.84"))
    assert first.statement_ref == "ABN AMRO BANK NV 19321/1 2011-05-23"
    assert "BETREFT FACTUUR D.D. 20-05-2011" in first.lines[0].remittance_text
    assert amounts(second) == ["-9.49", "-15"]


def test_asn_swift_blocks_give_31_daily_statements_with_iban_and_name_read():
    statements = parse(sample("asn-bank-nl-swift-blocks.txt"))
    assert len(statements) == 31 and sum(len(s.lines) for s in statements) == 8
    assert {s.account for s in statements} == {"NL81ASNB9999999999"}
    assert statements[0].statement_ref == "0000000000 1/1 2020-01-01"
    line = statements[0].lines[0]
    assert (line.amount, line.counterparty_account, line.counterparty_name,
            line.remittance_text) == (D("-65.00"), "NL47INGB9999999999", "hr gjlm paulissen",
                                      "Betaling sieraden")


def test_german_sepa_subfields_give_name_iban_and_purpose():
    first, second = parse(sample("german-sepa-snippet.sta"))
    assert first.account == "50880050/0194787400888"
    assert amounts(first) == ["50990.05", "154551.93", "154551.93", "-1500.00"]
    line = first.lines[0]
    assert (line.counterparty_name, line.counterparty_account, line.remittance_text,
            line.bank_reference) == ("KARL KAUFMANN", "DE14508800500194785000",
                                     "Verw CTSc-01 BC-PPP TFNr 22 004", "0724710333343453")
    assert second.opening_balance == D("-1970431.87") and len(second.lines) == 7


def test_ing_tabs_and_soft_hyphens_are_spaces_and_the_totals_are_no_transaction():
    [statement] = parse(sample("ing-nl.sta"))
    assert amounts(statement) == ["-25.03", "-3.03", "-1.11", "-20.00", "-1.10", "3.68", "1.00"]
    assert statement.lines[1].remittance_text == ("0111111111 GPSEOUL SPOEDBETALING"
                                                  " MPBZS1016000047 GPSEOUL")
    assert "D000004C000002" not in statement.lines[-1].remittance_text


def test_mbank_between_soh_and_etx_reads_the_polish_fields():
    [statement] = parse(sample("mbank-pl.sta"))
    assert (statement.account, statement.currency) == ("PL29114010810000267002001002", "PLN")
    assert [(line.amount, line.counterparty_name, line.counterparty_account,
             line.remittance_text) for line in statement.lines] == [
        (D("0.01"), "JAN NOWAK", "56114010810000267002001001", "PRZELEW SRODKOW")] * 3
    assert [line.bank_reference for line in statement.lines] == [
        "MB170119012058", "MB170119012085", "MB170119012121"]


def test_rabobank_structured_details_and_the_iban_on_the_continuation_line():
    first, second = parse(sample("rabobank-nl-iban.sta"))
    assert first.account == "NL71RABO0123456789"
    assert [(line.counterparty_name, line.counterparty_account, line.remittance_text)
            for line in first.lines] == [
        ("CONTRA ACCOUNT HOLDER", "NL70ABNA0987654321", ""),
        ("JOHN DOE", "", "Reference 201301234")]
    assert second.closing_balance == D("930.00")


@pytest.mark.parametrize("name, fmt", [
    ("fi-fffs-camt053.001.02-rf-scor.xml", "camt053"), ("nl-genkgo-camt053.001.08.xml",
                                                         "camt053"),
    ("mbank-pl.sta", "mt940"), ("asn-bank-nl-swift-blocks.txt", "mt940"),
    ("rabobank-nl-iban.sta", "mt940"), ("ing-nl.sta", "mt940")])
def test_the_format_is_detected_from_the_content(name, fmt):
    assert detect_format(sample(name)) == fmt


# --- broken and unsupported files ---------------------------------------------------------


FINNISH = sample("fi-fffs-camt053.001.02-rf-scor.xml").decode()


@pytest.mark.parametrize("data, fmt, message", [
    (b"", None, "The file is empty."),
    (b"<Document><BkToCstmrStmt><Stmt>", "camt053", "Line 1: The XML is not well-formed"),
    (b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"><CstmrCdtTrfInitn/>'
     b"</Document>", "camt053", "a pain.001 payment order, not a camt.053"),
    (b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.02"/>', "camt053",
     "a camt.054 debit/credit notification"),
    (b"<invoice/>", "camt053", "not an ISO 20022 camt.053 <Document>"),
    (FINNISH.replace("<Amt Ccy=\"EUR\">2000.00</Amt>", "<Amt Ccy=\"EUR\">2.000,00</Amt>", 1)
     .encode(), "camt053", "Line 477, Document/BkToCstmrStmt/Stmt/Ntry[4]/Amt: '2.000,00' is"
                           " not an amount"),
    (FINNISH.replace("<CdtDbtInd>CRDT</CdtDbtInd>\n\t\t\t\t<Sts>", "<CdtDbtInd>CRED"
                     "</CdtDbtInd>\n\t\t\t\t<Sts>", 1).encode(), "camt053",
     "Ntry[4]/CdtDbtInd: the credit/debit indicator is 'CRED'"),
    (FINNISH.replace("<Id>FI7433010001222090</Id>", "").replace(
        "<IBAN>FI7433010001222090</IBAN>", "").encode(), "camt053",
     "Document/BkToCstmrStmt/Stmt: the statement names no account"),
    (b"hello;world\n1;2\n", None, "neither a camt.053 (XML) nor an MT940"),
])
def test_a_broken_or_unsupported_file_is_refused_naming_the_problem_and_where(data, fmt,
                                                                             message):
    with pytest.raises(StatementParseError) as refused:
        parse(data, fmt)
    assert message in str(refused.value)


def test_a_broken_mt940_statement_line_is_named_with_its_line_number():
    broken = sample("rabobank-nl-iban.sta").replace(b":61:130102D000000000010,00N154NONREF",
                                                    b":61:1301XXD10,00N154NONREF")
    with pytest.raises(StatementParseError) as refused:
        parse(broken)
    assert str(refused.value).startswith("Line 10: the :61: field '1301XXD10,00N154NONREF'")


def test_an_mt940_statement_without_its_closing_balance_is_refused_at_its_start():
    broken = sample("mbank-pl.sta").replace(b":62F:C170119PLN0,43\r\n", b"").replace(
        b":62F:C170119PLN0,43\n", b"")
    with pytest.raises(StatementParseError, match=r"^Line 2: the statement needs an opening"):
        parse(broken)


# --- CSV by a saved mapping ---------------------------------------------------------------


NORWEGIAN = CsvLayout(columns={"booked_on": "Dato", "amount": "Beløp", "text": "Tekst",
                               "counterparty_name": "Fra", "reference": "KID"},
                      account="NO9386011117947", currency="NOK")
NORWEGIAN_CSV = ("Dato;Tekst;Fra;KID;Beløp\n"
                 "02.11.2026;Faktura INV-2026-00001;Fjord Bakeri AS;;1.250,50\n"
                 "03.11.2026;Innbetaling;Kari Nordmann;12345678903;-99,00\n"
                 ";;;;\n")


def test_a_csv_file_is_read_by_header_names_with_decimal_commas():
    [statement] = parse(NORWEGIAN_CSV.encode(), "csv", NORWEGIAN)
    assert (statement.account, statement.currency, statement.from_date, statement.to_date) == (
        "NO9386011117947", "NOK", date(2026, 11, 2), date(2026, 11, 3))
    assert [(line.amount, line.counterparty_name, line.structured_reference,
             line.remittance_text, line.source_line) for line in statement.lines] == [
        (D("1250.50"), "Fjord Bakeri AS", "", "Faktura INV-2026-00001", 2),
        (D("-99.00"), "Kari Nordmann", "12345678903", "Innbetaling", 3)]


def test_a_csv_file_by_column_numbers_with_credit_and_debit_columns_in_cp1252():
    layout = CsvLayout(columns={"booked_on": 1, "credit": "3", "debit": 4, "text": 2},
                       delimiter=",", decimal_comma=False, date_format="%Y-%m-%d",
                       encoding="cp1252", header_rows=2, currency="EUR")
    data = ("Konto 123\nDate,Text,In,Out\n2026-11-02,Bäckerei Müller,\"1,234.50\",\n"
            "2026-11-03,Gebühr,,12.00\n").encode("cp1252")
    [statement] = parse(data, "csv", layout)
    assert [(line.amount, line.remittance_text) for line in statement.lines] == [
        (D("1234.50"), "Bäckerei Müller"), (D("-12.00"), "Gebühr")]


@pytest.mark.parametrize("data, layout, message", [
    (NORWEGIAN_CSV.replace("1.250,50", "1.250,5x"), NORWEGIAN,
     "Line 2: amount (signed) '1.250,5x' is not an amount (the mapping says a decimal comma)"),
    (NORWEGIAN_CSV.replace("03.11.2026", "2026-11-03"), NORWEGIAN,
     "Line 3: booking date '2026-11-03' is not a date in the format DD.MM.YYYY"),
    (NORWEGIAN_CSV.replace("Beløp", "Sum"), NORWEGIAN,
     "Line 1: the column 'Beløp' (Amount (signed)) is not in the header row. Its columns:"
     " Dato, Tekst, Fra, KID, Sum."),
    (NORWEGIAN_CSV.replace(";", ","), NORWEGIAN,
     "Line 1: the column 'Dato' (Booking date) is not in the header row. Its columns:"
     " Dato,Tekst,Fra,KID,Beløp. Is the delimiter right?"),
    ("Dato;Beløp\n", CsvLayout(columns={"booked_on": "Dato", "amount": "Beløp"}),
     "The file has no transaction rows after its 1 header row(s)."),
    ("02.11.2026\n", CsvLayout(columns={"booked_on": 1, "amount": 2}, header_rows=0,
                               currency="NOK"),
     "Line 1: the row has 1 columns; the mapping reads column 2 (Amount (signed))"),
    ("x", CsvLayout(columns={"amount": 1}), "no column for the booking date"),
])
def test_a_csv_file_that_does_not_fit_its_mapping_names_the_line(data, layout, message):
    with pytest.raises(StatementParseError) as refused:
        parse(data.encode(), "csv", layout)
    assert message in str(refused.value)


def test_a_csv_file_in_another_encoding_than_the_mapping_says_is_refused():
    data = "Dato;Tekst;Fra;KID;Beløp\n02.11.2026;Ærlig;x;;1,00\n".encode("cp1252")
    with pytest.raises(StatementParseError, match="the file is not utf-8 text"):
        parse(data, "csv", NORWEGIAN)


def test_a_csv_file_needs_a_mapping():
    with pytest.raises(StatementParseError, match="needs the bank account's column mapping"):
        parse(NORWEGIAN_CSV.encode(), "csv")


# --- the writer ---------------------------------------------------------------------------


def test_a_written_camt053_reads_back_as_written():
    lines = [ParsedLine(date(2026, 11, 2), D("1250.50"), "NOK", value_date=date(2026, 11, 3),
                        counterparty_name="Fjord Bakeri AS",
                        counterparty_account="NO9386011117947",
                        structured_reference="12345678903", remittance_text="Faktura 1",
                        bank_reference="B-1"),
             ParsedLine(date(2026, 11, 4), D("-25.00"), "NOK", value_date=date(2026, 11, 4),
                        counterparty_name="Bank", remittance_text="Gebyr",
                        bank_reference="B-2")]
    [statement] = parse(build_camt053(lines, account="NO9386011117947", currency="NOK",
                                      statement_id="S-1", opening_balance=D("100.00")))
    assert [line.__class__(**{**vars(line), "source_line": None}) for line in statement.lines
            ] == lines
    assert (statement.opening_balance, statement.closing_balance, statement.warnings) == (
        D("100.00"), D("1325.50"), ())
