"""Project profitability pages (R5.11): every project's margin, one project's revenue and
costs with time per member, each with a server-drawn SVG chart and a CSV export."""

from __future__ import annotations

from decimal import Decimal

from flask import Response as FlaskResponse
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from werkzeug.wrappers import Response

from saas.billing.reports.charts import StackedBars, stacked_bars
from saas.billing.work.models import Project
from saas.billing.work.profitability import ProjectProfit, profitability_csv, project_profit
from saas.billing.work.source_common import SourceError
from saas.extensions import db
from saas.htmx import render
from saas.tenants.access import MANAGERS, current_tenant, get_or_404, requires, staff_blueprint
from saas.tenants.models import Role

bp = staff_blueprint("profitability", __name__, "/work")

# Margins show what members cost: for those who see the books.
READERS = MANAGERS | {Role.ACCOUNTANT}
MONEY_SERIES = ("Revenue invoiced", "Revenue to invoice", "Cost of time", "Cost of payables")
MONEY_COLORS = ("#1b6e3a", "#7fb894", "#a4161a", "#e07b00")
TIME_SERIES = ("Billable", "Internal", "Bug-fix")
TIME_COLORS = ("#1f4e79", "#8a99a8", "#c9a227")
CHART_LABEL_WIDTH = 260
ZERO = Decimal(0)


def _money_chart(profits: list[ProjectProfit]) -> StackedBars:
    """Per project two bars: its revenue (invoiced, to invoice), then its cost (time,
    payables); the legend's colours tell them apart."""
    rows: list[tuple[str, tuple[Decimal, ...]]] = []
    for profit in profits:
        m = profit.margin
        rows.append((profit.project.name, (m.revenue_invoiced, m.revenue_to_invoice, ZERO, ZERO)))
        rows.append(("cost", (ZERO, ZERO, m.cost_of_time, m.cost_of_payables)))
    return stacked_bars(rows, label_width=CHART_LABEL_WIDTH)


def _csv(body: str, name: str) -> Response:
    response = FlaskResponse(body, mimetype="text/csv")
    response.charset = "utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _profits(projects: list[Project]) -> tuple[list[ProjectProfit], str | None]:
    currency = current_tenant().default_currency
    try:
        return [project_profit(project, currency) for project in projects], None
    except SourceError as exc:
        return [], str(exc)


def _projects() -> list[Project]:
    """The tenant's projects by name (the first 200)."""
    return list(
        db.session.scalars(
            select(Project).options(joinedload(Project.customer)).order_by(Project.name).limit(200)
        )
    )


@bp.route("/profitability")
@requires(READERS)
def overview() -> Response:
    profits, error = _profits(_projects())
    return render(
        "work/profitability.html",
        profits=profits,
        error=error,
        project=None,
        chart=_money_chart(profits),
        series=MONEY_SERIES,
        colors=MONEY_COLORS,
        currency=current_tenant().default_currency,
    )


@bp.route("/profitability.csv")
@requires(READERS)
def overview_csv() -> Response:
    profits, error = _profits(_projects())
    if error:
        return Response(error, status=409)
    return _csv(profitability_csv(profits), f"profitability-{current_tenant().slug}.csv")


@bp.route("/projects/<int:project_id>/profitability")
@requires(READERS)
def project(project_id: int) -> Response:
    found = get_or_404(Project, project_id)
    profits, error = _profits([found])
    members = profits[0].margin.members if profits else ()
    time_chart = stacked_bars(
        [(m.member, (m.billable, m.internal, m.bug_fix)) for m in members],
        label_width=CHART_LABEL_WIDTH,
    )
    return render(
        "work/profitability.html",
        profits=profits,
        error=error,
        project=found,
        chart=_money_chart(profits),
        series=MONEY_SERIES,
        colors=MONEY_COLORS,
        time_chart=time_chart,
        time_series=TIME_SERIES,
        time_colors=TIME_COLORS,
        currency=current_tenant().default_currency,
    )


@bp.route("/projects/<int:project_id>/profitability.csv")
@requires(READERS)
def project_csv(project_id: int) -> Response:
    found = get_or_404(Project, project_id)
    profits, error = _profits([found])
    if error:
        return Response(error, status=409)
    return _csv(profitability_csv(profits), f"profitability-project-{found.id}.csv")
