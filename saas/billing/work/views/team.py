"""The team page: each member's internal cost of an hour (for profitability, R5.11) and
their time this month, split billable / internal / bug fix (R5.3)."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal, InvalidOperation

from flask import flash, request, url_for
from flask_login import current_user
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from saas.billing.work import setup
from saas.billing.work.items import BillingError
from saas.billing.work.models import TimeEntry, WorkKind
from saas.billing.work.views import RULE_KEEPERS, bp
from saas.extensions import db
from saas.htmx import redirect_to, render
from saas.tenants.access import requires, tenant_today
from saas.tenants.models import Membership, User


def _page(error: str | None = None, status: int = 200) -> Response:
    month_start = tenant_today().replace(day=1)
    members = db.session.execute(
        select(User.id, User.name, Membership.role)
        .join(Membership, Membership.user_id == User.id)
        .order_by(User.name)
    ).all()
    minutes: dict[int, dict[WorkKind, int]] = defaultdict(dict)
    for user_id, kind, total in db.session.execute(
        select(TimeEntry.user_id, TimeEntry.kind, func.sum(TimeEntry.minutes))
        .where(TimeEntry.work_date >= month_start)
        .group_by(TimeEntry.user_id, TimeEntry.kind)
    ):
        minutes[user_id][WorkKind(kind)] = total
    return render(
        "work/team.html",
        members=members,
        rates=setup.cost_rates(),
        minutes=minutes,
        kinds=list(WorkKind),
        month_start=month_start,
        error=error,
        status=status,
    )


@bp.route("/team")
@requires(RULE_KEEPERS)
def team() -> Response:
    return _page()


@bp.route("/team", methods=["POST"])
@requires(RULE_KEEPERS)
def set_cost_rate() -> Response:
    user_id = request.form.get("user_id", type=int)
    typed = (request.form.get("hourly_cost") or "").strip().replace(",", ".")
    try:
        cost = Decimal(typed) if typed else None
        if cost is not None and (not cost.is_finite() or -cost.as_tuple().exponent > 4):
            raise InvalidOperation
    except InvalidOperation:
        return _page(f"{typed} is not an amount: enter e.g. 450 or 450.50.", 422)
    try:
        setup.set_cost_rate(user_id or 0, cost, changed_by=current_user.id)
    except BillingError as exc:
        db.session.rollback()
        return _page(str(exc), 422)
    db.session.commit()
    flash("Cost rate saved.", "success")
    return redirect_to(url_for("work.team"))
