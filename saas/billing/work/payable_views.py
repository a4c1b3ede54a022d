"""Pages of payables (R5.10): suppliers and their price lists, payable items, netting
statements with partner agencies (and their PDF)."""

from __future__ import annotations

from flask import flash, make_response, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from saas.billing.customers.models import Customer
from saas.billing.documents.models import Document
from saas.billing.work import netting, payables
from saas.billing.work.models import Project
from saas.billing.work.netting_pdf import PrintLine, StatementPrint, render_netting
from saas.billing.work.payable_models import (
    NettingStatement,
    PayableItem,
    PayableStatus,
)
from saas.billing.work.source_forms import NettingForm, PayableForm, SupplierForm
from saas.extensions import db
from saas.htmx import redirect_to, render
from saas.tenants.access import (
    ALL_ROLES,
    MANAGERS,
    current_tenant,
    get_or_404,
    requires,
    staff_blueprint,
    tenant_today,
)
from saas.tenants.models import Role
from saas.tenants.services import ServiceError

bp = staff_blueprint("payables", __name__, "/payables")

EDITORS = MANAGERS | {Role.ACCOUNTANT, Role.STAFF}
# Settling with a partner makes an invoice or a debt: the accountant's.
SETTLERS = MANAGERS | {Role.ACCOUNTANT}


def _refused(form, exc: ServiceError, fallback: str) -> None:  # noqa: ANN001
    db.session.rollback()
    field = getattr(form, getattr(exc, "field", None) or fallback, None) or getattr(form, fallback)
    field.errors = [*field.errors, str(exc)]


def _project_choices() -> list[SelectChoice]:
    """The tenant's projects, for the payable form."""
    return [
        SelectChoice(str(p.id), f"{p.name} · {p.customer.name}")
        for p in db.session.scalars(
            select(Project).options(joinedload(Project.customer)).order_by(Project.name).limit(500)
        )
    ]


def _index(
    payable_form: PayableForm | None = None,
    supplier_form: SupplierForm | None = None,
    status: int = 200,
) -> Response:
    state = request.args.get("status", "open")
    statement = (
        select(PayableItem)
        .options(joinedload(PayableItem.supplier))
        .order_by(PayableItem.occurred_on.desc(), PayableItem.id.desc())
        .limit(300)
    )
    if state in set(PayableStatus):
        statement = statement.where(PayableItem.status == state)
    if payable_form is None:
        payable_form = PayableForm(formdata=None, projects=_project_choices())
        payable_form.occurred_on.data = tenant_today()
    return render(
        "work/payables.html",
        items=db.session.scalars(statement).all(),
        state=state,
        suppliers=payables.suppliers(),
        payable_form=payable_form,
        supplier_form=supplier_form or SupplierForm(formdata=None),
        statements=db.session.scalars(
            select(NettingStatement)
            .options(joinedload(NettingStatement.partner))
            .order_by(NettingStatement.id.desc())
            .limit(50)
        ).all(),
        statuses=list(PayableStatus),
        status=status,
    )


@bp.route("/")
@requires(ALL_ROLES)
def index() -> Response:
    return _index()


@bp.route("/", methods=["POST"])
@requires(EDITORS)
def record() -> Response:
    form = PayableForm(projects=_project_choices())
    if form.validate_on_submit():
        try:
            item = payables.record_payable(form.values(), user_id=current_user.id)
        except ServiceError as exc:
            _refused(form, exc, "unit_price")
        else:
            flash(
                f"Payable to {item.supplier.name} recorded at {item.unit_price} {item.currency}.",
                "success",
            )
            db.session.commit()
            return redirect_to(url_for("payables.index"))
    return _index(payable_form=form, status=422)


@bp.route("/suppliers", methods=["POST"])
@requires(MANAGERS | {Role.ACCOUNTANT})
def supplier() -> Response:
    form = SupplierForm()
    if form.validate_on_submit():
        customer = get_or_404(Customer, form.customer_id.data)
        try:
            payables.set_supplier_terms(
                customer, price_list_id=form.price_list_id.data, is_partner=form.is_partner.data
            )
        except ServiceError as exc:
            _refused(form, exc, "price_list_id")
        else:
            db.session.commit()
            flash(f"{customer.name} is a supplier.", "success")
            return redirect_to(url_for("payables.index"))
    return _index(supplier_form=form, status=422)


@bp.route("/<int:payable_id>/paid", methods=["POST"])
@requires(SETTLERS)
def paid(payable_id: int) -> Response:
    item = get_or_404(PayableItem, payable_id)
    try:
        payables.mark_paid(item, user_id=current_user.id)
    except ServiceError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash("Marked paid.", "success")
    return redirect_to(url_for("payables.index"))


# --- netting ------------------------------------------------------------------------------


@bp.route("/netting", methods=["GET", "POST"])
@requires(SETTLERS)
def netting_new() -> Response:
    """Choose a partner and period, see both sides, make the statement."""
    if request.method == "POST":  # settling: the form's CSRF token is checked
        form = NettingForm()
    else:  # looking (a GET form in the address bar): no token to check
        form = NettingForm(
            formdata=request.args if request.args.get("partner_id") else None, meta={"csrf": False}
        )
    if form.start.data is None:
        today = tenant_today()
        form.start.data, form.end.data = today.replace(day=1), today
    planned = None
    if (request.method == "POST" or request.args.get("partner_id")) and form.validate():
        partner = get_or_404(Customer, form.partner_id.data)
        try:
            if request.method == "POST" and request.form.get("confirm"):
                statement = netting.make_statement(
                    partner, form.start.data, form.end.data, user_id=current_user.id
                )
                db.session.commit()
                flash(f"Netting statement {statement.number} made.", "success")
                return redirect_to(url_for("payables.statement", statement_id=statement.id))
            planned = netting.preview(partner, form.start.data, form.end.data)
        except ServiceError as exc:
            _refused(form, exc, "partner_id")
    return render(
        "work/netting_new.html", form=form, planned=planned, status=422 if form.errors else 200
    )


@bp.route("/netting/<int:statement_id>")
@requires(ALL_ROLES)
def statement(statement_id: int) -> Response:
    found = get_or_404(NettingStatement, statement_id)
    document = db.session.get(Document, found.document_id) if found.document_id else None
    return render("work/netting_statement.html", statement=found, document=document)


@bp.route("/netting/<int:statement_id>/withdraw", methods=["POST"])
@requires(SETTLERS)
def statement_withdraw(statement_id: int) -> Response:
    found = get_or_404(NettingStatement, statement_id)
    number = found.number
    try:
        netting.withdraw_statement(found, user_id=current_user.id)
    except ServiceError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect_to(url_for("payables.statement", statement_id=statement_id))
    db.session.commit()
    flash(f"Netting statement {number} withdrawn: both sides are open again.", "success")
    return redirect_to(url_for("payables.index"))


@bp.route("/netting/<int:statement_id>.pdf")
@requires(ALL_ROLES)
def statement_pdf(statement_id: int) -> Response:
    found = get_or_404(NettingStatement, statement_id)
    document = db.session.get(Document, found.document_id) if found.document_id else None
    settled_by = (
        document.title if document else "Payable of the difference" if found.payable_item_id else ""
    )
    pdf = render_netting(
        StatementPrint(
            found.number,
            current_tenant().name,
            found.partner.name,
            found.period_start,
            found.period_end,
            found.currency,
            found.given_total,
            found.received_total,
            found.difference,
            found.outcome,
            settled_by,
            tuple(
                PrintLine(
                    line.side,
                    line.occurred_on,
                    line.description,
                    line.quantity,
                    line.unit,
                    line.unit_price,
                    line.net,
                )
                for line in found.lines
            ),
        )
    )
    response = make_response(pdf)
    response.mimetype = "application/pdf"
    response.headers["Content-Disposition"] = f'inline; filename="{found.number}.pdf"'
    return response
