"""What a document's PDF is made from: plain frozen values, no database, no Flask.

The services build a ``Printable`` from an issued (or draft, for a preview) document and
its snapshots; ``pdf.render_pdf`` turns it into bytes. Keeping the PDF's input a plain
value lets the template be rendered and measured without a database (bench/documents.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

# Document kinds, as stored in documents.kind.
QUOTE = "quote"
ORDER = "order"
PROFORMA = "proforma"
INVOICE = "invoice"
CREDIT_NOTE = "credit_note"


@dataclass(frozen=True, kw_only=True)
class Party:
    """The seller or the buyer as printed (a snapshot taken when the document was issued)."""

    name: str
    address_lines: tuple[str, ...] = ()  # street lines, then "postal code city"
    country: str = ""  # ISO 3166 alpha-2
    org_number: str = ""
    vat_id: str = ""
    email: str = ""
    phone: str = ""


@dataclass(frozen=True, kw_only=True)
class BankDetails:
    label: str = ""
    iban: str = ""  # electronic format, no spaces
    bic: str = ""
    bban: str = ""  # a national account number when there is no IBAN
    currency: str = ""


@dataclass(frozen=True, kw_only=True)
class PrintLine:
    position: int
    description: str
    quantity: Decimal
    unit: str
    unit_price: Decimal  # after discount, in the document currency
    discount_percent: Decimal  # shown when not zero
    vat_code: str
    vat_rate: Decimal  # percent
    net: Decimal  # quantity × unit price, rounded to the currency's minor unit
    site: str = ""  # "CODE Name" of the site the line is for (R1.2), or ""
    reference: str = ""  # what the line bills: "Order O-2026-0003", a contract ... (R3.10)


@dataclass(frozen=True, kw_only=True)
class VatRow:
    code: str
    rate: Decimal  # percent
    category: str  # standard, reduced, zero, exempt, reverse_charge
    note: str  # the legal basis printed for exempt and reverse-charge rows
    net: Decimal
    vat: Decimal


@dataclass(frozen=True, kw_only=True)
class Printable:
    kind: str  # QUOTE, ORDER, PROFORMA, INVOICE, CREDIT_NOTE
    number: str  # "" on a draft preview: the PDF then says DRAFT
    language: str  # en, pl, cs, nb, sr, ro (others fall back to en)
    currency: str
    issue_date: date
    seller: Party
    buyer: Party
    lines: tuple[PrintLine, ...]
    vat_rows: tuple[VatRow, ...]
    net_total: Decimal
    vat_total: Decimal
    gross_total: Decimal
    delivery_date: date | None = None  # date of supply when it differs from the issue date
    due_date: date | None = None  # invoices and proformas
    valid_until: date | None = None  # quotes
    payment_terms_days: int | None = None
    payment_reference: str = ""
    # The seller's reference scheme when the document was issued (payments.references):
    # it decides the label, "KID" or "Reference (RF)" ...; "" for documents from before.
    reference_scheme: str = ""
    bank_accounts: tuple[BankDetails, ...] = ()
    # The seller's branding.
    primary_color: str = "#1f4e79"
    logo: bytes | None = None
    logo_mime: str | None = None  # image/png or image/jpeg
    footer_text: str = ""
    notes: str = ""
    # Where the document came from: the invoice a credit note corrects, the order an
    # invoice bills: ("Invoice", "INV-2026-0007") pairs, printed under the title.
    references: tuple[tuple[str, str], ...] = ()
    # The tenant's own currency and the rate used, printed when it differs (art. 226:
    # the VAT amount in the national currency).
    tenant_currency: str = ""
    exchange_rate: Decimal | None = None  # 1 document currency = rate tenant currency
    vat_total_in_tenant_currency: Decimal | None = None
    # R3.12: the customer's balance before this document and a payment demand section.
    balance: Decimal | None = None
    payment_demand: bool = False
    extra: dict[str, str] = field(default_factory=dict)  # free labelled values, printed last
