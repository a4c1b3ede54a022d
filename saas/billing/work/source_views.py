"""Pages of the work sources (R5.5–R5.7): protocols and the finished work to invoice,
guarded sites with their monthly grid of hours, cash-in-transit cards."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from flask import flash, make_response, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from werkzeug.wrappers import Response

from saas.billing.customers.models import Site
from saas.billing.work import cit, guarding, protocols
from saas.billing.work.guarding_rules import month_days, parse_hours
from saas.billing.work.protocol_pdf import ProtocolPrint, render_protocol
from saas.billing.work.source_common import SourceError
from saas.billing.work.source_forms import (
    CardForm,
    CitServiceForm,
    GuardedSiteForm,
    MaterialForm,
    ProtocolForm,
)
from saas.billing.work.source_models import (
    CitCard,
    GuardedSite,
    WorkProtocol,
)
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

bp = staff_blueprint("sources", __name__, "/work")

EDITORS = MANAGERS | {Role.ACCOUNTANT, Role.STAFF}
# Pulling items into a draft invoice is drafting (issuing it stays the accountant's).
BILLERS = EDITORS


def _saved(form: FlaskForm | None, save: Callable[[], object], fallback: str = "") -> object:
    """Run a service and commit; a refusal goes on its form field (or is flashed)."""
    try:
        saved = save()
    except ServiceError as exc:
        db.session.rollback()
        name = getattr(exc, "field", None) or fallback
        field = getattr(form, name, None) if form is not None else None
        if field is None:
            flash(str(exc), "error")
        else:
            field.errors = [*field.errors, str(exc)]
        return None
    db.session.commit()
    return saved if saved is not None else True


# --- protocols ----------------------------------------------------------------------------


@bp.route("/protocols")
@requires(ALL_ROLES)
def protocol_list() -> Response:
    rows = db.session.scalars(
        select(WorkProtocol)
        .options(joinedload(WorkProtocol.customer))
        .order_by(WorkProtocol.performed_on.desc(), WorkProtocol.id.desc())
        .limit(200)
    ).all()
    return render("work/protocols.html", protocols=rows)


@bp.route("/protocols/new", methods=["GET", "POST"])
@requires(EDITORS)
def protocol_new() -> Response:
    form = ProtocolForm()
    if request.method == "GET":
        form.performed_on.data = tenant_today()
    if form.validate_on_submit():
        protocol = _saved(
            form,
            lambda: protocols.create_protocol(form.values(), user_id=current_user.id),
            "work_done",
        )
        if protocol:
            flash(f"Protocol {protocol.number} saved: add the materials used.", "success")
            return redirect_to(url_for("sources.protocol", protocol_id=protocol.id))
    return render("work/protocol_new.html", form=form, status=422 if form.errors else 200)


def _protocol_page(
    protocol: WorkProtocol, status: int = 200, material_form: MaterialForm | None = None
) -> Response:
    return render(
        "work/protocol.html",
        protocol=protocol,
        status=status,
        material_form=material_form or MaterialForm(formdata=None),
        items=protocols.open_items([protocol.id]).get(protocol.id, []),
    )


@bp.route("/protocols/<int:protocol_id>")
@requires(ALL_ROLES)
def protocol(protocol_id: int) -> Response:
    return _protocol_page(get_or_404(WorkProtocol, protocol_id))


@bp.route("/protocols/<int:protocol_id>.pdf")
@requires(ALL_ROLES)
def protocol_pdf(protocol_id: int) -> Response:
    """The protocol to print (and sign on site)."""
    record = get_or_404(WorkProtocol, protocol_id)
    site = record.site
    pdf = render_protocol(
        ProtocolPrint(
            record.number,
            current_tenant().name,
            record.customer.name,
            f"{site.code} {site.name}" if site else "",
            record.performed_on,
            record.technician,
            record.work_done,
            record.hours,
            record.labour_product.name if record.labour_product else "",
            record.billable,
            tuple((m.product.name, m.quantity, m.product.unit) for m in record.materials),
        )
    )
    response = make_response(pdf)
    response.mimetype = "application/pdf"
    response.headers["Content-Disposition"] = f'inline; filename="{record.number}.pdf"'
    return response


@bp.route("/protocols/<int:protocol_id>/materials", methods=["POST"])
@requires(EDITORS)
def protocol_material(protocol_id: int) -> Response:
    record = get_or_404(WorkProtocol, protocol_id)
    form = MaterialForm()
    if form.validate_on_submit() and _saved(
        form,
        lambda: protocols.add_material(record, form.product_id.data, form.quantity.data),
        "quantity",
    ):
        return redirect_to(url_for("sources.protocol", protocol_id=record.id))
    return _protocol_page(record, 422, form)


@bp.route("/protocols/<int:protocol_id>/materials/<int:material_id>/delete", methods=["POST"])
@requires(EDITORS)
def protocol_material_delete(protocol_id: int, material_id: int) -> Response:
    record = get_or_404(WorkProtocol, protocol_id)
    _saved(None, lambda: protocols.remove_material(record, material_id))
    return redirect_to(url_for("sources.protocol", protocol_id=record.id))


@bp.route("/protocols/<int:protocol_id>/complete", methods=["POST"])
@requires(EDITORS)
def protocol_complete(protocol_id: int) -> Response:
    record = get_or_404(WorkProtocol, protocol_id)
    if _saved(None, lambda: protocols.complete_protocol(record, user_id=current_user.id)):
        flash(
            f"Protocol {record.number} completed."
            + (" It waits in the finished work to invoice." if record.billable else ""),
            "success",
        )
    return redirect_to(url_for("sources.protocol", protocol_id=record.id))


@bp.route("/protocols/<int:protocol_id>/reopen", methods=["POST"])
@requires(EDITORS)
def protocol_reopen(protocol_id: int) -> Response:
    record = get_or_404(WorkProtocol, protocol_id)
    if _saved(None, lambda: protocols.reopen_protocol(record, user_id=current_user.id)):
        flash(f"Protocol {record.number} is open again.", "success")
    return redirect_to(url_for("sources.protocol", protocol_id=record.id))


@bp.route("/finished")
@requires(ALL_ROLES)
def finished() -> Response:
    """R5.5: completed billable protocols whose items are still to invoice."""
    waiting = [
        (protocol, found, protocols.items_net(found))
        for protocol, found in protocols.finished_to_invoice()
    ]
    return render("work/finished.html", waiting=waiting)


@bp.route("/protocols/<int:protocol_id>/invoice", methods=["POST"])
@requires(BILLERS)
def protocol_invoice(protocol_id: int) -> Response:
    record = get_or_404(WorkProtocol, protocol_id)
    invoice = _saved(None, lambda: protocols.invoice_protocol(record))
    if invoice:
        flash(f"Draft invoice made from protocol {record.number}.", "success")
        return redirect_to(url_for("documents.show", document_id=invoice.id))
    return redirect_to(url_for("sources.finished"))


# --- guarding -----------------------------------------------------------------------------


def _guarding_index(form: GuardedSiteForm, status: int = 200) -> Response:
    sites = db.session.scalars(
        select(GuardedSite)
        .join(Site)
        .options(joinedload(GuardedSite.site).joinedload(Site.customer))
        .order_by(Site.code)
    ).all()
    return render("work/guarding.html", sites=sites, form=form, today=tenant_today(), status=status)


@bp.route("/guarding")
@requires(ALL_ROLES)
def guarding_sites() -> Response:
    return _guarding_index(GuardedSiteForm(formdata=None))


@bp.route("/guarding", methods=["POST"])
@requires(EDITORS)
def guarding_new() -> Response:
    form = GuardedSiteForm()
    if form.validate_on_submit():
        guarded = _saved(form, lambda: guarding.set_up_site(form.values()), "site_id")
        if guarded:
            flash("The site is under guard: register its hours.", "success")
            return redirect_to(url_for("sources.guarding_site", guarded_site_id=guarded.id))
    return _guarding_index(form, 422)


def _month() -> tuple[int, int]:
    try:
        first = date.fromisoformat(request.args.get("month", "") + "-01")
    except ValueError:
        first = tenant_today()
    return first.year, first.month


def _grid_page(
    guarded: GuardedSite,
    year: int,
    month: int,
    status: int = 200,
    errors: dict[date, str] | None = None,
    typed: dict[date, str] | None = None,
) -> Response:
    days = month_days(year, month)
    weeks: list[list[date | None]] = [[None] * days[0].weekday()]
    for day in days:
        if len(weeks[-1]) == 7:
            weeks.append([])
        weeks[-1].append(day)
    weeks[-1] += [None] * (7 - len(weeks[-1]))
    try:
        planned = guarding.month_charge(guarded, year, month)
    except ServiceError as exc:
        planned = None
        flash(str(exc), "error")
    return render(
        "work/guarding_site.html",
        guarded=guarded,
        year=year,
        month=month,
        weeks=weeks,
        hours=guarding.hours_of_month(guarded, year, month),
        planned=planned,
        errors=errors or {},
        typed=typed or {},
        previous=date(*guarding.previous_month(year, month), 1),
        following=date(*guarding.next_month(year, month), 1),
        status=status,
        form=GuardedSiteForm(formdata=None, obj=guarded),
    )


@bp.route("/guarding/<int:guarded_site_id>")
@requires(ALL_ROLES)
def guarding_site(guarded_site_id: int) -> Response:
    return _grid_page(get_or_404(GuardedSite, guarded_site_id), *_month())


@bp.route("/guarding/<int:guarded_site_id>/settings", methods=["POST"])
@requires(EDITORS)
def guarding_settings(guarded_site_id: int) -> Response:
    guarded = get_or_404(GuardedSite, guarded_site_id)
    form = GuardedSiteForm()
    if form.validate_on_submit() and _saved(
        form, lambda: guarding.set_up_site(form.values(), guarded), "site_id"
    ):
        flash("Billing of the site saved.", "success")
    elif form.errors:
        flash(
            "; ".join(
                f"{form[name].label.text}: {' '.join(errors)}"
                for name, errors in form.errors.items()
            ),
            "error",
        )
    return redirect_to(url_for("sources.guarding_site", guarded_site_id=guarded.id))


@bp.route("/guarding/<int:guarded_site_id>/hours", methods=["POST"])
@requires(EDITORS)
def guarding_hours(guarded_site_id: int) -> Response:
    """Save the month's grid: every day at once (the form without htmx)."""
    guarded = get_or_404(GuardedSite, guarded_site_id)
    year, month = _month()
    typed = {day: request.form.get(f"h-{day}", "") for day in month_days(year, month)}
    parsed, errors = {}, {}
    for day, text in typed.items():
        try:
            parsed[day] = parse_hours(text)
        except ValueError as exc:
            errors[day] = str(exc)
    if errors:  # nothing saved half way
        return _grid_page(guarded, year, month, 422, errors, typed)
    try:
        for day, hours in parsed.items():
            guarding.register_hours(guarded, day, hours, user_id=current_user.id)
    except ServiceError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return _grid_page(guarded, year, month, 422)
    db.session.commit()
    flash("Hours saved.", "success")
    return redirect_to(
        url_for("sources.guarding_site", guarded_site_id=guarded.id, month=f"{year:04}-{month:02}")
    )


@bp.route("/guarding/<int:guarded_site_id>/day", methods=["POST"])
@requires(EDITORS)
def guarding_day(guarded_site_id: int) -> Response:
    """One cell of the grid, saved as it is left (htmx): the cell and the month's totals."""
    guarded = get_or_404(GuardedSite, guarded_site_id)
    try:
        worked_on = date.fromisoformat(request.args.get("day", ""))
    except ValueError:
        return Response("Not a day.", status=404)
    text = request.form.get(f"h-{worked_on}", "")
    error = None
    try:
        guarding.register_hours(guarded, worked_on, parse_hours(text), user_id=current_user.id)
    except (ValueError, SourceError) as exc:
        db.session.rollback()
        error = str(exc)
    else:
        db.session.commit()
    year, month = worked_on.year, worked_on.month
    hours = guarding.hours_of_month(guarded, year, month)
    return render(
        "work/_guarding_day.html",
        guarded=guarded,
        day=worked_on,
        hours=hours,
        errors={worked_on: error} if error else {},
        typed={worked_on: text} if error else {},
        oob=True,
        planned=guarding.month_charge(guarded, year, month),
        status=422 if error else 200,
    )


@bp.route("/guarding/<int:guarded_site_id>/capture", methods=["POST"])
@requires(BILLERS)
def guarding_capture(guarded_site_id: int) -> Response:
    guarded = get_or_404(GuardedSite, guarded_site_id)
    year, month = _month()
    if _saved(None, lambda: guarding.capture_month(guarded, year, month, user_id=current_user.id)):
        flash(
            f"{date(year, month, 1):%B %Y} captured: it waits in {guarded.site.customer.name}'s"
            " billable items.",
            "success",
        )
    return redirect_to(
        url_for("sources.guarding_site", guarded_site_id=guarded.id, month=f"{year:04}-{month:02}")
    )


# --- cash in transit ----------------------------------------------------------------------


def _cit_index(form: CardForm, status: int = 200) -> Response:
    cards = db.session.scalars(
        select(CitCard)
        .options(joinedload(CitCard.customer))
        .order_by(CitCard.served_on.desc(), CitCard.id.desc())
        .limit(200)
    ).all()
    return render("work/cit.html", cards=cards, form=form, status=status)


@bp.route("/cit")
@requires(ALL_ROLES)
def cit_cards() -> Response:
    return _cit_index(CardForm(formdata=None, served_on=tenant_today()))


@bp.route("/cit", methods=["POST"])
@requires(EDITORS)
def cit_new() -> Response:
    form = CardForm()
    if form.validate_on_submit():
        card = _saved(form, lambda: cit.create_card(form.values()), "crew")
        if card:
            return redirect_to(url_for("sources.cit_card", card_id=card.id))
    return _cit_index(form, 422)


def _card_page(
    card: CitCard, status: int = 200, service_form: CitServiceForm | None = None
) -> Response:
    return render(
        "work/cit_card.html",
        card=card,
        status=status,
        service_form=service_form or CitServiceForm(formdata=None, customer_id=card.customer_id),
    )


@bp.route("/cit/<int:card_id>")
@requires(ALL_ROLES)
def cit_card(card_id: int) -> Response:
    return _card_page(get_or_404(CitCard, card_id))


@bp.route("/cit/<int:card_id>/services", methods=["POST"])
@requires(EDITORS)
def cit_service(card_id: int) -> Response:
    card = get_or_404(CitCard, card_id)
    form = CitServiceForm(customer_id=card.customer_id)
    if form.validate_on_submit() and _saved(
        form, lambda: cit.add_service(card, form.values()), "product_id"
    ):
        return redirect_to(url_for("sources.cit_card", card_id=card.id))
    return _card_page(card, 422, form)


@bp.route("/cit/<int:card_id>/services/<int:service_id>/delete", methods=["POST"])
@requires(EDITORS)
def cit_service_delete(card_id: int, service_id: int) -> Response:
    card = get_or_404(CitCard, card_id)
    _saved(None, lambda: cit.remove_service(card, service_id))
    return redirect_to(url_for("sources.cit_card", card_id=card.id))


@bp.route("/cit/<int:card_id>/complete", methods=["POST"])
@requires(EDITORS)
def cit_complete(card_id: int) -> Response:
    card = get_or_404(CitCard, card_id)
    if _saved(None, lambda: cit.complete_card(card)):
        flash(
            f"Card {card.number} completed: its services wait in"
            f" {card.customer.name}'s billable items.",
            "success",
        )
    return redirect_to(url_for("sources.cit_card", card_id=card.id))


@bp.route("/cit/<int:card_id>/reopen", methods=["POST"])
@requires(EDITORS)
def cit_reopen(card_id: int) -> Response:
    card = get_or_404(CitCard, card_id)
    if _saved(None, lambda: cit.reopen_card(card)):
        flash(f"Card {card.number} is open again.", "success")
    return redirect_to(url_for("sources.cit_card", card_id=card.id))
