"""Receivables and the books (R3.6, R9.2): ageing with its chart, the journal, the trial
balance, and the journal for the accountant as CSV."""

from __future__ import annotations

from datetime import date

from babel.numbers import format_decimal
from flask import Response as FlaskResponse
from flask import request
from werkzeug.wrappers import Response

from saas.billing.payments.ledger import ACCOUNT_NAMES
from saas.billing.reports import queries
from saas.billing.reports.ageing import BUCKETS
from saas.billing.reports.charts import stacked_bars
from saas.billing.reports.exports import journal_csv
from saas.htmx import render
from saas.pagination import paginate
from saas.tenants.access import (
    ALL_ROLES,
    MANAGERS,
    current_tenant,
    requires,
    staff_blueprint,
    tenant_today,
)
from saas.tenants.models import Role

bp = staff_blueprint("reports", __name__, "/reports")

# The books are the accountant's; what customers owe, everyone's.
BOOKKEEPERS = MANAGERS | {Role.ACCOUNTANT}
CHART_ROWS = 12  # the customers who owe most; the table lists them all
BUCKET_COLORS = ("#1b6e3a", "#c9a227", "#e07b00", "#c2410c", "#a4161a")
PAGE_SIZE = 25


def _day(name: str, default: date) -> date:
    try:
        return date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return default


def _period() -> tuple[date, date]:
    """The period asked for; this month so far by default."""
    today = tenant_today()
    date_from, date_to = _day("from", today.replace(day=1)), _day("to", today)
    return (date_from, date_to) if date_from <= date_to else (date_to, date_from)


@bp.route("/ageing")
@requires(ALL_ROLES)
def ageing() -> Response:
    """What each customer owes by days past due, on a day (today by default)."""
    tenant = current_tenant()
    on = _day("on", tenant_today())
    currencies = queries.ageing_currencies(tenant.default_currency)
    currency = request.args.get("currency", "")
    if currency not in currencies:
        currency = currencies[0]
    report = queries.receivables_ageing(currency, on, queries.cutoff(on, tenant.timezone))
    shown = [row for row in report.rows if row.total > 0][:CHART_ROWS]
    chart = stacked_bars([(row.customer.name, row.buckets) for row in shown])
    ticks = [(x, format_decimal(round(value), locale=tenant.locale)) for x, value in chart.ticks]
    return render("reports/ageing.html", report=report, chart=chart, ticks=ticks,
                  buckets=BUCKETS, colors=BUCKET_COLORS, currencies=currencies,
                  block="report" if request.headers.get("HX-Target") == "report" else None)


@bp.route("/journal")
@requires(BOOKKEEPERS)
def journal() -> Response:
    """The journal entries of a period with their lines."""
    date_from, date_to = _period()
    page = paginate(queries.journal_entries(date_from, date_to),
                    request.args.get("page", 1, type=int), PAGE_SIZE)
    return render("reports/journal.html", page=page, date_from=date_from, date_to=date_to,
                  url_args={"from": date_from, "to": date_to}, account_names=ACCOUNT_NAMES,
                  customer_numbers=queries.customer_numbers(page.items))


@bp.route("/trial-balance")
@requires(BOOKKEEPERS)
def trial_balance() -> Response:
    """Each account's balance before, movements in and balance after a period."""
    date_from, date_to = _period()
    return render("reports/trial_balance.html", balances=queries.trial_balance(
        date_from, date_to), date_from=date_from, date_to=date_to)


@bp.route("/journal.csv")
@requires(BOOKKEEPERS)
def journal_export() -> Response:
    """The journal lines of a period as CSV, for the accountant's books."""
    date_from, date_to = _period()
    body = journal_csv(queries.journal_rows(date_from, date_to))
    response = FlaskResponse(body, mimetype="text/csv")
    response.charset = "utf-8"
    name = f"journal-{current_tenant().slug}-{date_from}-{date_to}.csv"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
from saas.billing.reports import sales_views  # noqa: E402, F401  (registers its routes on bp)
