"""Cases: the list, a case's page, opening by hand, notes, assigning, stages, closing; the
collector's daily work (R6.6–R6.8)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from flask import Response as FlaskResponse
from flask import abort, flash, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from werkzeug.wrappers import Response

from saas.billing.customers.models import Customer
from saas.billing.dunning import legal, queries, services
from saas.billing.dunning.forms import AssignForm, CloseForm, MoveForm, NoteForm
from saas.billing.dunning.models import (
    CaseDocument,
    CaseEvent,
    CaseStatus,
    CollectionCase,
    LegalStage,
    OpenReason,
)
from saas.billing.dunning.views import COLLECTORS, bp
from saas.extensions import db
from saas.htmx import redirect_to, render
from saas.tenants.access import (
    ALL_ROLES,
    current_membership,
    get_or_404,
    has_role,
    requires,
    tenant_today,
)
from saas.tenants.models import Role


def collector_choices() -> list[tuple[int | None, str]]:
    return [(None, "Nobody")] + [
        (m.user_id, f"{m.user.name} ({m.role.label})") for m in queries.collectors()
    ]


@bp.route("/")
@requires(ALL_ROLES)
def index() -> Response:
    shown = request.args.get("status", "open")
    statement = (
        select(CollectionCase)
        .options(
            joinedload(CollectionCase.customer),
            joinedload(CollectionCase.collector),
            joinedload(CollectionCase.legal_stage),
        )
        .order_by(CollectionCase.number.desc())
    )
    if shown in {s.value for s in CaseStatus}:
        statement = statement.where(CollectionCase.status == shown)
    cases = db.session.scalars(statement.limit(200)).all()
    return render(
        "collection/index.html",
        cases=cases,
        shown=shown,  # not "status": render() takes that as the HTTP status
        overdue=queries.case_overdue(list(cases), tenant_today()),
    )


@bp.route("/work")
@requires(ALL_ROLES)
def work() -> Response:
    """My collection work: the contacts due today or late and the broken promises."""
    today = tenant_today()
    who = request.args.get("collector", "")
    if who == "unassigned":
        items, label = queries.work_list(today, unassigned=True), "unassigned cases"
    elif who.isdigit() and has_role(Role.ADMIN):
        items, label = queries.work_list(today, int(who)), "that collector"
    else:
        items, label = queries.work_list(today, current_user.id), "you"
    return render(
        "collection/work.html",
        items=items,
        today=today,
        label=label,
        collectors=queries.collectors(),
        who=who,
    )


@bp.route("/cases/<int:case_id>")
@requires(ALL_ROLES)
def show(case_id: int) -> Response:
    case = get_or_404(CollectionCase, case_id)
    return render("collection/case.html", **_page(case))


def _page(case: CollectionCase, **forms: object) -> dict[str, object]:
    today = tenant_today()
    note_form = forms.get("note_form") or NoteForm(formdata=None)
    if note_form.next_contact_on.data is None and not note_form.errors:
        note_form.next_contact_on.data = today + timedelta(days=7)
    assign_form = AssignForm(formdata=None, collector_id=case.collector_id)
    assign_form.collector_id.choices = collector_choices()
    move_form = forms.get("move_form") or MoveForm(formdata=None)
    stages = case.legal_path.stages if case.legal_path is not None else []
    move_form.stage_id.choices = [(s.id, f"{s.position}. {s.name}") for s in stages]
    notes = queries.notes_of(case)
    latest = notes[0] if notes else None
    return {
        "case": case,
        "today": today,
        "notes": notes,
        "promise": queries.promise_of(latest, today),
        "latest": latest,
        "overdue": queries.overdue_by_currency(case.customer_id, today),
        "snapshot": queries.account_snapshot(case.customer, today),
        "claims": legal.claims_of(case, today) if case.is_open else [],
        "documents": legal.documents_of(case),
        "stages": stages,
        "events": db.session.scalars(
            select(CaseEvent)
            .options(joinedload(CaseEvent.user))
            .where(CaseEvent.case_id == case.id)
            .order_by(CaseEvent.id.desc())
        ).all(),
        "note_form": note_form,
        "assign_form": assign_form,
        "move_form": move_form,
        "close_form": forms.get("close_form") or CloseForm(formdata=None),
        "may_work": current_membership().role in COLLECTORS,
    }


@bp.route("/open/<int:customer_id>", methods=["POST"])
@requires(COLLECTORS)
def open_case(customer_id: int) -> Response:
    """Open a case by hand from the customer's page."""
    customer = get_or_404(Customer, customer_id)
    try:
        case = services.open_case(
            customer, OpenReason.MANUAL, tenant_today(), user_id=current_user.id
        )
    except services.CollectionError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect_to(url_for("customers.show", customer_id=customer.id))
    db.session.commit()
    flash(f"{case.title} is open for {customer.name}.", "success")
    return redirect_to(url_for("collection.show", case_id=case.id))


@bp.route("/cases/<int:case_id>/notes", methods=["POST"])
@requires(COLLECTORS)
def add_note(case_id: int) -> Response:
    case = get_or_404(CollectionCase, case_id)
    form = NoteForm()
    if form.validate_on_submit():
        try:
            services.add_note(case, form.values(), tenant_today(), user_id=current_user.id)
        except services.CollectionError as exc:
            db.session.rollback()
            getattr(form, exc.field or "text").errors = [str(exc)]
        else:
            db.session.commit()
            flash("Contact noted.", "success")
            return redirect_to(url_for("collection.show", case_id=case.id))
    return render("collection/case.html", status=422, **_page(case, note_form=form))


@bp.route("/cases/<int:case_id>/assign", methods=["POST"])
@requires(COLLECTORS)
def assign(case_id: int) -> Response:
    case = get_or_404(CollectionCase, case_id)
    form = AssignForm()
    form.collector_id.choices = collector_choices()
    if not form.validate_on_submit():
        flash("Choose a collector from the list.", "error")
        return redirect_to(url_for("collection.show", case_id=case.id))
    return _commit_or_refuse(
        case,
        lambda: services.assign(
            case, form.collector_id.data, tenant_today(), user_id=current_user.id
        ),
        "Case assigned.",
    )


@bp.route("/cases/<int:case_id>/stage", methods=["POST"])
@requires(COLLECTORS)
def move(case_id: int) -> Response:
    case = get_or_404(CollectionCase, case_id)
    form = MoveForm()
    form.stage_id.choices = [
        (s.id, s.name) for s in (case.legal_path.stages if case.legal_path else [])
    ]
    if not form.validate_on_submit():
        flash("Choose a stage of the case's legal path.", "error")
        return redirect_to(url_for("collection.show", case_id=case.id))
    stage = get_or_404(LegalStage, form.stage_id.data)
    return _commit_or_refuse(
        case,
        lambda: legal.move_to_stage(case, stage, tenant_today(), user_id=current_user.id),
        f"The case is at {stage.name} now.",
    )


@bp.route("/cases/<int:case_id>/close", methods=["POST"])
@requires(COLLECTORS)
def close(case_id: int) -> Response:
    case = get_or_404(CollectionCase, case_id)
    form = CloseForm()
    if not form.validate_on_submit():
        return render("collection/case.html", status=422, **_page(case, close_form=form))
    return _commit_or_refuse(
        case,
        lambda: services.close_by_hand(
            case, form.reason.data, tenant_today(), user_id=current_user.id
        ),
        "Case closed.",
    )


@bp.route("/cases/<int:case_id>/reopen", methods=["POST"])
@requires(COLLECTORS)
def reopen(case_id: int) -> Response:
    case = get_or_404(CollectionCase, case_id)
    return _commit_or_refuse(
        case,
        lambda: services.reopen(case, "by hand", tenant_today(), user_id=current_user.id),
        "Case reopened.",
    )


def _commit_or_refuse(case: CollectionCase, change: Callable[[], object], message: str) -> Response:
    try:
        change()
    except services.CollectionError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash(message, "success")
    return redirect_to(url_for("collection.show", case_id=case.id))


@bp.route("/documents/<int:collection_document_id>.pdf")
@requires(ALL_ROLES)
def document_pdf(collection_document_id: int) -> Response:
    """A stage document as it was generated (never rendered again)."""
    document = get_or_404(CaseDocument, collection_document_id)
    if not document.pdf:
        abort(404)
    response = FlaskResponse(document.pdf, mimetype="application/pdf")
    stem = f"case-{document.case_id}-{document.kind.value}-{document.generated_on}"
    response.headers["Content-Disposition"] = f'inline; filename="{stem}.pdf"'
    return response
