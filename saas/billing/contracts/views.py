"""Contract pages: the list, a new contract, one contract at a date, its lines and annexes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from flask import flash, request, url_for
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from werkzeug.wrappers import Response

from saas.billing.catalog.services import plain_decimal
from saas.billing.catalog.views.common import money
from saas.billing.contracts import billing, services, volumes
from saas.billing.contracts.forms import (
    AnnexForm,
    ContractForm,
    ContractLineForm,
    RunDefaultsForm,
    RunForm,
    TerminateForm,
    TypeForm,
    UsageForm,
)
from saas.billing.contracts.models import BilledPeriod, BillingRun, Contract, ContractType
from saas.billing.contracts.proration import BillingPeriod, period_containing
from saas.billing.contracts.termination import Termination, credit_notes_for
from saas.billing.customers.models import Customer
from saas.billing.documents.models import Document
from saas.extensions import db
from saas.htmx import redirect_to, render
from saas.tenants import audit, scoping
from saas.tenants.access import (
    ALL_ROLES,
    MANAGERS,
    get_or_404,
    requires,
    staff_blueprint,
    tenant_today,
)
from saas.tenants.models import Role, Tenant

bp = staff_blueprint("contracts", __name__, "/contracts")

EDITORS = MANAGERS | {Role.ACCOUNTANT, Role.STAFF}
RUN_PAGE_DOCUMENTS = 200  # a run's page lists its first invoices, and counts the rest



@bp.route("/")
@requires(ALL_ROLES)
def index() -> Response:
    type_id = request.args.get("type", type=int)
    statement = (select(Contract).options(joinedload(Contract.customer),
                                          joinedload(Contract.contract_type))
                 .order_by(Contract.number))
    if type_id:
        statement = statement.where(Contract.contract_type_id == type_id)
    types = db.session.scalars(select(ContractType).order_by(ContractType.name)).all()
    return render("contracts/index.html", contracts=db.session.scalars(statement).all(),
                  types=types, type_id=type_id, today=tenant_today())


@bp.route("/new", methods=["GET", "POST"])
@requires(EDITORS)
def new() -> Response:
    form = ContractForm()
    if request.method == "GET":
        form.start_date.data = tenant_today()
        form.customer_id.data = request.args.get("customer", type=int)
    if form.validate_on_submit():
        customer = get_or_404(Customer, form.customer_id.data)
        contract = _saved(form, lambda values: services.create_contract(
            customer, values, user_id=current_user.id), "start_date")
        if contract is not None:
            flash(f"Contract {contract.number} is set up: add its lines.", "success")
            return redirect_to(url_for("contracts.show", contract_id=contract.id))
    return render("contracts/new.html", form=form, status=422 if form.errors else 200)


def _saved(form: ContractForm | AnnexForm | ContractLineForm | TypeForm,
           save: Callable[[dict], object], fallback: str) -> object | None:
    """Save and commit; a refusal goes on its field (or the fallback). The saved object."""
    try:
        saved = save(form.values())
    except services.ContractError as exc:
        db.session.rollback()
        field = getattr(form, exc.field or fallback, None) or getattr(form, fallback)
        field.errors = [*field.errors, str(exc)]
        return None
    db.session.commit()
    return saved


def _page(contract: Contract, **extra: object) -> dict[str, object]:
    try:
        at = date.fromisoformat(request.args.get("at", ""))
    except ValueError:
        at = tenant_today()
    history = services.versions(contract)
    lines = services.version_at(contract, at, history)
    period = period_containing(max(at, contract.start_date), contract.billing_period)
    context: dict[str, object] = {
        "contract": contract, "at": at, "lines": lines,
        "period": period, "period_lines": _amounts(contract, period, history),
        "line_form": ContractLineForm(formdata=None, customer_id=contract.customer_id),
        "annex_form": AnnexForm(formdata=None, customer_id=contract.customer_id, lines=lines),
        "terminate_form": TerminateForm(formdata=None), "BillingPeriod": BillingPeriod,
        "credit_notes": credit_notes_for(contract),
        # R4.6: each flat-fee line's volume in the period, with its usages; recording one.
        "volumes": volumes.current_volumes([contract], at, {contract.id: history},
                                           with_usages=True).get(contract.id, []),
        "usage_form": UsageForm(formdata=None, lines=volumes.flat_lines(history), used_on=at),
    }
    context.update(extra)
    return context


def _amounts(contract: Contract, period, history) -> list | None:  # noqa: ANN001
    try:
        return services.period_lines(contract, period, history_by_key=history)
    except services.ContractError:
        return None  # a line priced from the price list: billing runs price it


@bp.route("/<int:contract_id>")
@requires(ALL_ROLES)
def show(contract_id: int) -> Response:
    return render("contracts/show.html", **_page(get_or_404(Contract, contract_id)))


@bp.route("/<int:contract_id>/lines", methods=["POST"])
@requires(EDITORS)
def add_line(contract_id: int) -> Response:
    contract = get_or_404(Contract, contract_id)
    form = ContractLineForm(customer_id=contract.customer_id)
    if form.validate_on_submit() and _saved(
            form, lambda values: services.add_line(contract, values), "description"):
        flash("Line added.", "success")
        return redirect_to(url_for("contracts.show", contract_id=contract.id))
    return render("contracts/show.html", status=422, **_page(contract, line_form=form))


@bp.route("/<int:contract_id>/annexes", methods=["POST"])
@requires(EDITORS)
def add_annex(contract_id: int) -> Response:
    contract = get_or_404(Contract, contract_id)
    lines = services.version_at(contract, tenant_today())
    form = AnnexForm(customer_id=contract.customer_id, lines=lines)

    def save(values: dict) -> object:
        return services.add_annex(contract, values["effective_date"], values.get("note") or "",
                                  [values], user_id=current_user.id)

    if form.validate_on_submit():
        annex = _saved(form, save, "effective_date")
        if annex is not None:
            flash(f"Annex {annex.number} applies from {annex.effective_date}.", "success")
            return redirect_to(url_for("contracts.show", contract_id=contract.id))
    return render("contracts/show.html", status=422, **_page(contract, annex_form=form))


@bp.route("/<int:contract_id>/usages", methods=["POST"])
@requires(EDITORS)
def record_usage(contract_id: int) -> Response:
    """Work done against a flat fee's included volume (R4.6)."""
    contract = get_or_404(Contract, contract_id)
    form = UsageForm(lines=volumes.flat_lines(services.versions(contract)))
    if form.validate_on_submit():
        try:
            result = volumes.record_usage(
                contract, form.line_key.data, form.used_on.data, form.quantity.data,
                form.description.data or "", user_id=current_user.id)
        except services.ContractError as exc:
            db.session.rollback()
            field = getattr(form, exc.field or "", None) or form.quantity
            field.errors = [*field.errors, str(exc)]
        else:
            db.session.commit()
            status, unit = result.status, f" {result.unit}" if result.unit else ""
            flash(f"Recorded. {result.period.label()}: {plain_decimal(status.used)} of"
                  f" {plain_decimal(status.included)}{unit} used"
                  + (f", {plain_decimal(status.excess)}{unit} beyond the volume (billed)."
                     if status.excess else "."), "success")
            return redirect_to(url_for("contracts.show", contract_id=contract.id))
    return render("contracts/show.html", status=422, **_page(contract, usage_form=form))


@bp.route("/<int:contract_id>/sites", methods=["POST"])
@requires(EDITORS)
def sites(contract_id: int) -> Response:
    """The customer's sites the contract covers (R4.1): the boxes ticked."""
    contract = get_or_404(Contract, contract_id)
    try:
        chosen = [int(value) for value in request.form.getlist("site_ids")]
        services.set_sites(contract, chosen)
    except (ValueError, services.ContractError) as exc:
        db.session.rollback()
        flash(str(exc) if isinstance(exc, services.ContractError)
              else "Choose sites from the list.", "error")
    else:
        db.session.commit()
        flash("The sites the contract covers are saved.", "success")
    return redirect_to(url_for("contracts.show", contract_id=contract.id))


@bp.route("/<int:contract_id>/terminate", methods=["POST"])
@requires(EDITORS)
def terminate(contract_id: int) -> Response:
    contract = get_or_404(Contract, contract_id)
    form = TerminateForm()
    if form.validate_on_submit():
        try:
            done = services.terminate(contract, form.termination_date.data,
                                      user_id=current_user.id)
        except services.ContractError as exc:
            db.session.rollback()
            form.termination_date.errors = [str(exc)]
        else:
            messages = _termination_messages(done)  # before the commit expires them
            db.session.commit()
            flash(f"Contract {contract.number} ends after {contract.termination_date}.",
                  "success")
            for message, category in messages:
                flash(message, category)
            return redirect_to(url_for("contracts.show", contract_id=contract.id))
    return render("contracts/show.html", status=422, **_page(contract, terminate_form=form))


def _termination_messages(done: Termination) -> list[tuple[Markup, str]]:
    """What a termination did to the billed periods, with links to the drafts."""
    def link(document_id: int | None, text: str) -> Markup:
        if document_id is None:
            return Markup("{}").format(text)
        return Markup('<a href="{}">{}</a>').format(
            url_for("documents.show", document_id=document_id), text)

    currency = done.contract.currency
    messages = []
    for gone in done.withdrawn:
        messages.append((Markup("{} for invoice {} (−{}) was withdrawn: the new last day"
                                " replaces it.").format(
            link(gone.credit_note_id, "The earlier credit note draft"),
            gone.invoice.number, money(gone.amount, currency)), "info"))
    for credit in done.credits:
        messages.append((Markup("{} for invoice {}: −{} for {}.").format(
            link(credit.credit_note.id, "Credit note draft"), credit.invoice.number,
            money(credit.amount, currency), credit.days), "success"))
    for draft in done.drafts:
        if draft.invoice_id is None:
            text = Markup("The draft invoice for {} held only this contract's lines and was"
                          " deleted.").format(draft.period.label())
        elif draft.after:
            text = Markup("{}: this contract's lines for {} made again for the new last day,"
                          " {} instead of {}.").format(
                link(draft.invoice_id, "Draft invoice"), draft.period.label(),
                money(draft.after, currency), money(draft.before, currency))
        else:
            text = Markup("{}: this contract's lines for {} ({}) removed.").format(
                link(draft.invoice_id, "Draft invoice"), draft.period.label(),
                money(draft.before, currency))
        messages.append((text, "success"))
    for short in done.shortfalls:
        messages.append((Markup("Invoice {}: with the new last day, {} comes to {} more than is"
                                " still billed. Days an issued credit note gave back are not"
                                " billed again: invoice them by hand if they are owed."
                                ).format(
            short.invoice.number, short.period.label(), money(short.amount, currency)),
            "info"))
    for line in done.unmatched:
        messages.append((Markup("{} matches no line of the contract: credit it by hand if"
                                " need be.").format(line), "info"))
    return messages


@bp.route("/types", methods=["GET", "POST"])
@requires(MANAGERS)
def types() -> Response:
    form = TypeForm()
    if form.validate_on_submit() and _saved(
            form, lambda values: services.create_type(values["name"]), "name"):
        flash("Contract type added.", "success")
        return redirect_to(url_for("contracts.types"))
    return render("contracts/types.html", form=form,
                  types=db.session.scalars(select(ContractType).order_by(ContractType.name)),
                  status=422 if form.errors else 200)


# --- billing runs ------------------------------------------------------------------------


@bp.route("/runs", methods=["GET", "POST"])
@requires(EDITORS)
def runs() -> Response:
    """Choose a run, preview the invoices it would make, confirm it."""
    form = RunForm()
    tenant = db.session.get(Tenant, scoping.require_tenant_id())
    if request.method == "GET":
        form.run_date.data = tenant_today()
        form.consolidate.data, form.issue.data = tenant.runs_consolidate, tenant.runs_issue
    planned = None
    if form.validate_on_submit():
        options = {"consolidate": form.consolidate.data}
        try:
            if request.form.get("confirm"):
                run = billing.start_run(form.run_date.data, form.contract_type_id.data,
                                        issue=form.issue.data, user_id=current_user.id,
                                        **options)
                db.session.commit()
                return redirect_to(url_for("contracts.run", run_id=run.id))
            planned = billing.plan(form.run_date.data, form.contract_type_id.data, **options)
        except services.ContractError as exc:
            db.session.rollback()
            form.run_date.errors = [str(exc)]
    recent = db.session.scalars(select(BillingRun).order_by(BillingRun.id.desc()).limit(20))
    return render("contracts/runs.html", form=form, planned=planned, runs=recent.all(),
                  defaults=RunDefaultsForm(obj=tenant), status=422 if form.errors else 200)


@bp.route("/runs/defaults", methods=["POST"])
@requires(MANAGERS)
def run_defaults() -> Response:
    """The tenant's defaults for billing runs: issue or draft, per customer or contract."""
    tenant = db.session.get(Tenant, scoping.require_tenant_id())
    form = RunDefaultsForm()
    if form.validate_on_submit():
        tenant.runs_issue, tenant.runs_consolidate = form.runs_issue.data, \
            form.runs_consolidate.data
        audit.record("contracts.run_defaults", tenant,
                     "Billing runs: " + ("issue" if tenant.runs_issue else "drafts") + ", "
                     + ("one invoice per customer" if tenant.runs_consolidate
                        else "one invoice per contract"))
        db.session.commit()
        flash("Billing run defaults saved.", "success")
    return redirect_to(url_for("contracts.runs"))


@bp.route("/runs/<int:run_id>")
@requires(EDITORS)
def run(run_id: int) -> Response:
    """A run's progress; the fragment polls itself until the run is over."""
    billing_run = get_or_404(BillingRun, run_id)
    made = select(BilledPeriod.document_id).where(BilledPeriod.run_id == billing_run.id)
    documents = db.session.scalars(
        select(Document).where(Document.id.in_(made)).order_by(Document.id)
        .limit(RUN_PAGE_DOCUMENTS)).all()
    return render("contracts/run.html", run=billing_run, documents=documents,
                  more=max(billing_run.invoices - len(documents), 0),
                  block="progress" if request.headers.get("HX-Request") else None)


@bp.route("/completeness")
@requires(ALL_ROLES)
def completeness() -> Response:
    """R4.4: every contract and site active in a period, and whether it was invoiced."""
    today = tenant_today()
    try:
        start = date.fromisoformat(request.args.get("from", ""))
        end = date.fromisoformat(request.args.get("to", ""))
    except ValueError:
        start, end = today.replace(day=1), today
    rows = billing.completeness(start, end + timedelta(days=1))
    return render("contracts/completeness.html", rows=rows, start=start, end=end,
                  missing=sum(1 for row in rows if row["billed"] is None))
