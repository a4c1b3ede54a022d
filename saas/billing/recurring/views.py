"""Recurring invoice pages: the list, setting one up from an invoice, its occurrences."""

from __future__ import annotations

from flask import abort, flash, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from werkzeug.wrappers import Response

from saas.billing.documents.models import Document
from saas.billing.documents.states import DocumentKind as K
from saas.billing.recurring import services
from saas.billing.recurring.forms import RecurringForm
from saas.billing.recurring.models import RecurringInvoice, RecurringStatus
from saas.billing.recurring.schedule import Unit
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

bp = staff_blueprint("recurring", __name__, "/recurring")

EDITORS = MANAGERS | {Role.ACCOUNTANT, Role.STAFF}
ACTIONS = {"pause": RecurringStatus.PAUSED, "resume": RecurringStatus.ACTIVE,
           "stop": RecurringStatus.STOPPED}



@bp.route("/")
@requires(ALL_ROLES)
def index() -> Response:
    schedules = db.session.scalars(
        select(RecurringInvoice).options(joinedload(RecurringInvoice.customer),
                                         joinedload(RecurringInvoice.source))
        .order_by(RecurringInvoice.status, RecurringInvoice.next_date,
                  RecurringInvoice.id)).all()
    return render("recurring/index.html", schedules=schedules, describe=services.describe)


@bp.route("/new/<int:document_id>", methods=["GET", "POST"])
@requires(EDITORS)
def new(document_id: int) -> Response:
    source = get_or_404(Document, document_id)
    if source.kind != K.INVOICE:
        abort(404)
    form = RecurringForm()
    if request.method == "GET":
        form.every.data, form.unit.data = 1, Unit.MONTHS.value
        form.start_date.data, form.issue.data = tenant_today(), True
    if form.validate_on_submit():
        try:
            recurring = services.create(source, form.values(), user_id=current_user.id,
                                        today=tenant_today())
        except services.RecurringError as exc:
            db.session.rollback()
            getattr(form, exc.field or "every").errors = [str(exc)]
        else:
            db.session.commit()
            flash(f"{source.title} repeats {services.describe(recurring)}.", "success")
            return redirect_to(url_for("recurring.show", recurring_id=recurring.id))
    return render("recurring/new.html", form=form, source=source,
                  status=422 if form.errors else 200)


@bp.route("/<int:recurring_id>")
@requires(ALL_ROLES)
def show(recurring_id: int) -> Response:
    recurring = get_or_404(RecurringInvoice, recurring_id)
    return render("recurring/show.html", recurring=recurring, describe=services.describe)


@bp.route("/<int:recurring_id>/status", methods=["POST"])
@requires(EDITORS)
def change_status(recurring_id: int) -> Response:
    recurring = get_or_404(RecurringInvoice, recurring_id)
    target = ACTIONS.get(request.form.get("action", ""))
    if target is None:
        abort(400)
    try:
        services.set_status(recurring, target, user_id=current_user.id)
    except services.RecurringError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash(f"Repeating {recurring.source.title}: {target.value}.", "success")
    return redirect_to(url_for("recurring.show", recurring_id=recurring.id))


@bp.route("/run", methods=["POST"])
@requires(EDITORS)
def run_now() -> Response:
    """Make what is due now (in the background when there is a worker)."""
    services.queue_run(current_tenant().id, tenant_today())
    db.session.commit()
    flash("Recurring invoices that were due are made.", "success")
    return redirect_to(url_for("recurring.index"))
