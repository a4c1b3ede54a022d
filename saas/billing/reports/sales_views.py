"""The sales reports' pages (R8.3, R9): each a filter form, a chart drawn on the server,
a table, and the same figures as CSV or XLSX (``?format=csv`` / ``xlsx``); and the monthly
report pack as a PDF to download or to e-mail."""

from __future__ import annotations

from datetime import date, timedelta

from babel.numbers import format_decimal
from flask import Response as FlaskResponse
from flask import flash, redirect, request, url_for
from werkzeug.wrappers import Response

from saas.billing.reports import pack, sales
from saas.billing.reports.charts import stacked_bars
from saas.billing.reports.tables import Period, Report, month_period, report_csv, report_xlsx
from saas.billing.reports.views import BOOKKEEPERS, bp
from saas.extensions import db
from saas.htmx import render
from saas.tenants.access import ALL_ROLES, current_tenant, requires, tenant_today

CHART_ROWS = 12
TABLE_ROWS = 200  # on the page; the exports carry every row
SERIES_COLORS = ("#1f4e79", "#c9a227", "#a4161a", "#1b6e3a")
SERIES_LABELS = {
    "net": "Net sales",
    "cost": "Cost",
    "margin": "Margin",
    "quoted_converted": "Quoted, became orders",
    "quoted_open": "Quoted, not (yet)",
    "not_due": "Not yet due",
    "overdue": "Overdue",
    "email": "E-mail",
    "post": "Post",
}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
REPORTS = (
    ("reports.sales", "Sales"),
    ("reports.profitability", "Profitability"),
    ("reports.quotes", "Quotes and orders"),
    ("reports.unpaid", "Unpaid invoices"),
    ("reports.deliveries", "Deliveries"),
    ("reports.pack", "Monthly pack"),
)


class Filters:
    """The filters of a request, checked: what is wrong is named, the defaults are used."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        today = tenant_today()
        start = self._day("from", today.replace(day=1))
        end = self._day("to", today)
        if start > end:
            self.errors.append("From: the period must start before it ends.")
            start, end = end, start
        if (end - start).days > 3660:
            self.errors.append("From: the period may be at most ten years.")
            start = end - timedelta(days=3660)
        self.period = Period(start, end)
        self.on = self._day("on", today)
        tenant = current_tenant()
        self.currencies = sales.currencies(tenant.default_currency)
        self.currency = request.args.get("currency") or self.currencies[0]
        if self.currency not in self.currencies:
            self.errors.append(f"Currency: nothing was issued in {self.currency[:3]!r}.")
            self.currency = self.currencies[0]

    def _day(self, name: str, default: date) -> date:
        text = request.args.get(name, "")
        if not text:
            return default
        try:
            return date.fromisoformat(text)
        except ValueError:
            label = {"from": "From", "to": "To", "on": "On"}[name]
            self.errors.append(f"{label}: {text[:20]!r} is not a date like 2026-11-30.")
            return default

    def choice(
        self, name: str, label: str, choices: dict[str, object] | tuple[str, ...], default: str
    ) -> str:
        value = request.args.get(name) or default
        if value not in choices:
            self.errors.append(f"{label}: {value[:30]!r} is not one of {', '.join(choices)}.")
            return default
        return value


def _page(report: Report, filters: Filters, **context: object) -> Response:
    """The report as the page, or as CSV/XLSX when asked."""
    wanted = request.args.get("format", "")
    slug = current_tenant().slug
    if wanted in ("csv", "xlsx") and not filters.errors:
        name = f"{report.name}-{slug}-{report.period.start}-{report.period.end}"  # type: ignore[union-attr]
        if wanted == "csv":
            response = FlaskResponse(report_csv(report), mimetype="text/csv")
            response.charset = "utf-8"
        else:
            response = FlaskResponse(report_xlsx(report), mimetype=XLSX)
        response.headers["Content-Disposition"] = f'attachment; filename="{name}.{wanted}"'
        return response
    if wanted not in ("", "csv", "xlsx"):
        filters.errors.append(f"Format: {wanted[:10]!r} is not csv or xlsx.")
    tenant = current_tenant()
    chart = stacked_bars(report.chart_rows(CHART_ROWS))
    ticks = [(x, format_decimal(round(value), locale=tenant.locale)) for x, value in chart.ticks]
    for error in filters.errors:
        flash(error, "error")
    args = {k: v for k, v in request.args.items() if k != "format"}
    return render(
        "reports/table_report.html",
        report=report,
        chart=chart,
        ticks=ticks,
        filters=filters,
        colors=SERIES_COLORS,
        table_rows=TABLE_ROWS,
        reports=REPORTS,
        series=[SERIES_LABELS.get(key, key) for key in report.chart_series],
        args=args,
        status=400 if filters.errors else 200,
        block="report" if request.headers.get("HX-Target") == "report" else None,
        **context,
    )


@bp.route("/sales", endpoint="sales")
@requires(BOOKKEEPERS)
def sales_report() -> Response:
    """Net sales by a grouping, in a period against the period before."""
    filters = Filters()
    by = filters.choice("by", "Grouping", sales.GROUPINGS, "customer")
    return _page(
        sales.sales(by, filters.period, filters.currency),
        filters,
        groupings=sales.GROUPINGS,
        by=by,
        endpoint="reports.sales",
    )


@bp.route("/profitability")
@requires(BOOKKEEPERS)
def profitability() -> Response:
    """Margin per customer or product where the cost is known."""
    filters = Filters()
    choices = {key: sales.GROUPINGS[key] for key in ("customer", "product", "category")}
    by = filters.choice("by", "Grouping", choices, "customer")
    return _page(
        sales.profitability(by, filters.period, filters.currency),
        filters,
        groupings=choices,
        by=by,
        endpoint="reports.profitability",
    )


@bp.route("/quotes")
@requires(BOOKKEEPERS)
def quotes() -> Response:
    """Quotes per customer, how many became orders, orders against quotes."""
    filters = Filters()
    return _page(sales.quotes(filters.period, filters.currency), filters, endpoint="reports.quotes")


@bp.route("/unpaid")
@requires(ALL_ROLES)
def unpaid() -> Response:
    """Unpaid and overdue invoices per customer on a day (like the ageing: everyone's)."""
    filters = Filters()
    return _page(
        sales.unpaid(filters.on, filters.currency), filters, on_day=True, endpoint="reports.unpaid"
    )


@bp.route("/deliveries")
@requires(BOOKKEEPERS)
def deliveries() -> Response:
    """Messages per customer by channel (e-mail, post) in a period."""
    filters = Filters()
    return _page(
        sales.deliveries(filters.period), filters, no_currency=True, endpoint="reports.deliveries"
    )


def _month(text: str | None) -> tuple[Period, str | None]:
    last = tenant_today().replace(day=1) - timedelta(days=1)
    if not text:
        return month_period(last.strftime("%Y-%m")), None
    try:
        return month_period(text), None
    except ValueError as exc:
        return month_period(last.strftime("%Y-%m")), f"Month: {exc}."


@bp.route("/pack", endpoint="pack", methods=["GET", "POST"])
@requires(BOOKKEEPERS)
def pack_page() -> Response:
    """The monthly report pack: download it as a PDF, or e-mail it."""
    tenant = current_tenant()
    source = request.form if request.method == "POST" else request.args
    month, error = _month(source.get("month"))
    if error:
        flash(error, "error")
        return render(
            "reports/pack.html",
            month=month,
            reports=REPORTS,
            status=400,
            recipients=pack.recipients(tenant.id),
        )
    if request.method == "POST" and request.form.get("action") == "send":
        sent_to = pack.send_report_pack(tenant.id, month.start.strftime("%Y-%m"))
        db.session.commit()
        flash(
            f"The report pack for {month.start:%Y-%m} is on its way to "
            f"{', '.join(sent_to) or 'nobody: no owner has an e-mail address'}.",
            "success",
        )
        return redirect(url_for("reports.pack", month=f"{month.start:%Y-%m}"))
    if request.method == "POST" or request.args.get("format") == "pdf":
        body = pack.build_report_pack(tenant.id, month.start.strftime("%Y-%m"))
        response = FlaskResponse(body, mimetype="application/pdf")
        name = f"reports-{tenant.slug}-{month.start:%Y-%m}.pdf"
        response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
    return render(
        "reports/pack.html", month=month, reports=REPORTS, recipients=pack.recipients(tenant.id)
    )
