"""Issuing, state changes, conversions, partial invoices, credit notes, PDFs, numbering."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask import Response as FlaskResponse
from flask import abort, flash, request, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from saas.billing.documents import conversion, issuing, services
from saas.billing.documents import delivery as delivery_services
from saas.billing.documents.forms import SeriesForm
from saas.billing.documents.models import Delivery, Document
from saas.billing.documents.numbering import format_number
from saas.billing.documents.printing import stored_or_preview_pdf
from saas.billing.documents.services import DocumentError
from saas.billing.documents.states import DocumentKind, DocumentStatus
from saas.billing.documents.views import bp
from saas.billing.documents.views.common import (
    EDITORS,
    back_refused,
    kind_or_404,
    load,
    may_issue,
    refuse,
    require_issuer,
)
from saas.extensions import db
from saas.htmx import redirect_to, render
from saas.tenants.access import ALL_ROLES, MANAGERS, get_or_404, requires
from saas.tenants.models import Role

K, S = DocumentKind, DocumentStatus
# The state changes a user may make by hand. Paid follows payments: a proforma's is
# recorded on its page (payments.record_for_invoice), an invoice's by its allocations.
MANUAL_MOVES = {
    K.QUOTE: {S.ACCEPTED, S.DECLINED, S.EXPIRED},
}


def _back(document, message: str | None = None, category: str = "success") -> Response:
    if message:
        flash(message, category)
    return redirect_to(url_for("documents.show", document_id=document.id))


@bp.route("/<int:document_id>/issue", methods=["POST"])
@requires(EDITORS)
def issue(document_id: int) -> Response:
    document = load(document_id)
    require_issuer(document)
    try:
        issuing.issue_document(document, user_id=current_user.id)
    except DocumentError as exc:
        return back_refused(document_id, exc)
    db.session.commit()
    return _back(document, f"{document.title} issued.")


@bp.route("/<kind>/issue-selected", methods=["POST"])
@requires(EDITORS)
def issue_selected(kind: str) -> Response:
    """Issue the ticked drafts of a list at once, numbered in the order shown; all or none."""
    document_kind = kind_or_404(kind)
    ids = [int(value) for value in request.form.getlist("selected") if value.isdigit()]
    back = url_for("documents.index", kind=kind, status="draft")
    documents = db.session.scalars(
        select(Document).where(Document.id.in_(ids), Document.kind == document_kind)
        .order_by(Document.id)).all()
    if not ids or len(documents) != len(set(ids)):
        flash("Tick the drafts to issue.", "error")
        return redirect_to(back)
    for document in documents:
        require_issuer(document)
    try:
        issuing.issue_documents(documents, user_id=current_user.id)
    except DocumentError as exc:
        flash(refuse(None, exc), "error")
        return redirect_to(back)
    db.session.commit()
    label = document_kind.plural if len(documents) > 1 else document_kind.label
    flash(f"{len(documents)} {label.lower()} issued: {documents[0].number} –"
          f" {documents[-1].number}.", "success")
    return redirect_to(url_for("documents.index", kind=kind))


@bp.route("/<int:document_id>/status", methods=["POST"])
@requires(EDITORS)
def move(document_id: int) -> Response:
    document = load(document_id)
    require_issuer(document)
    try:
        target = DocumentStatus(request.form.get("status", ""))
    except ValueError:
        abort(400)
    if target not in MANUAL_MOVES.get(document.kind, set()):
        return _back(document, f"{document.title} cannot be set to {target.label.lower()}"
                     " by hand.", "error")
    try:
        services.move(document, target, user_id=current_user.id)
    except DocumentError as exc:
        return back_refused(document_id, exc)
    db.session.commit()
    return _back(document, f"{document.title} is now {target.label.lower()}.")


@bp.route("/<int:document_id>/convert", methods=["POST"])
@requires(EDITORS)
def convert(document_id: int) -> Response:
    """Quote → draft order; paid proforma → the final invoice."""
    document = load(document_id)
    require_issuer(document)
    try:
        if document.kind == K.QUOTE:
            made = conversion.convert_quote_to_order(document, user_id=current_user.id)
        elif document.kind == K.PROFORMA:
            made = conversion.convert_proforma(document, user_id=current_user.id)
        else:
            raise DocumentError(f"A {document.kind.label.lower()} is not converted.")
    except DocumentError as exc:
        return back_refused(document_id, exc)
    db.session.commit()
    return _back(made, f"{made.title} made from {document.title}.")


def _quantities(document, remaining: dict[int, Decimal]) -> tuple[dict[int, Decimal], dict]:
    """The quantities typed per line ("quantity-<line id>"), and per-line errors."""
    chosen: dict[int, Decimal] = {}
    errors: dict[int, str] = {}
    for line in document.lines:
        text = request.form.get(f"quantity-{line.id}", "").strip()
        if not text:
            continue
        try:
            chosen[line.id] = Decimal(text)
        except InvalidOperation:
            errors[line.id] = "Not a number."
    return chosen, errors


def _take_part(document_id: int, kind: DocumentKind) -> Response:
    """The form to invoice part of an order, or credit part of an invoice."""
    source = load(document_id)
    require_issuer(source)
    if kind == K.INVOICE:
        remaining = conversion.order_remaining(source) if source.kind == K.ORDER else {}
        make = conversion.invoice_order
    else:
        remaining = conversion.credit_remaining(source) if source.kind == K.INVOICE else {}
        make = conversion.create_credit_note
    if not remaining:
        abort(404)
    errors: dict[int, str] = {}
    message = ""
    entered: dict[int, str] = {}
    if request.method == "POST":
        chosen, errors = _quantities(source, remaining)
        entered = {line.id: request.form.get(f"quantity-{line.id}", "") for line in source.lines}
        if not errors:
            try:
                made = make(source, chosen, user_id=current_user.id)
            except DocumentError as exc:
                message = refuse(None, exc)
                source = load(document_id)
                remaining = (conversion.order_remaining(source) if kind == K.INVOICE
                             else conversion.credit_remaining(source))
            else:
                db.session.commit()
                return _back(made, f"{made.title} made from {source.title}: check it, then"
                             " issue it.")
    return render("documents/take_part.html", source=source, kind=kind, remaining=remaining,
                  errors=errors, message=message, entered=entered,
                  status=422 if errors or message else 200)


@bp.route("/<int:document_id>/invoice", methods=["GET", "POST"])
@requires(EDITORS)
def invoice_order(document_id: int) -> Response:
    return _take_part(document_id, K.INVOICE)


@bp.route("/<int:document_id>/credit", methods=["GET", "POST"])
@requires(EDITORS)
def credit(document_id: int) -> Response:
    return _take_part(document_id, K.CREDIT_NOTE)


@bp.route("/<int:document_id>/send", methods=["POST"])
@requires(EDITORS)
def send(document_id: int) -> Response:
    """E-mail the issued document's PDF (to the address typed, or the customer's)."""
    document = load(document_id)
    require_issuer(document)
    try:
        delivery = delivery_services.send_document(
            document, request.form.get("recipient", ""), user_id=current_user.id)
    except DocumentError as exc:
        return back_refused(document_id, exc)
    db.session.commit()
    return _back(document, f"{document.title} is on its way to {delivery.recipient}.")


@bp.route("/<int:document_id>/deliveries")
@requires(ALL_ROLES)
def deliveries(document_id: int) -> Response:
    """The document's delivery log alone: the page polls it while messages are on their way."""
    document = load(document_id)
    if not document.is_issued:
        abort(404)
    return render("documents/show.html", block="deliveries_panel", document=document,
                  deliveries=delivery_services.deliveries_of(document),
                  may_issue=may_issue(document))


@bp.route("/<int:document_id>/deliveries/<int:delivery_id>/resend", methods=["POST"])
@requires(EDITORS)
def resend(document_id: int, delivery_id: int) -> Response:
    """Send a delivery's message again (after a failure, or on the customer's request)."""
    document = load(document_id)
    require_issuer(document)
    delivery = get_or_404(Delivery, delivery_id)
    if delivery.document_id != document.id or delivery.channel != "email":
        abort(404)
    again = delivery_services.resend(delivery, user_id=current_user.id)
    db.session.commit()
    return _back(document, f"{again.subject} is on its way again to {again.recipient}.")


@bp.route("/<int:document_id>/pdf")
@requires(ALL_ROLES)
def pdf(document_id: int) -> Response:
    """The stored PDF of an issued document (never re-rendered); a draft's preview."""
    document = load(document_id)
    data = stored_or_preview_pdf(document)
    name = (document.number or f"draft-{document.kind.slug}-{document.id}").replace("/", "-")
    disposition = "attachment" if request.args.get("download") else "inline"
    response = FlaskResponse(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'{disposition}; filename="{name}.pdf"'
    if document.is_issued:
        response.headers["ETag"] = document.pdf_sha256 or ""
    return response


@bp.route("/numbering", methods=["GET", "POST"])
@requires(MANAGERS | {Role.ACCOUNTANT})
def numbering() -> Response:
    """The number format and counter reset of each kind."""
    forms = {}
    saved = None
    for kind in DocumentKind:
        series = issuing.series_for(kind)
        prefix = kind.value
        form = SeriesForm(prefix=prefix, formdata=request.form if (
            request.method == "POST" and request.form.get("kind") == prefix) else None,
            obj=series)
        if request.method == "POST" and request.form.get("kind") == prefix and (
            form.validate_on_submit()
        ):
            try:
                issuing.update_series(kind, form.format.data, form.reset.data)
            except DocumentError as exc:
                refuse(form, exc)
            else:
                db.session.commit()
                saved = kind
        forms[kind] = form
    if request.method == "GET":
        db.session.commit()  # the series created on first use
    today = services.today()
    samples = {kind: format_number(form.format.data or "", today, 1)
               if not form.format.errors else "" for kind, form in forms.items()}
    failed = any(form.errors for form in forms.values())
    return render("documents/numbering.html", forms=forms, samples=samples, saved=saved,
                  status=422 if failed else 200)
