"""The bureau's own pages (R8): the cross-client work queue, its clients (onboarding,
invite code, assignments, mode, fees, the end), print runs across clients, and its fees.

Only a bureau has them (404 elsewhere). A member sees the clients they serve — all of
them for owners and admins, the assigned ones for everyone else — and nothing of the rest:
print runs that carry another client's letters are not listed to them either.
"""

from __future__ import annotations

from flask import Response as FlaskResponse
from flask import abort, flash, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from werkzeug.wrappers import Response

from saas.billing.work.items import BillingError
from saas.extensions import db
from saas.htmx import redirect_to, render
from saas.outsourced_service import clients, fees, post_runs
from saas.outsourced_service.clients import BureauError, ServedClient
from saas.outsourced_service.forms import FeesForm, ModeForm, MonthForm, OnboardForm
from saas.outsourced_service.models import BureauActivity, BureauClient, BureauPostBatch, Side
from saas.outsourced_service.queue import queues_of
from saas.tenants.access import (
    ALL_ROLES,
    MANAGERS,
    current_membership,
    current_tenant,
    get_or_404,
    requires,
    staff_blueprint,
    tenant_today,
)
from saas.tenants.models import BureauMode, Role, TenantKind

bp = staff_blueprint("bureau", __name__, "/bureau")

FEE_KEEPERS = MANAGERS | {Role.ACCOUNTANT}


@bp.before_request
def _only_bureaus() -> None:
    # Runs after the membership check: members of a business find nothing here.
    if current_tenant().kind is not TenantKind.BUREAU:
        abort(404)


def _my_clients() -> list[ServedClient]:
    return clients.clients_of(current_user.id, current_membership().role)


# --- the work queue ------------------------------------------------------------------------


@bp.route("/")
@requires(ALL_ROLES)
def queue() -> Response:
    """Per client the member serves, what waits, with links into the client."""
    served = _my_clients()
    return render("bureau/queue.html", served=served, queues=queues_of(served))


# --- clients -------------------------------------------------------------------------------


@bp.route("/clients")
@requires(MANAGERS)
def client_list() -> Response:
    served = _my_clients()
    ended = db.session.scalars(
        select(BureauClient).options(joinedload(BureauClient.client))
        .where(BureauClient.ended_at.is_not(None))
        .order_by(BureauClient.ended_at.desc()).limit(20)).all()
    return render(
        "bureau/clients.html",
        served=served,
        ended=ended,
        members=clients.members_to_assign(),
        assigned=clients.assigned_user_ids([entry.client.id for entry in served]),
        invite_code=clients.invite_code(current_tenant()),
        invite_days=clients.INVITE_MAX_AGE // 86400,
        mode_form=ModeForm(formdata=None),
    )


@bp.route("/clients/new", methods=["GET", "POST"])
@requires(MANAGERS)
def onboard() -> Response:
    """Set up a new company that the bureau serves from its first day."""
    form = OnboardForm()
    if form.validate_on_submit():
        values = {name: form[name].data for name in (
            "name", "country", "currency", "locale", "timezone", "email", *clients.PROFILE)}
        try:
            client = clients.onboard_client(current_tenant(), values,
                                            mode=BureauMode(form.mode.data), user=current_user)
        except BureauError as exc:
            db.session.rollback()
            form.name.errors.append(str(exc))
        else:
            db.session.commit()
            flash(f"{client.name} is set up. Fill in its bank account, logo and VAT rates"
                  " from its settings.", "success")
            return redirect_to(url_for("tenant.settings", tenant_slug=client.slug))
    return render("bureau/onboard.html", form=form, status=422 if form.errors else 200)


def _open_link(bureau_client_id: int) -> BureauClient:
    link = get_or_404(BureauClient, bureau_client_id)
    if not link.is_open:
        abort(404)
    return link


def _back(message: str, category: str = "success") -> Response:
    flash(message, category)
    return redirect_to(url_for("bureau.client_list"))


@bp.route("/clients/<int:bureau_client_id>/assignments", methods=["POST"])
@requires(MANAGERS)
def assignments(bureau_client_id: int) -> Response:
    link = _open_link(bureau_client_id)
    try:
        clients.set_assignments(link, request.form.getlist("user_ids", type=int),
                                user_id=current_user.id)
    except BureauError as exc:
        db.session.rollback()
        return _back(str(exc), "error")
    db.session.commit()
    return _back(f"Who works for {link.client.name} is saved.")


@bp.route("/clients/<int:bureau_client_id>/fees", methods=["POST"])
@requires(MANAGERS)
def client_fees(bureau_client_id: int) -> Response:
    link = _open_link(bureau_client_id)
    form = FeesForm()
    if form.validate_on_submit():
        clients.set_fees(link, {name: form[name].data for name in clients.FEES},
                         user_id=current_user.id)
        db.session.commit()
    return _back(f"The fees of {link.client.name} are saved.")


@bp.route("/clients/<int:bureau_client_id>/mode", methods=["POST"])
@requires(MANAGERS)
def client_mode(bureau_client_id: int) -> Response:
    link = _open_link(bureau_client_id)
    form = ModeForm()
    if form.validate_on_submit():
        clients.set_mode(link.client, BureauMode(form.mode.data), side=Side.BUREAU,
                         user_id=current_user.id)
        db.session.commit()
    return _back(f"{link.client.name}: {link.client.bureau_mode.label}.")


@bp.route("/clients/<int:bureau_client_id>/end", methods=["POST"])
@requires(MANAGERS)
def end(bureau_client_id: int) -> Response:
    link = _open_link(bureau_client_id)
    name = link.client.name
    clients.end_service(link.client, side=Side.BUREAU, user_id=current_user.id)
    db.session.commit()
    return _back(f"The bureau no longer serves {name}.")


# --- print runs across clients -------------------------------------------------------------


def _printable() -> list[ServedClient]:
    return post_runs.printable_clients(_my_clients())


def _visible_run(run: BureauPostBatch, client_ids: set[int]) -> bool:
    return all(part["client_tenant_id"] in client_ids for part in run.parts)


def _run_or_404(bureau_post_batch_id: int) -> BureauPostBatch:
    run = get_or_404(BureauPostBatch, bureau_post_batch_id)
    if not _visible_run(run, {served.client.id for served in _printable()}):
        abort(404)
    return run


@bp.route("/post", methods=["GET", "POST"])
@requires(post_runs.POST_ROLES)
def post() -> Response:
    """What waits for the post in each client, and one print run for all of them."""
    printable = _printable()
    if request.method == "POST":
        try:
            run = post_runs.make_run(printable, current_user.id)
        except BureauError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(f"Print run {run.id}: {run.pieces} letters of {len(run.parts)} clients.",
                  "success")
        return redirect_to(url_for("bureau.post"))
    client_ids = {served.client.id for served in printable}
    runs = [run for run in db.session.scalars(
        select(BureauPostBatch).order_by(BureauPostBatch.id.desc()).limit(50))
        if _visible_run(run, client_ids)][:20]
    return render("bureau/post.html", printable=printable,
                  waiting=post_runs.pieces_waiting(printable), runs=runs)


@bp.route("/post/<int:bureau_post_batch_id>/pdf")
@requires(post_runs.POST_ROLES)
def post_pdf(bureau_post_batch_id: int) -> FlaskResponse:
    run = _run_or_404(bureau_post_batch_id)
    response = FlaskResponse(run.pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="print-run-{run.id}.pdf"'
    return response


@bp.route("/post/<int:bureau_post_batch_id>/printed", methods=["POST"])
@requires(post_runs.POST_ROLES)
def post_printed(bureau_post_batch_id: int) -> Response:
    run = _run_or_404(bureau_post_batch_id)
    try:
        post_runs.mark_printed(run, current_tenant(), current_user.id)
    except BureauError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash(f"Print run {run.id} is marked printed in every client.", "success")
    return redirect_to(url_for("bureau.post"))


# --- the bureau's fees ---------------------------------------------------------------------


@bp.route("/fees", methods=["GET", "POST"])
@requires(FEE_KEEPERS)
def fee_page() -> Response:
    """A month's activity per client, recorded as fee items, and invoiced."""
    form = MonthForm()
    if form.validate_on_submit():
        month = form.first_day()
        try:
            if request.form.get("action") == "invoice":
                made = fees.invoice_month(month, issue=form.issue.data, user_id=current_user.id)
                message = f"{len(made)} invoices made of the fees of {month:%Y-%m}."
            else:
                recorded = fees.record_month(month)
                message = f"The activity of {month:%Y-%m} is recorded for {len(recorded)} clients."
        except BureauError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        except BillingError as exc:
            db.session.rollback()
            flash(f"Not recorded: {exc}", "error")
        else:
            db.session.commit()
            flash(message, "success")
        return redirect_to(url_for("bureau.fee_page", month=f"{month:%Y-%m}"))
    month = fees.previous_month(tenant_today())
    if request.args.get("month"):
        asked = MonthForm(formdata=None, month=request.args["month"])
        try:
            month = asked.first_day()
        except ValueError:
            pass
    activities = db.session.scalars(
        select(BureauActivity).options(joinedload(BureauActivity.client))
        .where(BureauActivity.period_start == month)
        .order_by(BureauActivity.client_tenant_id)).all()
    return render("bureau/fees.html", month=month, activities=activities,
                  items=fees.fee_items(list(activities)),
                  missing_rules=fees.events_without_rules(),
                  form=MonthForm(formdata=None, month=f"{month:%Y-%m}"),
                  status=422 if form.errors else 200)
