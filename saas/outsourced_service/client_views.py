"""A company's side of its bureau (R8): *Settings → Bureau*.

Which bureau serves the company, in which mode, who of the bureau works for it; letting a
bureau serve it with the bureau's invite code, switching the mode, ending the service.
Changing any of it is for the company's own owners and admins: the bureau's people, let in
by the service itself, see the page but change the service from the bureau's side.
"""

from __future__ import annotations

from flask import abort, flash, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from werkzeug.wrappers import Response

from saas.extensions import db
from saas.htmx import redirect_to, render
from saas.outsourced_service import clients
from saas.outsourced_service.clients import BureauError
from saas.outsourced_service.forms import GrantForm, ModeForm
from saas.outsourced_service.models import Side
from saas.tenants import scoping
from saas.tenants.access import MANAGERS, acting_bureau, current_tenant, requires, staff_blueprint
from saas.tenants.bureau_access import BUREAU_MANAGERS
from saas.tenants.models import BureauAssignment, BureauMode, Membership, TenantKind, User

bp = staff_blueprint("bureau_service", __name__, "/settings/bureau")


def _serving_people() -> list[tuple[User, str]]:
    """Who of the bureau works for the company: its owners and admins, and the members
    assigned to it (read in the bureau's tenant, for this company only)."""
    tenant = current_tenant()
    with scoping.tenant_context(tenant.bureau_id):
        managers = db.session.scalars(
            select(Membership).options(joinedload(Membership.user))
            .where(Membership.role.in_(BUREAU_MANAGERS))).all()
        assigned = db.session.scalars(
            select(BureauAssignment).options(joinedload(BureauAssignment.user))
            .where(BureauAssignment.client_tenant_id == tenant.id)).all()
    people = [(m.user, f"{m.role.label} of the bureau") for m in managers]
    people += [(a.user, "assigned") for a in assigned]
    return sorted(people, key=lambda pair: pair[0].name)


def _page(grant_form: GrantForm | None = None, status: int = 200) -> Response:
    tenant = current_tenant()
    if tenant.kind is TenantKind.BUREAU:
        abort(404)
    return render(
        "bureau/service.html",
        people=_serving_people() if tenant.bureau_id else [],
        grant_form=grant_form or GrantForm(formdata=None),
        mode_form=ModeForm(formdata=None, mode=tenant.bureau_mode.value),
        may_change=acting_bureau() is None,
        status=status,
    )


def _own_people_only() -> None:
    if acting_bureau() is not None:
        abort(403)


@bp.route("/")
@requires(MANAGERS)
def show() -> Response:
    return _page()


@bp.route("/grant", methods=["POST"])
@requires(MANAGERS)
def grant() -> Response:
    _own_people_only()
    form = GrantForm()
    if form.validate_on_submit():
        try:
            clients.grant_access(current_tenant(), form.code.data,
                                 mode=BureauMode(form.mode.data), user_id=current_user.id)
        except BureauError as exc:
            db.session.rollback()
            form.code.errors.append(str(exc))
        else:
            db.session.commit()
            tenant = current_tenant()
            flash(f"{tenant.bureau.name} now serves {tenant.name}.", "success")
            return redirect_to(url_for("bureau_service.show"))
    return _page(form, status=422)


@bp.route("/mode", methods=["POST"])
@requires(MANAGERS)
def mode() -> Response:
    _own_people_only()
    form = ModeForm()
    if form.validate_on_submit():
        try:
            clients.set_mode(current_tenant(), BureauMode(form.mode.data), side=Side.CLIENT,
                             user_id=current_user.id)
        except BureauError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(f"{current_tenant().bureau_mode.label}.", "success")
    return redirect_to(url_for("bureau_service.show"))


@bp.route("/end", methods=["POST"])
@requires(MANAGERS)
def end() -> Response:
    _own_people_only()
    bureau = current_tenant().bureau
    try:
        clients.end_service(current_tenant(), side=Side.CLIENT, user_id=current_user.id)
    except BureauError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash(f"{bureau.name} no longer serves {current_tenant().name}.", "success")
    return redirect_to(url_for("bureau_service.show"))
