"""The quote / order difference report (R3.3)."""

from __future__ import annotations

from datetime import date

from flask import request
from sqlalchemy import select
from werkzeug.wrappers import Response

from saas.billing.customers.models import Customer
from saas.billing.documents import queries
from saas.billing.documents.views import bp
from saas.extensions import db
from saas.htmx import render
from saas.tenants.access import ALL_ROLES, requires


def _day(name: str) -> date | None:
    try:
        return date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None


@bp.route("/reports/quote-order-differences")
@requires(ALL_ROLES)
def differences() -> Response:
    customer_id = request.args.get("customer", type=int)
    date_from, date_to = _day("from"), _day("to")
    rows = queries.quote_order_differences(customer_id, date_from, date_to)
    customer = db.session.get(Customer, customer_id) if customer_id else None
    customers = db.session.scalars(select(Customer).where(Customer.id.in_(
        {row.order.customer_id for row in rows})).order_by(Customer.name)).all()
    totals: dict[str, dict[str, object]] = {}
    for row in rows:
        total = totals.setdefault(row.order.currency, {"quotes": 0, "orders": 0, "count": 0})
        total["quotes"] += row.quote.net_total
        total["orders"] += row.order.net_total
        total["count"] += 1
    return render("documents/differences.html", rows=rows, customer=customer,
                  customers=customers, date_from=date_from, date_to=date_to, totals=totals,
                  block="report" if request.headers.get("HX-Target") == "report" else None)
