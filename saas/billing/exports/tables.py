"""What the accountant's ZIP holds besides the PDFs (pure): the document list, the VAT
per rate, the README, and the names of its members.

Amounts are plain decimals with a dot, to the currency's minor unit. A credit note's are
negative, as stored and as the journal posts them, so the columns sum to the period's net
sales. Text a spreadsheet would read as a formula is made inert (``neutralise``); amounts
are left as numbers.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TextIO

from saas.billing.money import quantize_money
from saas.billing.reports.exports import neutralise

DOCUMENT_HEADER = (
    "number", "kind", "issue date", "delivery date", "due date", "customer number",
    "customer", "customer VAT id", "currency", "net", "VAT", "gross", "status", "paid",
    "outstanding", "exchange rate", "source", "pdf", "pdf sha256", "e-invoice")
VAT_HEADER = ("number", "kind", "currency", "VAT code", "VAT category", "rate", "net", "VAT")
KINDS_IN_ORDER = ("invoice", "credit_note", "proforma", "order", "quote")
SETTLED_KINDS = frozenset({"invoice", "credit_note"})


@dataclass(frozen=True)
class VatLine:
    code: str
    category: str
    rate: Decimal
    net: Decimal
    vat: Decimal


@dataclass(frozen=True)
class DocumentRow:
    number: str
    kind: str
    issue_date: date
    delivery_date: date | None
    due_date: date | None
    customer_number: int | str | None
    customer: str
    customer_vat_id: str
    currency: str
    net: Decimal
    vat: Decimal
    gross: Decimal
    status: str
    paid: Decimal
    exchange_rate: Decimal
    source: str
    pdf_name: str
    pdf_sha256: str
    ubl_name: str
    vat_lines: tuple[VatLine, ...] = ()


def safe_name(number: str) -> str:
    """A document number as a file name inside the ZIP (no folders, no odd characters)."""
    return re.sub(r"[^\w.\-]+", "-", number).strip("-") or "document"


def pdf_member(kind: str, number: str) -> str:
    return f"pdf/{kind}/{safe_name(number)}.pdf"


def ubl_member(kind: str, number: str) -> str:
    return f"ubl/{kind}/{safe_name(number)}.xml"


def _amount(value: Decimal, currency: str) -> str:
    return f"{quantize_money(value, currency):f}"


def _day(value: date | None) -> str:
    return value.isoformat() if value else ""


def write_documents_csv(out: TextIO, rows: Iterable[DocumentRow]) -> None:
    """The document list: one row per issued document."""
    writer = csv.writer(out)
    writer.writerow(DOCUMENT_HEADER)
    for row in rows:
        settled = row.kind in SETTLED_KINDS
        # Text is made inert; amounts are numbers (a credit note's start with "-").
        writer.writerow([
            neutralise(row.number), row.kind, _day(row.issue_date), _day(row.delivery_date),
            _day(row.due_date), neutralise(row.customer_number), neutralise(row.customer),
            neutralise(row.customer_vat_id), row.currency, _amount(row.net, row.currency),
            _amount(row.vat, row.currency), _amount(row.gross, row.currency), row.status,
            _amount(row.paid, row.currency) if settled else "",
            _amount(row.gross - row.paid, row.currency) if settled else "",
            f"{row.exchange_rate.normalize():f}", neutralise(row.source), row.pdf_name,
            row.pdf_sha256, row.ubl_name])


def write_vat_csv(out: TextIO, rows: Iterable[DocumentRow]) -> None:
    """The VAT breakdown: one row per document and VAT code and rate."""
    writer = csv.writer(out)
    writer.writerow(VAT_HEADER)
    for row in rows:
        for line in row.vat_lines:
            writer.writerow([
                neutralise(row.number), row.kind, row.currency, neutralise(line.code),
                line.category, f"{line.rate:f}", _amount(line.net, row.currency),
                _amount(line.vat, row.currency)])


def readme(tenant: str, date_from: date, date_to: date, counts: dict[str, int],
           missing_pdfs: list[str]) -> str:
    """The README.txt that says what the ZIP holds and what each column means."""
    kinds = ", ".join(f"{counts.get(kind, 0)} {kind}" for kind in KINDS_IN_ORDER)
    missing = ("\nNo stored PDF yet (listed in documents.csv without a pdf): "
               + ", ".join(missing_pdfs) + "\n") if missing_pdfs else ""
    return f"""Accountant export: {tenant}, {date_from.isoformat()} to {date_to.isoformat()}

Every document issued in the period (issue date from the first to the last day, both
included): {kinds}. Drafts are not documents yet and are left out.
{missing}
pdf/<kind>/<number>.pdf   the PDF as issued and stored (byte for byte; its SHA-256 is in
                          documents.csv and was checked when the ZIP was made)
ubl/<kind>/<number>.xml   invoices and credit notes as UBL 2.1 e-invoices (Peppol BIS
                          Billing 3.0), made from the documents' frozen content
documents.csv             one row per document:
  number, kind (invoice, credit_note, proforma, order, quote), issue date, delivery date,
  due date, customer number, customer (as on the document), customer VAT id, currency,
  net, VAT, gross (document currency; a credit note's are negative), status, paid and
  outstanding (invoices and credit notes: what payments and credit notes settle of it,
  and the rest), exchange rate (1 unit of the document currency in the company's own),
  source (the document it was made from), pdf and pdf sha256, e-invoice (its XML file)
vat.csv                   one row per document and VAT rate: number, kind, currency, VAT
  code, VAT category, rate (percent), net, VAT; per document they add up to its net and VAT
journal.csv               every journal line posted in the period: date, entry id, kind,
  description, account, account name, customer number, debit, credit, currency, VAT code

CSV files are UTF-8, comma separated, with a header row; amounts have a dot and the
currency's decimals. Text that a spreadsheet would take for a formula starts with '.
"""
