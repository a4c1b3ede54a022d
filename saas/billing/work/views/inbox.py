"""The billable-items inbox (R5.8, R5.9): customers with open items, one customer's items,
pulling them onto an invoice, writing off and reopening, the specification of an invoice."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

from flask import Response as FlaskResponse
from flask import flash, request, url_for
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload
from werkzeug.wrappers import Response

from saas.billing.customers.models import Customer
from saas.billing.documents.models import Document, DocumentLine
from saas.billing.documents.states import DocumentKind, DocumentStatus
from saas.billing.work import items as services
from saas.billing.work import specification
from saas.billing.work.forms import PeriodForm, WriteOffForm
from saas.billing.work.items import EVENTS, BillingError
from saas.billing.work.models import BillableItem, ItemStatus
from saas.billing.work.views import BILLERS, bp
from saas.extensions import db
from saas.htmx import redirect_to, render
from saas.tenants.access import ALL_ROLES, get_or_404, requires

RECENT = 50


@bp.route("/items")
@requires(ALL_ROLES)
def inbox_overview() -> Response:
    """Every customer with open items: how many, since when, how much."""
    rows = db.session.execute(
        select(
            BillableItem.customer_id,
            BillableItem.currency,
            func.count(BillableItem.id),
            func.min(BillableItem.occurred_on),
        )
        .where(BillableItem.status == ItemStatus.OPEN)
        .group_by(BillableItem.customer_id, BillableItem.currency)
    ).all()
    amounts: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    for item in db.session.scalars(
        select(BillableItem).where(BillableItem.status == ItemStatus.OPEN)
    ):
        amounts[item.customer_id, item.currency] += item.amount
    customers = (
        {
            c.id: c
            for c in db.session.scalars(
                select(Customer).where(Customer.id.in_({row[0] for row in rows}))
            )
        }
        if rows
        else {}
    )
    overview = sorted(
        (
            {
                "customer": customers[customer_id],
                "currency": currency,
                "count": count,
                "since": since,
                "amount": amounts[customer_id, currency],
            }
            for customer_id, currency, count, since in rows
        ),
        key=lambda row: (row["since"], row["customer"].name),
    )
    return render("work/inbox_overview.html", overview=overview)


def _period() -> tuple[PeriodForm, date | None, date | None]:
    form = PeriodForm(request.args, meta={"csrf": False})
    form.validate()
    return form, form.date_from.data, form.date_to.data


def _in_period(statement, date_from: date | None, date_to: date | None):  # noqa: ANN001, ANN202
    if date_from is not None:
        statement = statement.where(BillableItem.occurred_on >= date_from)
    if date_to is not None:
        statement = statement.where(BillableItem.occurred_on <= date_to)
    return statement


@bp.route("/items/customers/<int:customer_id>")
@requires(ALL_ROLES)
def inbox(customer_id: int, error: str | None = None, status: int = 200) -> Response:
    """One customer's open items of every source, to pull onto an invoice."""
    customer = get_or_404(Customer, customer_id)
    period_form, date_from, date_to = _period()
    base = (
        select(BillableItem)
        .options(joinedload(BillableItem.product), joinedload(BillableItem.site))
        .where(BillableItem.customer_id == customer.id)
    )
    open_items = db.session.scalars(
        _in_period(base.where(BillableItem.status == ItemStatus.OPEN), date_from, date_to).order_by(
            BillableItem.occurred_on, BillableItem.id
        )
    ).all()
    written_off = db.session.scalars(
        base.where(BillableItem.status == ItemStatus.WRITTEN_OFF)
        .order_by(BillableItem.occurred_on.desc())
        .limit(RECENT)
    ).all()
    invoiced = db.session.scalars(
        base.options(joinedload(BillableItem.document_line).joinedload(DocumentLine.document))
        .where(BillableItem.status == ItemStatus.INVOICED)
        .order_by(BillableItem.id.desc())
        .limit(RECENT)
    ).all()
    drafts = db.session.scalars(
        select(Document)
        .where(
            Document.customer_id == customer.id,
            Document.kind == DocumentKind.INVOICE,
            Document.status == DocumentStatus.DRAFT,
        )
        .order_by(Document.id.desc())
    ).all()
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for item in open_items:
        totals[item.currency] += item.amount
    return render(
        "work/inbox.html",
        customer=customer,
        open_items=open_items,
        written_off=written_off,
        invoiced=invoiced,
        drafts=drafts,
        totals=dict(totals),
        period_form=period_form,
        events=EVENTS,
        write_off_form=WriteOffForm(formdata=None),
        error=error,
        status=status,
    )


@bp.route("/items/customers/<int:customer_id>/bill", methods=["POST"])
@requires(BILLERS)
def bill(customer_id: int) -> Response:
    """Pull the ticked items — or all open items of the period — onto an invoice."""
    customer = get_or_404(Customer, customer_id)
    invoice = None
    invoice_id = request.form.get("invoice_id", type=int)
    if invoice_id:
        invoice = get_or_404(Document, invoice_id)
    if request.form.get("all_in_period"):
        try:
            date_from = (
                date.fromisoformat(request.form["date_from"])
                if request.form.get("date_from")
                else None
            )
            date_to = (
                date.fromisoformat(request.form["date_to"]) if request.form.get("date_to") else None
            )
        except ValueError:
            return inbox(customer.id, "Enter the period's days as dates.", 422)
        ids = db.session.scalars(
            _in_period(
                select(BillableItem.id).where(
                    BillableItem.customer_id == customer.id, BillableItem.status == ItemStatus.OPEN
                ),
                date_from,
                date_to,
            )
        ).all()
    else:
        try:
            ids = [int(value) for value in request.form.getlist("item_ids")]
        except ValueError:
            return inbox(customer.id, "Tick items from the list.", 422)
    try:
        document = services.bill_items(customer, ids, invoice=invoice, user_id=current_user.id)
    except BillingError as exc:
        db.session.rollback()
        return inbox(customer.id, str(exc), 422)
    count = len(ids)
    db.session.commit()
    flash(f"{count} item(s) put on {document.title}.", "success")
    return redirect_to(url_for("documents.show", document_id=document.id))


@bp.route("/items/<int:item_id>/write-off", methods=["POST"])
@requires(BILLERS)
def write_off(item_id: int) -> Response:
    item = get_or_404(BillableItem, item_id)
    form = WriteOffForm()
    try:
        if not form.validate_on_submit():
            raise BillingError("Say why the item is written off.", "reason")
        services.write_off(item, form.reason.data, user_id=current_user.id)
    except BillingError as exc:
        db.session.rollback()
        return inbox(item.customer_id, f"{item.description}: {exc}", 422)
    db.session.commit()
    flash(f"{item.description}: written off.", "success")
    return redirect_to(url_for("work.inbox", customer_id=item.customer_id))


@bp.route("/items/<int:item_id>/reopen", methods=["POST"])
@requires(BILLERS)
def reopen(item_id: int) -> Response:
    item = get_or_404(BillableItem, item_id)
    try:
        services.reopen(item, user_id=current_user.id)
    except BillingError as exc:
        db.session.rollback()
        return inbox(item.customer_id, str(exc), 422)
    db.session.commit()
    flash(f"{item.description}: open again.", "success")
    return redirect_to(url_for("work.inbox", customer_id=item.customer_id))


@bp.route("/items/invoices/<int:document_id>/specification.pdf")
@requires(ALL_ROLES)
def specification_pdf(document_id: int) -> FlaskResponse:
    """The specification of everything an invoice billed from items (R5.9)."""
    document = get_or_404(Document, document_id)
    attachment = specification.attachment(document)
    if attachment is None:
        flash(f"{document.title} billed no items: it has no specification.", "error")
        return redirect_to(url_for("documents.show", document_id=document.id))
    name, mime, data = attachment
    response = FlaskResponse(data, mimetype=mime)
    response.headers["Content-Disposition"] = f'inline; filename="{name}"'
    return response
