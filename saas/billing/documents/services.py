"""Drafts, their lines, and issuing: one function per state change; callers commit.

Forms check each value alone; these functions check what needs the document, the
customer or the catalog, and refuse with a DocumentError naming the field concerned.
Nothing is changed before every check has passed, so a refusal saves nothing half way.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from saas.billing import tax
from saas.billing.catalog import pricing
from saas.billing.catalog.models import Product, VatRate
from saas.billing.catalog.prices import PriceTermsNotFound, quote_price
from saas.billing.customers.models import Customer, Site
from saas.billing.documents.models import (
    Document,
    DocumentLine,
    net_unit_price,
)
from saas.billing.documents.states import (
    DocumentKind,
    DocumentStatus,
    TransitionRefused,
    check_transition,
)
from saas.billing.money import as_decimal, check_currency, quantize_unit_price
from saas.billing.payments import references
from saas.extensions import db
from saas.tenants import audit, scoping
from saas.tenants.models import Tenant
from saas.tenants.services import ServiceError

K, S = DocumentKind, DocumentStatus
QUOTE_VALIDITY_DAYS = 30
OPTIONAL_DATES = frozenset({"delivery_date", "valid_until"})
HEADER_FIELDS = (
    "delivery_date", "valid_until", "payment_terms_days", "payment_reference", "notes",
    "language", "show_balance", "payment_demand",
)


class DocumentError(ServiceError):
    """A document change was refused; `field` names the form field it concerns."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def today() -> date:
    return date.today()


# --- drafts ------------------------------------------------------------------------------


def create_document(
    kind: DocumentKind, customer: Customer, values: dict[str, Any] | None = None,
    *, source: Document | None = None, user_id: int | None = None,
) -> Document:
    """Start a draft of the kind for the customer, in the customer's currency and language."""
    values = dict(values or {})
    if customer.is_archived:
        raise DocumentError(f"Customer {customer.number} {customer.name} is archived.",
                            "customer_id")
    currency = values.pop("currency", None) or customer.currency
    try:
        check_currency(currency)
    except ValueError as exc:
        raise DocumentError(str(exc), "currency") from None
    tenant = db.session.get(Tenant, scoping.require_tenant_id())
    document = Document(
        kind=kind,
        status=S.DRAFT,
        customer=customer,
        customer_id=customer.id,
        source=source,
        currency=currency,
        tenant_currency=tenant.default_currency,
        language=customer.language or "en",
        payment_terms_days=customer.payment_terms_days,
        created_by_id=user_id,
    )
    update_header(document, values)
    db.session.add(document)
    db.session.flush()
    return document


def update_header(document: Document, values: dict[str, Any]) -> None:
    """Change a draft's dates, terms, reference, notes and print options."""
    _require_draft(document)
    terms = values.get("payment_terms_days")
    if terms is not None and not 0 <= int(terms) <= 365:
        raise DocumentError("Payment terms are 0 to 365 days.", "payment_terms_days")
    if values.get("payment_reference") and document.kind in (K.INVOICE, K.PROFORMA):
        values = {**values, "payment_reference": _typed_reference(
            document, values["payment_reference"])}
    for name in HEADER_FIELDS:
        # An empty date clears it; other fields are never empty (None: leave as is).
        if name in values and (values[name] is not None or name in OPTIONAL_DATES):
            setattr(document, name, values[name])
    if "customer_id" in values and values["customer_id"] != document.customer_id:
        customer = db.session.get(Customer, values["customer_id"])
        if customer is None:
            raise DocumentError("Choose a customer of this company.", "customer_id")
        if document.lines and customer.currency != document.currency:
            raise DocumentError(
                f"{customer.name} is billed in {customer.currency}; this document has lines"
                f" in {document.currency}.", "customer_id")
        document.customer = customer


def _typed_reference(document: Document, value: str) -> str:
    """A payment reference typed on the draft, checked against the tenant's scheme.

    One copied from the issued document the draft continues (the proforma an invoice
    finalises) is kept as it is; issuing checks again, as the scheme may change.
    """
    source = document.source
    if source is not None and source.number and source.payment_reference == value.strip():
        return source.payment_reference
    tenant = db.session.get(Tenant, scoping.require_tenant_id())
    try:
        return references.check_reference(value, tenant.reference_scheme,
                                          tenant.reference_length)
    except ValueError as exc:
        raise DocumentError(str(exc), "payment_reference") from None


def delete_draft(document: Document) -> None:
    _require_draft(document)
    db.session.delete(document)


def _require_draft(document: Document) -> None:
    if not document.is_draft:
        raise DocumentError(
            f"{document.title} is issued and cannot be changed."
            + (" Issue a credit note to correct it." if document.kind == K.INVOICE else "")
        )


# --- lines -------------------------------------------------------------------------------


def _own(model: type, object_id: int | None, field: str, label: str) -> Any:
    obj = db.session.get(model, object_id) if object_id else None
    if obj is None:
        raise DocumentError(f"Choose a {label} of this company.", field)
    return obj


def _check_quantity(document: Document, quantity: Any) -> Decimal:
    if quantity is None:
        raise DocumentError("Enter a quantity.", "quantity")
    quantity = as_decimal(quantity, "quantity")
    if document.kind == K.CREDIT_NOTE:
        if quantity >= 0:
            raise DocumentError(
                "A credit note credits: its quantities are negative (e.g. -2).", "quantity")
    elif quantity < 0:
        raise DocumentError(
            f"A quantity cannot be negative on a {document.kind.label.lower()};"
            " corrections are credit notes.", "quantity")
    return quantity


def price_line(document: Document, product: Product, quantity: Decimal) -> pricing.PriceQuote:
    """The pricing engine's answer for a line (on the issue date, or today for a draft)."""
    on = document.issue_date or today()
    worked = abs(quantity)
    try:
        return quote_price(document.customer_id, product.id, worked, on, document.currency)
    except pricing.NoExchangeRate as exc:
        raise DocumentError(
            f"{exc} Add the rate under Catalog → Exchange rates, or enter the price by hand.",
            "unit_price") from None
    except (PriceTermsNotFound, ValueError) as exc:
        raise DocumentError(str(exc), "product_id") from None


def _line_values(document: Document, values: dict[str, Any],
                 line: DocumentLine | None = None) -> dict[str, Any]:
    """Check a line's values against the document and the catalog; price it if asked."""
    line_currency = values.get("currency")
    if line_currency and line_currency != document.currency:
        raise DocumentError(
            f"This line is in {line_currency} but the document is in {document.currency}:"
            f" enter the price in {document.currency}.", "currency")
    quantity = _check_quantity(document, values.get("quantity"))
    product = None
    if values.get("product_id"):
        product = _own(Product, values["product_id"], "product_id", "product")
    site = None
    if values.get("site_id"):
        site = _own(Site, values["site_id"], "site_id", "site")
        if site.customer_id != document.customer_id:
            raise DocumentError(f"Site {site.code} belongs to another customer.", "site_id")
    result: dict[str, Any] = {
        "product_id": product.id if product else None,
        "quantity": quantity,
        "site_id": site.id if site else None,
        "site_label": f"{site.code} {site.name}" if site else "",
        "unit": (values.get("unit") or (product.unit if product else "")).strip(),
        "description": (values.get("description") or "").strip()
        or (product.name if product else ""),
    }
    if not result["description"]:
        raise DocumentError("Describe the line or choose a product.", "description")
    vat_rate_id = values.get("vat_rate_id") or (product.vat_rate_id if product else None)
    vat_rate = _own(VatRate, vat_rate_id, "vat_rate_id", "VAT rate")
    result.update(vat_rate_id=vat_rate.id, vat_code=vat_rate.code, vat_rate=vat_rate.rate,
                  vat_category=str(vat_rate.category), vat_note=vat_rate.note)
    unit_price = values.get("unit_price")
    discount = values.get("discount_percent")
    explanation = ""
    if product is not None:
        try:
            quote = price_line(document, product, quantity)
        except DocumentError:
            if unit_price is None or discount is None:
                raise
        else:
            if document.kind != K.CREDIT_NOTE:
                result["quantity"] = quote.billable_quantity
            if unit_price is None:
                unit_price = quote.list_unit_price
            if discount is None:
                discount = quote.discount_percent
            explanation = quote.explanation
    if unit_price is None:
        raise DocumentError("Enter a unit price (or choose a product to price it).",
                            "unit_price")
    unit_price = as_decimal(unit_price, "unit price")
    if unit_price < 0:
        raise DocumentError("A unit price cannot be negative.", "unit_price")
    discount = as_decimal(discount if discount is not None else Decimal(0), "discount")
    if not 0 <= discount <= 100:
        raise DocumentError("A discount is 0 to 100 %.", "discount_percent")
    if not explanation:
        explanation = "Price entered by hand."
    elif values.get("unit_price") is not None or values.get("discount_percent") is not None:
        explanation = f"Price changed by hand; the price rules said: {explanation}"
    result.update(unit_price=quantize_unit_price(unit_price), discount_percent=discount,
                  price_explanation=explanation)
    result["net"] = tax.line_net(result["quantity"],
                                 net_unit_price(result["unit_price"], discount),
                                 document.currency)
    return result


def add_line(document: Document, values: dict[str, Any]) -> DocumentLine:
    """Add a product or manual line (R3.11), priced by the engine when a product is chosen."""
    _require_draft(document)
    checked = _line_values(document, values)
    position = max((line.position for line in document.lines), default=0) + 1
    line = DocumentLine(position=position, source_line_id=values.get("source_line_id"),
                        **checked)
    document.lines.append(line)
    recalculate(document)
    return line


def update_line(line: DocumentLine, values: dict[str, Any]) -> None:
    document = line.document
    _require_draft(document)
    checked = _line_values(document, values, line)
    for name, value in checked.items():
        setattr(line, name, value)
    recalculate(document)


def remove_line(line: DocumentLine) -> None:
    document = line.document
    _require_draft(document)
    document.lines.remove(line)
    for position, other in enumerate(document.lines, start=1):
        other.position = position
    recalculate(document)


def recalculate(document: Document) -> tax.Totals:
    """Set the document's totals from its lines (net per line, VAT per rate)."""
    totals = document_totals(document)
    document.net_total, document.vat_total, document.gross_total = (
        totals.net, totals.vat, totals.gross)
    return totals


def document_totals(document: Document) -> tax.Totals:
    return tax.totals(
        (tax.TaxedLine(net=line.net, vat_code=line.vat_code, vat_rate=line.vat_rate,
                       vat_category=line.vat_category, vat_note=line.vat_note)
         for line in document.lines),
        document.currency,
    )


# --- moves through the states ----------------------------------------------------------


# An invoice's payment states follow its allocations (payments.services), never a hand.
PAYMENT_STATES = frozenset({S.PARTLY_PAID, S.PAID})


def move(document: Document, target: DocumentStatus, *, user_id: int | None = None,
         by_payments: bool = False) -> None:
    """Move an issued document to another state of its kind (accept, decline, paid ...)."""
    if document.kind == K.INVOICE and not by_payments and (
        target in PAYMENT_STATES or (target == S.ISSUED and document.status in PAYMENT_STATES)
    ):
        raise DocumentError(f"{document.title} is paid by recording a payment, and open again"
                            " by undoing it: its status follows its payments.")
    try:
        check_transition(document.kind, document.status, target)
    except TransitionRefused as exc:
        raise DocumentError(str(exc)) from None
    old = document.status
    document.status = target
    audit.record("documents.status", document,
                 f"{document.title}: {old.label.lower()} → {target.label.lower()}",
                 user_id=user_id)


def expire_quotes(on: date) -> int:
    """Mark sent quotes whose validity ended before the date as expired; return how many."""
    quotes = db.session.scalars(
        select(Document).where(Document.kind == K.QUOTE, Document.status == S.SENT,
                               Document.valid_until < on)).all()
    for quote in quotes:
        move(quote, S.EXPIRED)
    return len(quotes)
