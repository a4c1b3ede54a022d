"""Lists per kind, starting a draft, and the editor whose lines update in place."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from flask import abort, flash, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from saas.billing.catalog.models import Product
from saas.billing.customers.models import Customer
from saas.billing.customers.services import customer_search
from saas.billing.documents import conversion, queries, services
from saas.billing.documents.delivery import default_recipient, deliveries_of
from saas.billing.documents.forms import HeaderForm, LineForm
from saas.billing.documents.models import DocumentLine
from saas.billing.documents.services import DocumentError
from saas.billing.documents.states import DocumentKind, statuses
from saas.billing.documents.views import bp
from saas.billing.documents.views.common import (
    EDITORS,
    back_refused,
    kind_or_404,
    load,
    may_issue,
    refuse,
)
from saas.billing.payments.views.common import document_panel as payments_panel
from saas.billing.reminders import services as reminder_services
from saas.extensions import db
from saas.htmx import redirect_to, render, wants_fragment
from saas.pagination import paginate
from saas.tenants.access import ALL_ROLES, get_or_404, requires

PAGE_SIZE = 25


def _date_arg(name: str) -> date | None:
    try:
        return date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None


def _list_filters(document_kind: DocumentKind) -> queries.ListFilters:
    return queries.ListFilters(
        kind=document_kind, q=request.args.get("q", "").strip(),
        status=request.args.get("status", ""), customer_id=request.args.get("customer", type=int),
        date_from=_date_arg("from"), date_to=_date_arg("to"),
        overdue=request.args.get("overdue") == "1",
        undelivered=request.args.get("undelivered") == "1",
    )


@bp.route("/<kind>/")
@requires(ALL_ROLES)
def index(kind: str) -> Response:
    """The list, a page at a time; its sums (count, net, gross per currency) come apart.

    The sums read every matching document (100,000 invoices unfiltered) while a page reads
    25 rows from the index in the list's order, so the page does not wait for them: its
    footer asks for them when it is shown (htmx, ``totals=1``, target ``document-sums``),
    and without JavaScript a link does. ``?totals=1`` on a whole page shows them inline.
    """
    document_kind = kind_or_404(kind)
    filters = _list_filters(document_kind)
    today = services.today()
    url_args = {"kind": kind, **{k: v for k, v in {
        "q": filters.q, "status": filters.status, "customer": filters.customer_id,
        "from": filters.date_from, "to": filters.date_to,
        "overdue": "1" if filters.overdue else None,
        "undelivered": "1" if filters.undelivered else None}.items() if v}}
    with_sums = request.args.get("totals") == "1"
    context = {"kind": document_kind, "filters": filters, "url_args": url_args,
               "sums_url": url_for("documents.index", **url_args, totals="1"),
               "sums": queries.document_sums(filters, today) if with_sums else None,
               "today": today, "statuses": statuses(document_kind)}
    target = request.headers.get("HX-Target") if wants_fragment() else None
    if target == "document-sums" and with_sums:
        return render("documents/list.html", block="sums", **context)
    context["page"] = paginate(queries.document_list(filters, today),
                               request.args.get("page", 1, type=int), PAGE_SIZE,
                               count_from=queries.document_ids(filters, today))
    if target == "document-results":
        return render("documents/list.html", block="results", **context)
    return render("documents/list.html", **context)


@bp.route("/<kind>/new", methods=["GET", "POST"])
@requires(EDITORS)
def new(kind: str) -> Response:
    """Pick the customer (active search), then the draft opens in the editor."""
    document_kind = kind_or_404(kind)
    if request.method == "POST":
        customer = get_or_404(Customer, request.form.get("customer_id", type=int) or 0)
        try:
            document = services.create_document(document_kind, customer,
                                                user_id=current_user.id)
        except DocumentError as exc:
            flash(refuse(None, exc), "error")
            return redirect_to(url_for("documents.new", kind=kind))
        db.session.commit()
        return redirect_to(url_for("documents.show", document_id=document.id))
    q = request.args.get("q", "").strip()
    customers = db.session.scalars(customer_search(q).limit(15)).all()
    context = {"kind": document_kind, "q": q, "customers": customers}
    if wants_fragment() and request.headers.get("HX-Target") == "customer-choices":
        return render("documents/new.html", block="customer_choices", **context)
    return render("documents/new.html", **context)


def _editor_context(document, **extra):
    context = {
        "document": document,
        "totals": services.document_totals(document),
        "family": conversion.chain_of(document) if document.is_issued or document.source_id
        else [],
        "may_issue": may_issue(document),
        "deliveries": deliveries_of(document) if document.is_issued else [],
        "recipient": default_recipient(document) if document.is_issued else "",
    }
    if document.is_issued and document.kind == DocumentKind.INVOICE:
        context["reminders"] = reminder_services.of_document(document)
        context["reminder_pause"] = reminder_services.pause_of(document=document)
    context.update(payments_panel(document))
    if document.is_draft:
        context.setdefault("header_form", HeaderForm(obj=document, formdata=None))
        context.setdefault("line_form", LineForm(formdata=None, customer_id=document.customer_id,
                                                 quantity=Decimal(1)))
    context.update(extra)
    return context


@bp.route("/<int:document_id>")
@requires(ALL_ROLES)
def show(document_id: int) -> Response:
    document = load(document_id)
    return render("documents/show.html", **_editor_context(document))


@bp.route("/<int:document_id>/header", methods=["POST"])
@requires(EDITORS)
def header(document_id: int) -> Response:
    document = load(document_id)
    form = HeaderForm()
    if form.validate_on_submit():
        try:
            services.update_header(document, form.values())
        except DocumentError as exc:
            refuse(form, exc)
        else:
            db.session.commit()
            if not wants_fragment():
                flash("Saved.", "success")
                return redirect_to(url_for("documents.show", document_id=document.id))
            return render("documents/show.html", block="header_panel",
                          **_editor_context(document, header_form=form, header_saved=True))
    return render("documents/show.html", block="header_panel", status=422,
                  **_editor_context(document, header_form=form))


def _lines_response(document, status: int = 200, **extra) -> Response:
    if not wants_fragment():
        return redirect_to(url_for("documents.show", document_id=document.id))
    return render("documents/show.html", block="lines_panel", status=status,
                  **_editor_context(document, **extra))


@bp.route("/<int:document_id>/lines", methods=["POST"])
@requires(EDITORS)
def add_line(document_id: int) -> Response:
    document = load(document_id)
    form = LineForm(customer_id=document.customer_id)
    message = ""
    if form.validate_on_submit():
        try:
            services.add_line(document, form.values())
        except DocumentError as exc:
            message = refuse(form, exc)
            document = load(document_id)
        else:
            db.session.commit()
            return _lines_response(document)
    if not wants_fragment():
        return render("documents/show.html", status=422,
                      **_editor_context(document, line_form=form, line_message=message))
    return _lines_response(document, status=422, line_form=form, line_message=message)


def _line(document_id: int, line_id: int) -> DocumentLine:
    line = get_or_404(DocumentLine, line_id)
    if line.document_id != document_id:
        abort(404)
    return line


@bp.route("/<int:document_id>/lines/<int:line_id>")
@requires(ALL_ROLES)
def line_row(document_id: int, line_id: int) -> Response:
    line = _line(document_id, line_id)
    return render("documents/_line_row.html", line=line, document=line.document)


@bp.route("/<int:document_id>/lines/<int:line_id>/edit", methods=["GET", "POST"])
@requires(EDITORS)
def edit_line(document_id: int, line_id: int) -> Response:
    line = _line(document_id, line_id)
    document = line.document
    if request.method == "GET":
        form = LineForm(obj=line, formdata=None, customer_id=document.customer_id)
        return render("documents/_line_row.html", line=line, document=document,
                      row_editing=True, edit_form=form)
    form = LineForm(obj=line, customer_id=document.customer_id)
    if form.validate_on_submit():
        try:
            services.update_line(line, form.values())
        except DocumentError as exc:
            refuse(form, exc)
            line = _line(document_id, line_id)
        else:
            db.session.commit()
            return _lines_response(document)
    return render("documents/_line_row.html", line=line, document=line.document,
                  row_editing=True, edit_form=form, status=422)


@bp.route("/<int:document_id>/lines/<int:line_id>/delete", methods=["POST"])
@requires(EDITORS)
def remove_line(document_id: int, line_id: int) -> Response:
    line = _line(document_id, line_id)
    document = line.document
    try:
        services.remove_line(line)
    except DocumentError as exc:
        return back_refused(document_id, exc)
    db.session.commit()
    return _lines_response(document)


@bp.route("/<int:document_id>/price")
@requires(ALL_ROLES)
def price_preview(document_id: int) -> Response:
    """What the price rules say for the product and quantity being typed in the line form."""
    document = load(document_id)
    form = LineForm(request.args, meta={"csrf": False}, customer_id=document.customer_id)
    preview = error = None
    form.validate()
    if form.product_id.data and form.quantity.data is not None and not form.quantity.errors:
        product = get_or_404(Product, form.product_id.data)
        try:
            preview = services.price_line(document, product, form.quantity.data)
        except DocumentError as exc:
            error = str(exc)
    return render("documents/_price_preview.html", preview=preview, error=error,
                  document=document)


@bp.route("/<int:document_id>/delete", methods=["POST"])
@requires(EDITORS)
def delete(document_id: int) -> Response:
    document = load(document_id)
    kind = document.kind
    try:
        services.delete_draft(document)
    except DocumentError as exc:
        return back_refused(document_id, exc)
    db.session.commit()
    flash(f"Draft {kind.label.lower()} deleted.", "success")
    return redirect_to(url_for("documents.index", kind=kind.slug))


@bp.app_context_processor
def _document_kinds() -> dict[str, object]:
    return {"DocumentKind": DocumentKind}

