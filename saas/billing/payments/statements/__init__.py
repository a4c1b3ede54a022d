"""Bank statement files read into plain values (pure: no Flask, no database).

Three formats give the same dataclasses: ISO 20022 camt.053 (``camt053``), SWIFT MT940
(``swift_mt940``) and CSV read by a saved column mapping (``bank_csv``). ``parse`` reads a
file of a given or detected format; a file that cannot be read raises
``StatementParseError`` naming the problem and where: a line number, and for XML the
element's path too.

A file may hold several statements (several ``<Stmt>``, or consecutive MT940 messages),
each with its own account, identification, balances and lines. Amounts are ``Decimal``
from the file's text, never a float; a line's amount is signed: money in is positive.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Literal

Format = Literal["camt053", "mt940", "csv"]
FORMATS: tuple[Format, ...] = ("camt053", "mt940", "csv")
FORMAT_LABELS = {"camt053": "ISO 20022 camt.053 (XML)", "mt940": "SWIFT MT940",
                 "csv": "CSV (with the account's saved mapping)"}
MAX_BYTES = 20 * 1024 * 1024


class StatementParseError(ValueError):
    """A file that is not a statement of the format, or is broken: what and where."""

    def __init__(self, message: str, line: int | None = None, path: str = "") -> None:
        where = ", ".join(part for part in (f"line {line}" if line else "", path) if part)
        super().__init__(f"{where[:1].upper()}{where[1:]}: {message}" if where else message)
        self.problem, self.line, self.path = message, line, path


@dataclass(frozen=True)
class ParsedLine:
    """One booked transaction: credits (money in) positive, debits negative."""

    booked_on: date
    amount: Decimal
    currency: str
    value_date: date | None = None
    counterparty_name: str = ""
    counterparty_account: str = ""
    structured_reference: str = ""  # KID, RF, SCOR ... as the bank gives it
    remittance_text: str = ""
    bank_reference: str = ""
    source_line: int | None = None  # where in the file, for messages


@dataclass(frozen=True)
class ParsedStatement:
    """One statement of one account: its identification, balances, dates and lines."""

    account: str
    currency: str
    statement_ref: str = ""
    opening_balance: Decimal | None = None
    closing_balance: Decimal | None = None
    from_date: date | None = None
    to_date: date | None = None
    lines: tuple[ParsedLine, ...] = ()
    # Things a reader should know that do not stop the import (balances that do not add up).
    warnings: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class CsvLayout:
    """How a bank account's CSV files are read (a ``BankCsvMapping``, as plain values).

    ``columns`` maps a field to a header name or a 1-based column number: ``booked_on``
    and either ``amount`` or ``credit``/``debit`` are required; ``value_date``,
    ``currency``, ``counterparty_name``, ``counterparty_account``, ``reference``,
    ``text`` and ``bank_reference`` are optional.
    """

    columns: dict[str, str | int]
    delimiter: str = ";"
    decimal_comma: bool = True
    date_format: str = "%d.%m.%Y"
    encoding: str = "utf-8"
    header_rows: int = 1
    account: str = ""  # the bank account the file is of, and its currency
    currency: str = ""


def detect_format(data: bytes) -> Format | None:
    """camt.053 (any XML) or MT940 from the content; None for anything else (CSV ...)."""
    head = data[:4096].lstrip(b"\xef\xbb\xbf\x01 \t\r\n")
    if head.startswith(b"<"):  # XML: the camt.053 reader names what else it is
        return "camt053"
    text = data[:8192].replace(b"\r", b"")
    if re.search(rb"(?m)^\{1:F01|^:20:", text) and re.search(rb"(?m)^:(25|60[FM]):", text):
        return "mt940"
    return None


def parse(data: bytes, fmt: Format | None = None,
          layout: CsvLayout | None = None) -> list[ParsedStatement]:
    """Read a statement file of the format (detected when not given): its statements."""
    if not data or not data.strip():
        raise StatementParseError("The file is empty.")
    if len(data) > MAX_BYTES:
        raise StatementParseError(f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB.")
    fmt = fmt or detect_format(data) or ("csv" if layout is not None else None)
    if fmt == "camt053":
        from saas.billing.payments.statements.camt053 import parse_camt053

        statements = parse_camt053(data)
    elif fmt == "mt940":
        from saas.billing.payments.statements.swift_mt940 import parse_mt940

        statements = parse_mt940(data)
    elif fmt == "csv":
        if layout is None:
            raise StatementParseError("A CSV statement needs the bank account's column "
                                      "mapping: save one for the account first.")
        from saas.billing.payments.statements.bank_csv import parse_csv

        statements = parse_csv(data, layout)
    else:
        raise StatementParseError("The file is neither a camt.053 (XML) nor an MT940 "
                                  "statement. For a CSV file, choose CSV and save the "
                                  "account's column mapping.")
    return statements


def balance_warning(statement_ref: str, opening: Decimal | None, closing: Decimal | None,
                    lines: tuple[ParsedLine, ...] | list[ParsedLine]) -> tuple[str, ...]:
    """A warning when opening balance plus the lines is not the closing balance."""
    if opening is None or closing is None:
        return ()
    moved = sum((line.amount for line in lines), Decimal(0))
    if opening + moved == closing:
        return ()
    return (f"Statement {statement_ref}: the opening balance {opening} and the lines"
            f" ({moved:+}) do not add up to the closing balance {closing}.",)


def collapse(text: str | None) -> str:
    """Whitespace (tabs, line breaks, soft hyphens) collapsed to single spaces."""
    return " ".join((text or "").replace("\u00ad", "").split())
