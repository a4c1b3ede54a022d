"""What a sales document's PDF says: every label translated, every amount formatted.

``context(p)`` turns a ``Printable`` into the texts and figures ``pdf.py`` lays out, and
decides what is printed when: the EPC QR code only for euro invoices and proformas with
an IBAN and something to pay (never a credit note), the balance rows, the references,
the exchange-rate line, every field art. 226 of the VAT directive asks for. No ReportLab
here, no Flask, no database.
"""

from __future__ import annotations

import io
import logging
import re
from dataclasses import dataclass
from decimal import Decimal

from PIL import Image
from stdnum import iban as std_iban

from saas.billing import money
from saas.billing.documents import epc
from saas.billing.documents.i18n import Formatter
from saas.billing.documents.printable import (
    CREDIT_NOTE,
    INVOICE,
    ORDER,
    PROFORMA,
    QUOTE,
    BankDetails,
    Party,
    Printable,
)
from saas.billing.payments import references

log = logging.getLogger(__name__)

DEFAULT_COLOR = "#1f4e79"
LOGO_FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg"}
# The logo is fitted into this box (points), keeping its proportions.
LOGO_MAX_WIDTH, LOGO_MAX_HEIGHT = 150.0, 60.0
QR_SIZE = 92  # points (about 3.2 cm: comfortably above the guidelines' minimum)

TITLES = {
    QUOTE: "Quote",
    ORDER: "Order confirmation",
    PROFORMA: "Proforma invoice",
    INVOICE: "Invoice",
    CREDIT_NOTE: "Credit note",
}
PAYABLE_KINDS = frozenset({INVOICE, PROFORMA})
_HEX_COLOR = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})")


@dataclass(frozen=True)
class _Image:
    data: bytes
    width: float
    height: float


def _logo(p: Printable) -> _Image | None:
    """The logo and its size fitted into the logo box, or None when there is none.

    The image's own format decides (PNG or JPEG), not ``logo_mime``; it is never enlarged
    beyond one point per pixel.
    """
    if not p.logo:
        return None
    try:
        with Image.open(io.BytesIO(p.logo)) as image:
            width, height = image.size
            mime = LOGO_FORMATS.get(image.format or "")
            if mime is not None:
                image.load()  # a truncated file fails here, not in the middle of the PDF
    except (OSError, ValueError, Image.DecompressionBombError):
        mime = None
        width = height = 0
    if mime is None or width <= 0 or height <= 0:
        log.warning("The logo is not a PNG or JPEG image; the PDF is made without it")
        return None
    scale = min(LOGO_MAX_WIDTH / width, LOGO_MAX_HEIGHT / height, 1.0)
    return _Image(p.logo, round(width * scale, 1), round(height * scale, 1))


def amount_due(p: Printable) -> Decimal:
    """What the buyer is asked to pay: the gross total, plus the balance when printed."""
    return p.gross_total + (p.balance or Decimal(0))


def _qr_account(p: Printable) -> BankDetails | None:
    with_iban = [account for account in p.bank_accounts if account.iban]
    for account in with_iban:
        if account.currency == "EUR":
            return account
    for account in with_iban:
        if not account.currency:
            return account
    return None


def epc_payload(p: Printable) -> str | None:
    """The EPC QR payload for the document, or None when it gets no QR code.

    A QR code is printed on invoices and proformas in euro with a bank account that has
    an IBAN and a positive amount to pay (never on a credit note). A value the QR cannot
    carry (an invalid IBAN, say) leaves the QR code out rather than failing the PDF.
    """
    if p.kind not in PAYABLE_KINDS or p.currency != "EUR" or p.gross_total <= 0:
        return None
    account = _qr_account(p)
    due = amount_due(p)
    if account is None or due <= 0:
        return None
    reference, text = epc.split_remittance(p.payment_reference)
    if not reference and not text and p.number:
        text = p.number
    try:
        return epc.payload(
            name=p.seller.name.strip()[: epc.MAX_NAME],
            iban=account.iban,
            bic=account.bic,
            amount=money.quantize_money(due, "EUR"),
            reference=reference,
            text=text[: epc.MAX_TEXT],
        )
    except ValueError as exc:
        log.warning("No EPC QR code on %s %s: %s", p.kind, p.number or "(draft)", exc)
        return None


def _bank_rows(p: Printable, f: Formatter) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    for account in p.bank_accounts:
        label = account.label or f.gettext("Bank account")
        if account.currency:
            label = f"{label} ({account.currency})"
        if account.iban:
            rows.append((f"{label}: IBAN", std_iban.format(account.iban)))
        elif account.bban:
            rows.append((f"{label}: {f.gettext('Account number')}", account.bban))
        else:
            continue
        if account.bic:
            rows.append(("BIC", account.bic))
    return rows


def _references(p: Printable, f: Formatter) -> list[str]:
    lines = []
    for label, number in p.references:
        if p.kind == CREDIT_NOTE and label.strip().lower() == "invoice":
            lines.append(f.gettext("Credit note for invoice %(number)s", number=number))
        else:
            lines.append(f"{f.gettext(label)}: {number}")
    return lines


def _party(party: Party, f: Formatter) -> dict[str, object]:
    details = []
    if party.org_number:
        details.append((f.gettext("Org. no."), party.org_number))
    if party.vat_id:
        details.append((f.gettext("VAT ID"), party.vat_id))
    if party.email:
        details.append((f.gettext("E-mail"), party.email))
    if party.phone:
        details.append((f.gettext("Phone"), party.phone))
    return {
        "name": party.name,
        "lines": [line for line in party.address_lines if line],
        "country": f.country(party.country),
        "details": details,
    }


def _translated_reference(reference: str, f: Formatter) -> str:
    """A line's reference ("Order confirmation O-2026-0003") with its kind translated."""
    for label in TITLES.values():
        if reference.startswith(label + " "):
            return f"{f.gettext(label)}{reference[len(label):]}"
    return reference


def _lines(p: Printable, f: Formatter) -> list[dict[str, str]]:
    currency = p.currency
    return [
        {
            "position": str(line.position),
            "description": line.description,
            "small": " · ".join(
                part for part in (line.site, _translated_reference(line.reference, f)) if part
            ),
            "quantity": f.quantity(line.quantity),
            "unit": line.unit,
            "unit_price": f.unit_price(line.unit_price, currency),
            "discount": f.percent(line.discount_percent) if line.discount_percent else "",
            "vat_rate": f.percent(line.vat_rate),
            "net": f.amount(line.net, currency),
        }
        for line in p.lines
    ]


def _exchange(p: Printable, f: Formatter) -> dict[str, str] | None:
    """The VAT in the tenant's currency (art. 226 (10)) when the document is in another."""
    if not p.tenant_currency or p.tenant_currency == p.currency or p.exchange_rate is None:
        return None
    vat = p.vat_total_in_tenant_currency
    if vat is None:
        vat = money.quantize_money(p.vat_total * p.exchange_rate, p.tenant_currency)
    return {
        "rate": f"1 {p.currency} = {f.rate(p.exchange_rate)} {p.tenant_currency}",
        "vat_label": f.gettext("VAT total in %(currency)s", currency=p.tenant_currency),
        "vat": f.money(vat, p.tenant_currency),
    }


def payment_reference(p: Printable, f: Formatter) -> tuple[str, str] | None:
    """(label, reference as printed): "KID", "Reference (RF)" in groups of four ..."""
    if not p.payment_reference:
        return None
    label = references.reference_label(p.payment_reference, p.reference_scheme or None,
                                       p.number)
    return f.gettext(label), references.display_reference(p.payment_reference)


def _color(value: str | None) -> str:
    """The seller's colour as #rrggbb when it is a valid hex colour, else the default."""
    if not _HEX_COLOR.fullmatch(value or ""):
        return DEFAULT_COLOR
    assert value is not None
    if len(value) == 4:  # #abc is #aabbcc (reportlab would read it as #000abc)
        value = "#" + "".join(digit * 2 for digit in value[1:])
    return value


def context(p: Printable) -> dict[str, object]:
    """What the PDF prints: every label translated, every number formatted."""
    f = Formatter.for_language(p.language)
    payload = epc_payload(p)
    payable = p.kind in PAYABLE_KINDS
    due = amount_due(p)
    demand = ""
    if p.payment_demand:
        if p.due_date:
            demand = f.gettext(
                "We kindly ask you to pay the total due of %(amount)s by %(date)s.",
                amount=f.money(due, p.currency), date=f.date(p.due_date),
            )
        else:
            demand = f.gettext(
                "We kindly ask you to pay the total due of %(amount)s without delay.",
                amount=f.money(due, p.currency),
            )
    terms = ""
    if p.payment_terms_days is not None:
        terms = f.ngettext("%(num)d day", "%(num)d days", p.payment_terms_days)
    return {
        "_": f.gettext,
        "p": p,
        "lang": f.language,
        "title": f.gettext(TITLES.get(p.kind, "Invoice")),
        "draft": not p.number,
        "color": _color(p.primary_color),
        "logo": _logo(p),
        "references": _references(p, f),
        "issue_date": f.date(p.issue_date),
        "delivery_date": f.date(p.delivery_date),
        "due_date": f.date(p.due_date),
        "valid_until": f.date(p.valid_until) if p.kind == QUOTE else "",
        "seller": _party(p.seller, f),
        "buyer": _party(p.buyer, f),
        "lines": _lines(p, f),
        "any_discount": any(line.discount_percent for line in p.lines),
        "vat_rows": [
            {"rate": f.percent(row.rate), "net": f.money(row.net, p.currency),
             "vat": f.money(row.vat, p.currency), "note": row.note}
            for row in p.vat_rows
        ],
        "net_total": f.money(p.net_total, p.currency),
        "vat_total": f.money(p.vat_total, p.currency),
        "gross_total": f.money(p.gross_total, p.currency),
        "balance": f.money(p.balance, p.currency) if p.balance is not None else None,
        "total_due": f.money(due, p.currency),
        "demand": demand,
        "exchange": _exchange(p, f),
        "payable": payable,
        "terms": terms,
        "banks": _bank_rows(p, f) if payable else [],
        "reference": payment_reference(p, f) if payable else None,
        "qr": epc.qr_png(payload, scale=4, border=4) if payload else None,
        "notes": p.notes.splitlines(),
        "extra": list(p.extra.items()),
    }


# --- Layout ---------------------------------------------------------------------------
