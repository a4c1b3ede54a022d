"""Reminder pages: what went out and what to bill, the policy and its levels, pauses, letters."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from flask import Response as FlaskResponse
from flask import abort, flash, request, url_for
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload
from werkzeug.wrappers import Response

from saas.billing.catalog.forms import CatalogForm
from saas.billing.customers.models import Customer
from saas.billing.documents.models import Document
from saas.billing.documents.post import concatenate
from saas.billing.documents.printing import stored_or_preview_pdf
from saas.billing.documents.states import DocumentKind as K
from saas.billing.reminders import services
from saas.billing.reminders.forms import LevelForm, PauseForm, PolicyForm
from saas.billing.reminders.models import (
    Reminder,
    ReminderLevel,
    ReminderPause,
    ReminderPolicy,
    ReminderStatus,
)
from saas.billing.reminders.sweep import queue_sweep
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

bp = staff_blueprint("reminders", __name__, "/reminders")

# Who may pause reminders, bill their charges and run the sweep.
HANDLERS = MANAGERS | {Role.ACCOUNTANT, Role.COLLECTOR}
PAGE = 100



@bp.route("/")
@requires(ALL_ROLES)
def index() -> Response:
    status = request.args.get("status", "")
    statement = (select(Reminder).options(joinedload(Reminder.document),
                                          joinedload(Reminder.customer))
                 .order_by(Reminder.reminded_on.desc(), Reminder.id.desc()).limit(PAGE))
    if status in {s.value for s in ReminderStatus}:
        statement = statement.where(Reminder.status == status)
    counts = dict(db.session.execute(
        select(Reminder.status, func.count()).group_by(Reminder.status)).all())
    unbilled: dict[int, dict[str, object]] = {}
    for reminder in services.unbilled():
        row = unbilled.setdefault(reminder.customer_id, {
            "customer": reminder.customer, "count": 0, "totals": {}})
        row["count"] += 1
        totals = row["totals"]
        totals[reminder.currency] = totals.get(reminder.currency, 0) + reminder.charges
    return render("reminders/index.html", reminders=db.session.scalars(statement).all(),
                  current_status=status, counts=counts, unbilled=list(unbilled.values()),
                  policy=services.policy(), statuses=list(ReminderStatus),
                  paused=db.session.scalars(select(ReminderPause).order_by(
                      ReminderPause.created_at.desc())).all())


@bp.route("/sweep", methods=["POST"])
@requires(HANDLERS)
def sweep_now() -> Response:
    """Run this tenant's sweep now (in the background when there is a worker)."""
    policy = services.policy()
    if policy is None or not policy.enabled:
        flash("Reminders are switched off: set up the policy first.", "error")
        return redirect_to(url_for("reminders.policy"))
    queue_sweep(current_tenant().id, tenant_today())
    db.session.commit()  # the job is queued (or, without a worker, run) after this commit
    flash("The reminder sweep has run: reminders that were due are on their way.", "success")
    return redirect_to(url_for("reminders.index"))


@bp.route("/<int:reminder_id>/letter.pdf")
@requires(ALL_ROLES)
def letter(reminder_id: int) -> Response:
    from saas.billing.reminders.sending import letter_file_stem, letter_pdf

    reminder = get_or_404(Reminder, reminder_id)
    return _pdf(letter_pdf(reminder), letter_file_stem(reminder))


@bp.route("/invoice/<int:document_id>/demand.pdf")
@requires(ALL_ROLES)
def demand_with_invoice(document_id: int) -> Response:
    """A payment demand printed together with the invoice (R6.5): letter, then invoice."""
    from saas.billing.reminders.sending import demand_letter_now

    document = get_or_404(Document, document_id)
    if document.kind != K.INVOICE or not document.is_issued:
        abort(404)
    data = concatenate([demand_letter_now(document, tenant_today()),
                        stored_or_preview_pdf(document)])
    return _pdf(data, f"payment-demand-{(document.number or '').replace('/', '-')}")


def _pdf(data: bytes, stem: str) -> Response:
    response = FlaskResponse(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="{stem}.pdf"'
    return response


@bp.route("/bill/<int:customer_id>", methods=["POST"])
@requires(HANDLERS)
def bill(customer_id: int) -> Response:
    """Draft an invoice with the customer's unbilled reminder fees and interest."""
    customer = get_or_404(Customer, customer_id)
    try:
        drafts = services.bill_charges(customer, user_id=current_user.id)
    except services.ReminderError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect_to(url_for("reminders.index"))
    db.session.commit()
    flash(f"Drafted the reminder charges of {customer.name}: review and issue the invoice.",
          "success")
    return redirect_to(url_for("documents.show", document_id=drafts[0].id))


# --- pauses ------------------------------------------------------------------------------


@bp.route("/pause/invoice/<int:document_id>", methods=["POST"])
@requires(HANDLERS)
def pause_invoice(document_id: int) -> Response:
    document = get_or_404(Document, document_id)
    return _pause(url_for("documents.show", document_id=document.id), document=document)


@bp.route("/pause/customer/<int:customer_id>", methods=["POST"])
@requires(HANDLERS)
def pause_customer(customer_id: int) -> Response:
    customer = get_or_404(Customer, customer_id)
    return _pause(url_for("customers.show", customer_id=customer.id), customer=customer)


def _pause(back: str, **target: object) -> Response:
    form = PauseForm()
    if not form.validate_on_submit():
        flash("The reason is too long (2,000 characters at most).", "error")
        return redirect_to(back)
    try:
        services.pause(reason=form.reason.data or "", user_id=current_user.id, **target)
    except services.ReminderError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect_to(back)
    db.session.commit()
    flash("Reminders are paused.", "success")
    return redirect_to(back)


@bp.route("/pauses/<int:pause_id>/resume", methods=["POST"])
@requires(HANDLERS)
def resume(pause_id: int) -> Response:
    held = get_or_404(ReminderPause, pause_id)
    back = (url_for("documents.show", document_id=held.document_id) if held.document_id
            else url_for("customers.show", customer_id=held.customer_id))
    services.resume(held, user_id=current_user.id)
    db.session.commit()
    flash("Reminders resumed: the next sweep sends what is due.", "success")
    return redirect_to(back)


# --- the policy --------------------------------------------------------------------------


@bp.route("/policy", methods=["GET", "POST"])
@requires(MANAGERS)
def policy() -> Response:
    current = services.policy()
    form = PolicyForm(obj=current or ReminderPolicy(
        enabled=True, interest_rate=Decimal(0), min_days_between=7, notify_after_days=7,
        attach_invoice=True))
    if _saved(form, lambda values: services.update_policy(values, user_id=current_user.id),
              "enabled", "Reminder policy saved."):
        return redirect_to(url_for("reminders.policy"))
    return render("reminders/policy.html", form=form, policy=current,
                  levels=services.levels(), status=422 if form.errors else 200)


@bp.route("/policy/suggested", methods=["POST"])
@requires(MANAGERS)
def adopt_suggested() -> Response:
    services.adopt_suggested_policy(user_id=current_user.id)
    db.session.commit()
    flash("The suggested policy is in place: a friendly note, a reminder and a demand.",
          "success")
    return redirect_to(url_for("reminders.policy"))


@bp.route("/levels/new", methods=["GET", "POST"])
@requires(MANAGERS)
def new_level() -> Response:
    return _level_form(None)


@bp.route("/levels/<int:level_id>", methods=["GET", "POST"])
@requires(MANAGERS)
def level(level_id: int) -> Response:
    return _level_form(get_or_404(ReminderLevel, level_id))


def _level_form(level: ReminderLevel | None) -> Response:
    form = LevelForm(obj=level)
    if level is None and request.method == "GET":
        form.attach_letter.data = True
    if _saved(form, lambda values: services.save_level(level, values, user_id=current_user.id),
              "name", "Reminder level saved."):
        return redirect_to(url_for("reminders.policy"))
    return render("reminders/level.html", form=form, level=level,
                  status=422 if form.errors else 200)


@bp.route("/levels/<int:level_id>/delete", methods=["POST"])
@requires(MANAGERS)
def delete_level(level_id: int) -> Response:
    level = get_or_404(ReminderLevel, level_id)
    try:
        services.delete_level(level, user_id=current_user.id)
    except services.ReminderError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash("Reminder level removed.", "success")
    return redirect_to(url_for("reminders.policy"))


def _saved(form: CatalogForm, save: Callable[[dict], object], fallback: str,
           message: str) -> bool:
    """Validate and save; a refusal goes on its field (or the fallback). True when saved."""
    if not form.validate_on_submit():
        return False
    try:
        save(form.values())
    except services.ReminderError as exc:
        db.session.rollback()
        getattr(form, exc.field or fallback).errors = [str(exc)]
        return False
    db.session.commit()
    flash(message, "success")
    return True
