"""The collection report: open cases by stage and collector (chart and table), what was
recovered per month, both as CSV."""

from __future__ import annotations

from datetime import date

from babel.numbers import format_decimal
from flask import Response as FlaskResponse
from flask import request
from werkzeug.wrappers import Response

from saas.billing.dunning import reports
from saas.billing.dunning.views import bp
from saas.billing.reports.charts import stacked_bars
from saas.htmx import render
from saas.tenants.access import ALL_ROLES, current_tenant, requires, tenant_today

COLORS = ("#1d4ed8", "#c2410c", "#15803d", "#7c3aed", "#b45309", "#0e7490", "#be123c", "#4b5563")


def _period() -> tuple[date, date]:
    today = tenant_today()
    start = date(today.year - 1, today.month, 1)
    try:
        date_from = date.fromisoformat(request.args.get("from", ""))
    except ValueError:
        date_from = start
    try:
        date_to = date.fromisoformat(request.args.get("to", ""))
    except ValueError:
        date_to = today
    return (date_from, date_to) if date_from <= date_to else (date_to, date_from)


@bp.route("/reports")
@requires(ALL_ROLES)
def report() -> Response:
    tenant = current_tenant()
    rows = reports.open_cases(tenant_today())
    stages = reports.by_stage(rows)
    collectors = sorted({row.collector for row in rows})
    chart = stacked_bars(
        [(s.stage, [s.by_collector.get(name, 0) for name in collectors]) for s in stages]
    )
    ticks = [(x, format_decimal(round(value), locale=tenant.locale)) for x, value in chart.ticks]
    date_from, date_to = _period()
    return render(
        "collection/report.html",
        rows=rows,
        stages=stages,
        chart=chart,
        ticks=ticks,
        collectors=collectors,
        colors=COLORS,
        by_collector=reports.by_collector(rows),
        recovered=reports.recovered(date_from, date_to),
        date_from=date_from,
        date_to=date_to,
        currency=tenant.default_currency,
    )


def _csv(body: str, name: str) -> Response:
    response = FlaskResponse(body, mimetype="text/csv")
    response.charset = "utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@bp.route("/reports/cases.csv")
@requires(ALL_ROLES)
def cases_csv() -> Response:
    tenant = current_tenant()
    return _csv(
        reports.cases_csv(reports.open_cases(tenant_today()), tenant.default_currency),
        f"collection-cases-{tenant.slug}-{tenant_today()}.csv",
    )


@bp.route("/reports/recovered.csv")
@requires(ALL_ROLES)
def recovered_csv() -> Response:
    tenant = current_tenant()
    date_from, date_to = _period()
    return _csv(
        reports.recovered_csv(reports.recovered(date_from, date_to), tenant.default_currency),
        f"collection-recovered-{tenant.slug}-{date_from}-{date_to}.csv",
    )
