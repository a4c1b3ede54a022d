"""The journal as CSV for the accountant (pure): one row per journal line.

A cell that starts with ``=``, ``+``, ``-``, ``@`` (or a tab or carriage return) would be
read as a formula by a spreadsheet: such text is prefixed with an apostrophe, which the
spreadsheet shows as text (OWASP's advice against CSV injection). Amounts are plain
decimals with a dot, to the currency's minor unit, and never negative (a line is a debit
or a credit), so none is touched.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from saas.billing.money import quantize_money

HEADER = ("date", "entry id", "kind", "description", "account", "account name",
          "customer number", "debit", "credit", "currency", "VAT code")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class JournalRow:
    posted_on: date
    entry_id: int
    kind: str
    description: str
    account: str
    account_name: str
    customer_number: int | str | None
    debit: Decimal
    credit: Decimal
    currency: str
    vat_code: str


def neutralise(value: object) -> str:
    """The cell's text, made inert if a spreadsheet would take it for a formula."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def _amount(value: Decimal, currency: str) -> str:
    """To the currency's minor unit, with a dot (the columns keep 4 decimals)."""
    return f"{quantize_money(value, currency):f}"


def journal_csv(rows: Iterable[JournalRow]) -> str:
    """The rows as CSV text (comma separated, quoted where needed, CRLF line ends)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    for row in rows:
        writer.writerow([neutralise(value) for value in (
            row.posted_on.isoformat(), row.entry_id, row.kind, row.description, row.account,
            row.account_name, row.customer_number, _amount(row.debit, row.currency),
            _amount(row.credit, row.currency), row.currency, row.vat_code)])
    return out.getvalue()
