"""What the payment views share: who may do what, and what a document's page shows."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import abort, request
from flask_wtf import FlaskForm

from saas.billing.documents.models import Document
from saas.billing.documents.states import DocumentKind, DocumentStatus
from saas.billing.payments import services
from saas.billing.payments.forms import PaymentForm
from saas.billing.payments.services import PaymentError
from saas.extensions import db
from saas.integrity import add_error
from saas.tenants.access import MANAGERS, get_or_404, has_role
from saas.tenants.models import Role

K, S = DocumentKind, DocumentStatus
# These record money received and say what it settles, and undo an allocation ...
RECORDERS = MANAGERS | {Role.ACCOUNTANT, Role.STAFF}
# ... and these undo a payment or pay money back, which the bank account depends on.
BOOKKEEPERS = MANAGERS | {Role.ACCOUNTANT}


def refuse(form: FlaskForm | None, error: PaymentError) -> str:
    """Undo what the refused change did; its reason on the field it concerns, or returned."""
    db.session.rollback()
    if form is not None and error.field in form._fields:
        add_error(form, error.field, str(error))
        return ""
    return str(error)


def may_record() -> bool:
    return has_role(Role.ADMIN, Role.ACCOUNTANT, Role.STAFF)


def may_book() -> bool:
    return has_role(Role.ADMIN, Role.ACCOUNTANT)


def day_arg(name: str) -> date | None:
    try:
        return date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None


def issued_document(document_id: int, *kinds: DocumentKind) -> Document:
    """An issued document of one of the kinds, or 404."""
    document = get_or_404(Document, document_id)
    if document.kind not in kinds or not document.is_issued:
        abort(404)
    return document


def payment_form(document: Document, formdata: Any = None) -> PaymentForm:
    """The form that records a payment of the document: its open amount, today."""
    form = PaymentForm(formdata=formdata)
    if formdata is None:
        form.amount.data = (document.gross_total if document.kind == K.PROFORMA
                            else document.open_amount)
        form.received_on.data = services.today()
    return form


def document_panel(document: Document, **extra: Any) -> dict[str, Any]:
    """What an issued invoice's, credit note's or proforma's page shows of its payments."""
    if not document.is_issued or document.kind not in (K.INVOICE, K.CREDIT_NOTE, K.PROFORMA):
        return {}
    context: dict[str, Any] = {"allocations": services.allocations_of(document),
                               "may_record": may_record()}
    if document.kind == K.INVOICE and document.open_amount > 0 and (
        document.status in services.SETTLEABLE
    ):
        context["payment_form"] = payment_form(document)
    elif document.kind == K.PROFORMA and document.status == S.ISSUED:
        context["payment_form"] = payment_form(document)
    elif document.kind == K.CREDIT_NOTE and services.credit_note_left(document) > 0:
        context["open_invoices"] = services.open_invoices(document.customer_id,
                                                          document.currency)
    context.update(extra)
    return {"payments_panel": context}
