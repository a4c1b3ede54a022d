"""What the document views share: roles, loading a document of a kind, form refusals."""

from __future__ import annotations

from decimal import Decimal

from flask import abort, flash, url_for
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from saas.billing.documents.models import Document
from saas.billing.documents.services import DocumentError
from saas.billing.documents.states import DocumentKind
from saas.extensions import db
from saas.htmx import redirect_to
from saas.integrity import add_error
from saas.tenants.access import MANAGERS, get_or_404, has_role
from saas.tenants.models import Role

# These write drafts, quotes and orders ...
EDITORS = MANAGERS | {Role.ACCOUNTANT, Role.STAFF}
# ... and these issue and credit invoices, which the books depend on.
ISSUERS = MANAGERS | {Role.ACCOUNTANT}
FINANCIAL_KINDS = frozenset({DocumentKind.INVOICE, DocumentKind.PROFORMA,
                             DocumentKind.CREDIT_NOTE})


def quantity(value) -> str:
    """A quantity or percentage without needless zeros: 2.5000 → 2.5, 10.00 → 10."""
    from saas.billing.catalog.services import plain_decimal

    return "" if value is None else plain_decimal(Decimal(value))


def kind_or_404(slug: str) -> DocumentKind:
    kind = DocumentKind.from_slug(slug)
    if kind is None:
        abort(404)
    return kind


def load(document_id: int) -> Document:
    return get_or_404(Document, document_id)


def may_issue(document: Document) -> bool:
    if document.kind in FINANCIAL_KINDS:
        return has_role(Role.ADMIN, Role.ACCOUNTANT)
    return has_role(Role.ADMIN, Role.ACCOUNTANT, Role.STAFF)


def require_issuer(document: Document) -> None:
    if not may_issue(document):
        abort(403)


def back_refused(document_id: int, error: DocumentError) -> Response:
    """Undo the refused change and show its reason on the document's page."""
    flash(refuse(None, error), "error")
    return redirect_to(url_for("documents.show", document_id=document_id))


def refuse(form: FlaskForm | None, error: DocumentError) -> str:
    """Undo what the refused change did and put its reason on the field it concerns."""
    db.session.rollback()
    if form is not None and error.field in form._fields:
        add_error(form, error.field, str(error))
        return ""
    return str(error)
