"""Documents of every kind: drafts with lines, issue, convert along the chain, credit, send,
and the PDF."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from flask import Response
from pydantic import EmailStr, Field
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from saas.api.errors import ApiError, not_found
from saas.api.pagination import page
from saas.api.registry import PATH_MODELS, operation
from saas.api.schemas import (
    DecimalOut,
    Id,
    ListQuery,
    Money,
    Percent,
    Quantity,
    RequestModel,
    ResponseModel,
    page_of,
    text,
)
from saas.api.views import bp
from saas.billing.customers.models import Customer
from saas.billing.documents import conversion, issuing, services
from saas.billing.documents import delivery as delivery_services
from saas.billing.documents.models import Document
from saas.billing.documents.printing import stored_or_preview_pdf
from saas.billing.documents.services import DocumentError
from saas.billing.documents.states import DocumentKind, DocumentStatus
from saas.billing.einvoice.ubl import EInvoiceError, document_xml
from saas.extensions import db
from saas.forms import CURRENCY_CODES

K = DocumentKind
Kind = Literal[tuple(k.value for k in DocumentKind)]  # type: ignore[valid-type]
DraftKind = Literal["quote", "order", "proforma", "invoice"]
Status = Literal[tuple(s.value for s in DocumentStatus)]  # type: ignore[valid-type]
CurrencyCode = Literal[tuple(CURRENCY_CODES)]  # type: ignore[valid-type]
TAG = "documents"
PATH_MODELS["document_id"] = Document


# --- models ------------------------------------------------------------------------------


class LineOut(ResponseModel):
    id: int
    position: int
    product_id: int | None
    description: str
    quantity: DecimalOut
    unit: str
    unit_price: DecimalOut
    discount_percent: DecimalOut
    net: DecimalOut
    vat_code: str
    vat_rate: DecimalOut
    site_id: int | None
    period_start: date | None
    period_end: date | None


class DocumentOut(ResponseModel):
    id: int
    kind: Kind
    status: Status
    number: str | None
    customer_id: int
    source_id: int | None
    currency: str
    language: str
    issue_date: date | None
    delivery_date: date | None
    due_date: date | None
    valid_until: date | None
    payment_terms_days: int
    payment_reference: str
    notes: str
    net_total: DecimalOut
    vat_total: DecimalOut
    gross_total: DecimalOut
    paid_total: DecimalOut
    created_at: datetime
    issued_at: datetime | None
    lines: list[LineOut]


class DeliveryOut(ResponseModel):
    id: int
    document_id: int
    recipient: str
    subject: str
    status: str
    created_at: datetime


class LineIn(RequestModel):
    description: text(2000) = ""
    quantity: Quantity
    product_id: Id | None = None
    unit: text(20) = ""
    unit_price: Money | None = Field(
        None, description="Leave out to price the product by the customer's price rules.")
    discount_percent: Percent | None = None
    vat_rate_id: Id | None = Field(None, description="Required unless the product has one.")
    site_id: Id | None = None


class DocumentIn(RequestModel):
    kind: DraftKind
    customer_id: Id
    currency: CurrencyCode | None = Field(None, description="Left out: the customer's.")
    delivery_date: date | None = None
    valid_until: date | None = None
    payment_terms_days: int | None = Field(None, ge=0, le=365)
    payment_reference: text(35) = ""
    notes: text(5000) = ""
    lines: list[LineIn] = Field(default_factory=list, max_length=500)


class LineQuantity(RequestModel):
    line_id: Id
    quantity: Quantity


class ConvertIn(RequestModel):
    lines: list[LineQuantity] | None = Field(
        None, max_length=500,
        description="Order → invoice only: the quantities to invoice per order line"
                    " (left out: all that is left).")


class CreditIn(RequestModel):
    lines: list[LineQuantity] | None = Field(
        None, max_length=500,
        description="The quantities to credit per invoice line, positive (left out: all"
                    " that is left to credit).")


class SendIn(RequestModel):
    recipient: EmailStr | None = Field(
        None, description="Left out: the customer's invoice address.")


class DocumentQuery(ListQuery):
    kind: Kind | None = None
    status: Status | None = None
    customer_id: Id | None = None


# --- helpers -----------------------------------------------------------------------------


def document_or_404(document_id: int) -> Document:
    document = db.session.scalar(select(Document).where(Document.id == document_id)
                                 .options(selectinload(Document.lines)))
    if document is None:
        raise not_found("document")
    return document


def _refused(exc: DocumentError, prefix: str = "",
             lines: list[LineQuantity] | None = None) -> ApiError:
    """The service's refusal, its field named as in the request (``lines.0.quantity``)."""
    db.session.rollback()
    field = exc.field
    if field and field.startswith("quantity-") and lines:
        # The services name a line's quantity by the line's id; the request by its place.
        places = {str(line.line_id): index for index, line in enumerate(lines)}
        place = places.get(field.removeprefix("quantity-"))
        field = f"lines.{place}.quantity" if place is not None else None
    fields = [{"field": f"{prefix}{field}", "message": str(exc)}] if field else []
    return ApiError(422, "unprocessable", str(exc), fields)


def _quantities(document: Document, lines: list[LineQuantity] | None) -> dict | None:
    if lines is None:
        return None
    own = {line.id for line in document.lines}
    chosen: dict[int, Decimal] = {}
    for index, line in enumerate(lines):
        if line.line_id not in own:
            raise ApiError(422, "validation_failed", "Some fields are not valid.",
                           [{"field": f"lines.{index}.line_id",
                             "message": f"Line {line.line_id} is not on {document.title}."}])
        chosen[line.line_id] = line.quantity
    return chosen


# --- views -------------------------------------------------------------------------------


@operation(bp, "GET", "/documents", summary="List documents", tag=TAG, query=DocumentQuery,
           response=page_of(DocumentOut))
def list_documents(query: DocumentQuery) -> dict[str, Any]:
    statement = select(Document).options(selectinload(Document.lines))
    if query.kind:
        statement = statement.where(Document.kind == DocumentKind(query.kind))
    if query.status:
        statement = statement.where(Document.status == DocumentStatus(query.status))
    if query.customer_id:
        statement = statement.where(Document.customer_id == query.customer_id)
    return page(statement, Document.id, query)


@operation(bp, "GET", "/documents/<int:document_id>", summary="Get a document with its lines",
           tag=TAG, response=DocumentOut)
def get_document(document_id: int) -> Document:
    return document_or_404(document_id)


@operation(bp, "POST", "/documents", summary="Create a draft (with lines)", tag=TAG,
           body=DocumentIn, response=DocumentOut, status=201)
def create_document(body: DocumentIn) -> Document:
    customer = db.session.get(Customer, body.customer_id)
    if customer is None:
        raise ApiError(422, "validation_failed", "Some fields are not valid.",
                       [{"field": "customer_id", "message": "No such customer in this company."}])
    values = body.model_dump(exclude={"kind", "customer_id", "lines"}, exclude_none=True)
    try:
        document = services.create_document(DocumentKind(body.kind), customer, values)
    except DocumentError as exc:
        raise _refused(exc) from None
    for index, line in enumerate(body.lines):
        try:
            services.add_line(document, line.model_dump())
        except DocumentError as exc:
            raise _refused(exc, f"lines.{index}.") from None
    return document


@operation(bp, "POST", "/documents/<int:document_id>/lines", summary="Add a line to a draft",
           tag=TAG, body=LineIn, response=DocumentOut, status=201)
def add_line(document_id: int, body: LineIn) -> Document:
    document = document_or_404(document_id)
    try:
        services.add_line(document, body.model_dump())
    except DocumentError as exc:
        raise _refused(exc) from None
    return document


@operation(bp, "POST", "/documents/<int:document_id>/issue",
           summary="Issue a draft: number, freeze, store the PDF", tag=TAG,
           response=DocumentOut)
def issue_document(document_id: int) -> Document:
    document = document_or_404(document_id)
    if not document.is_draft:
        raise ApiError(422, "unprocessable", f"{document.title} is issued already.")
    try:
        issuing.issue_document(document)
    except DocumentError as exc:
        raise _refused(exc) from None
    return document


@operation(bp, "POST", "/documents/<int:document_id>/convert",
           summary="Convert: quote → order, order → invoice, paid proforma → invoice",
           tag=TAG, body=ConvertIn, response=DocumentOut, status=201)
def convert_document(document_id: int, body: ConvertIn) -> Document:
    document = document_or_404(document_id)
    try:
        if document.kind == K.QUOTE:
            return conversion.convert_quote_to_order(document)
        if document.kind == K.ORDER:
            return conversion.invoice_order(document, _quantities(document, body.lines))
        if document.kind == K.PROFORMA:
            return conversion.convert_proforma(document)
    except DocumentError as exc:
        raise _refused(exc, lines=body.lines) from None
    raise ApiError(422, "unprocessable", f"A {document.kind.label.lower()} is not converted;"
                   " an invoice is credited.")


@operation(bp, "POST", "/documents/<int:document_id>/credit",
           summary="Credit an issued invoice: a draft credit note", tag=TAG, body=CreditIn,
           response=DocumentOut, status=201)
def credit_document(document_id: int, body: CreditIn) -> Document:
    document = document_or_404(document_id)
    try:
        return conversion.create_credit_note(document, _quantities(document, body.lines))
    except DocumentError as exc:
        raise _refused(exc, lines=body.lines) from None


@operation(bp, "POST", "/documents/<int:document_id>/send",
           summary="E-mail the issued document's PDF", tag=TAG, body=SendIn,
           response=DeliveryOut, status=202)
def send_document(document_id: int, body: SendIn) -> Any:
    document = document_or_404(document_id)
    try:
        return delivery_services.send_document(document, body.recipient)
    except DocumentError as exc:
        raise _refused(exc) from None


@operation(bp, "GET", "/documents/<int:document_id>/pdf",
           summary="The PDF: as issued (stored, never re-rendered), or a draft's preview",
           tag=TAG, response=None, media_type="application/pdf")
def document_pdf(document_id: int) -> Response:
    document = document_or_404(document_id)
    name = (document.number or f"draft-{document.kind.slug}-{document.id}").replace("/", "-")
    response = Response(stored_or_preview_pdf(document), mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}.pdf"'
    return response


@operation(bp, "GET", "/documents/<int:document_id>/ubl",
           summary="The e-invoice: UBL 2.1 (Peppol BIS Billing 3.0) of an issued invoice or"
                   " credit note", tag=TAG, response=None, media_type="application/xml")
def document_ubl(document_id: int) -> Response:
    document = document_or_404(document_id)
    try:
        xml = document_xml(document)
    except EInvoiceError as exc:
        raise ApiError(422, "not_an_e_invoice", str(exc)) from None
    response = Response(xml, mimetype="application/xml")
    name = document.number.replace("/", "-")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}.xml"'
    return response
