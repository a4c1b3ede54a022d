"""CSV bank statements read by a bank account's saved column mapping (pure).

Banks' CSV exports differ in everything: the delimiter, the decimal mark, the date
format, the encoding, how many header rows, which columns hold what. A ``CsvLayout``
(from the account's ``BankCsvMapping``) says all of it; columns are named by their
header or by their 1-based number. Amounts come as one signed column or as separate
credit and debit columns. A CSV file has no statement identification or balances: one
statement of the account, from the first to the last booking date.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime
from decimal import Decimal

from saas.billing.payments.statements import (
    CsvLayout,
    ParsedLine,
    ParsedStatement,
    StatementParseError,
    collapse,
)

FIELDS = {
    "booked_on": "Booking date", "value_date": "Value date", "amount": "Amount (signed)",
    "credit": "Credit (money in)", "debit": "Debit (money out)", "currency": "Currency",
    "counterparty_name": "Counterparty name", "counterparty_account": "Counterparty account",
    "reference": "Structured reference (KID, RF)", "text": "Remittance text",
    "bank_reference": "Bank reference",
}
_PLAIN = re.compile(r"^\d+(\.\d+)?$")
_SPACES = str.maketrans("", "", " \u00a0\u202f\u2009'")


def parse_csv(data: bytes, layout: CsvLayout) -> list[ParsedStatement]:
    """Read a CSV statement by the layout: one statement of the layout's account."""
    text = _decode(data, layout.encoding)
    rows = csv.reader(io.StringIO(text, newline=""), delimiter=layout.delimiter or ";")
    header: list[str] = []
    lines: list[ParsedLine] = []
    columns: dict[str, int] | None = None
    try:
        for row in rows:
            number = rows.line_num
            if rows.line_num <= layout.header_rows:
                header = [cell.strip() for cell in row]
                continue
            if columns is None:
                columns = _columns(layout, header)
            if not any(cell.strip() for cell in row):
                continue
            lines.append(_line(row, number, columns, layout))
    except csv.Error as exc:
        raise StatementParseError(f"the CSV cannot be read: {exc}.", rows.line_num) from None
    if columns is None:
        _columns(layout, header)  # names a mapping that does not fit, even without rows
    if not lines:
        raise StatementParseError("The file has no transaction rows after its"
                                  f" {layout.header_rows} header row(s).")
    currency = layout.currency or lines[0].currency
    return [ParsedStatement(
        account=layout.account, currency=currency, statement_ref="",
        from_date=min(line.booked_on for line in lines),
        to_date=max(line.booked_on for line in lines), lines=tuple(lines))]


def _decode(data: bytes, encoding: str) -> str:
    encoding = (encoding or "utf-8").lower()
    try:
        return data.decode("utf-8-sig" if encoding in ("utf-8", "utf8") else encoding)
    except LookupError:
        raise StatementParseError(f"{encoding!r} is not an encoding: fix the account's"
                                  " CSV mapping (utf-8, cp1252, iso-8859-1 ...).") from None
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise StatementParseError(f"the file is not {encoding} text (byte"
                                  f" 0x{data[exc.start]:02x}): choose the bank's encoding"
                                  " in the account's CSV mapping.", line) from None


def _columns(layout: CsvLayout, header: list[str]) -> dict[str, int]:
    """Each mapped field's 0-based column, checked against the header."""
    if not layout.columns.get("booked_on"):
        raise StatementParseError("The CSV mapping has no column for the booking date.")
    if not (layout.columns.get("amount") or layout.columns.get("credit")
            or layout.columns.get("debit")):
        raise StatementParseError("The CSV mapping has no amount column (or credit and"
                                  " debit columns).")
    by_name = {name.casefold(): index for index, name in reversed(list(enumerate(header)))}
    columns = {}
    for name, column in layout.columns.items():
        if column in ("", None) or name not in FIELDS:
            continue
        if isinstance(column, int) or str(column).strip().isdigit():
            columns[name] = int(column) - 1
            if columns[name] < 0:
                raise StatementParseError(f"Column numbers start at 1 ({FIELDS[name]}).")
            continue
        index = by_name.get(str(column).strip().casefold())
        if index is None:
            shown = ", ".join(header) if header else "none: the mapping says 0 header rows"
            hint = (" Is the delimiter right?" if len(header) == 1
                    and any(mark in header[0] for mark in ",;\t|") else "")
            raise StatementParseError(
                f"the column {column!r} ({FIELDS[name]}) is not in the header row."
                f" Its columns: {shown}.{hint}", layout.header_rows or None)
        columns[name] = index
    return columns


def _cell(row: list[str], number: int, columns: dict[str, int], name: str) -> str:
    index = columns.get(name)
    if index is None:
        return ""
    if index >= len(row):
        raise StatementParseError(f"the row has {len(row)} columns; the mapping reads column"
                                  f" {index + 1} ({FIELDS[name]}). Is the delimiter right?",
                                  number)
    return row[index].strip()


def _line(row: list[str], number: int, columns: dict[str, int],
          layout: CsvLayout) -> ParsedLine:
    def cell(name: str) -> str:
        return _cell(row, number, columns, name)

    booked_on = _date(cell("booked_on"), layout.date_format, number, "booked_on")
    value = cell("value_date")
    if "amount" in columns:
        amount = _amount(cell("amount"), layout.decimal_comma, number, "amount")
    else:
        credit, debit = cell("credit"), cell("debit")
        if not credit and not debit:
            raise StatementParseError("the row has neither a credit nor a debit amount.",
                                      number)
        amount = (_amount(credit, layout.decimal_comma, number, "credit") if credit
                  else Decimal(0)) - (abs(_amount(debit, layout.decimal_comma, number,
                                                  "debit")) if debit else Decimal(0))
    currency = (cell("currency") or layout.currency).upper()
    if not re.match(r"^[A-Z]{3}$", currency):
        raise StatementParseError(f"{currency!r} is not a currency code.", number)
    return ParsedLine(
        booked_on=booked_on, amount=amount, currency=currency,
        value_date=_date(value, layout.date_format, number, "value_date") if value else None,
        counterparty_name=collapse(cell("counterparty_name"))[:200],
        counterparty_account=cell("counterparty_account").replace(" ", "")[:40],
        structured_reference=cell("reference").replace(" ", "")[:40],
        remittance_text=collapse(cell("text")), bank_reference=cell("bank_reference")[:100],
        source_line=number)


def _date(text: str, pattern: str, number: int, name: str) -> date:
    try:
        return datetime.strptime(text, pattern).date()
    except ValueError:
        shown = (pattern.replace("%d", "DD").replace("%m", "MM").replace("%Y", "YYYY")
                 .replace("%y", "YY"))
        raise StatementParseError(f"{FIELDS[name].lower()} {text!r} is not a date in the"
                                  f" format {shown}.", number) from None


def _amount(text: str, decimal_comma: bool, number: int, name: str) -> Decimal:
    """A signed amount from text: 1.234,50 or -1 234,50 or 1,234.50 or (12.00) or 12.00-."""
    cleaned = text.translate(_SPACES)
    negative = False
    if cleaned.startswith("(") and cleaned.endswith(")"):
        cleaned, negative = cleaned[1:-1], True
    if cleaned.endswith("-"):
        cleaned, negative = cleaned[:-1], True
    if cleaned[:1] in "+-" and cleaned:
        negative, cleaned = negative or cleaned[0] == "-", cleaned[1:]
    if decimal_comma:
        cleaned = cleaned.replace(".", "").replace(",", ".")
    else:
        cleaned = cleaned.replace(",", "")
    if not _PLAIN.match(cleaned):
        mark = "a decimal comma" if decimal_comma else "a decimal point"
        raise StatementParseError(f"{FIELDS[name].lower()} {text!r} is not an amount"
                                  f" (the mapping says {mark}).", number)
    amount = Decimal(cleaned)
    return -amount if negative else amount
