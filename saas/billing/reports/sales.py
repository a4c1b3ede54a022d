"""Reads for the sales reports (R8.3, R9.1, R9.2): sales by a grouping per period against
the period before, profitability where the cost is known, quotes and the orders made from
them, unpaid and overdue invoices, deliveries by channel.

Sales are the net of issued invoices and credit notes (those are negative) by issue date,
in one currency. The cost of a line is its quantity times its product's cost price (the
price in the catalogue now: lines do not record a cost); a line without one has no known
cost and stays out of the profitability figures. Each report is one grouped query over
both periods, so it reads the lines of the period once.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Date, case, cast, func, literal, select

from saas.billing.catalog.models import Product, ProductCategory
from saas.billing.contracts.models import Contract
from saas.billing.customers.models import Customer, Site
from saas.billing.documents.models import Delivery, DeliveryStatus, Document, DocumentLine
from saas.billing.documents.states import DocumentKind as K
from saas.billing.reports.tables import (
    COUNT,
    PERCENT,
    Column,
    Period,
    Report,
    Row,
    change_percent,
    margin_percent,
    sum_columns,
)
from saas.extensions import db

ZERO = Decimal(0)
SALES_KINDS = (K.INVOICE, K.CREDIT_NOTE)
# grouping → (label, what the rows are called)
GROUPINGS: dict[str, tuple[str, str]] = {
    "customer": ("Customer", "customers"),
    "product": ("Product", "products"),
    "category": ("Product category", "product categories"),
    "site": ("Site", "sites"),
    "contract": ("Contract", "contracts"),
    "region": ("Region", "regions"),
    "postcode": ("Postcode area", "postcode areas"),
}
NONE_LABELS = {
    "product": "Lines without a product",
    "category": "No category",
    "site": "No site",
    "contract": "Not under a contract",
    "region": "No region",
    "postcode": "No postcode",
}


def _grouping(by: str) -> tuple[Any, Any, list[tuple[Any, Any]]]:
    """The key, the label and the outer joins a grouping needs."""
    if by == "customer":
        return Customer.id, Customer.name, []
    if by == "product":
        return Product.id, Product.name, []
    if by == "category":
        return (
            ProductCategory.id,
            ProductCategory.name,
            [(ProductCategory, ProductCategory.id == Product.category_id)],
        )
    if by == "site":
        return Site.id, Site.name, [(Site, Site.id == DocumentLine.site_id)]
    if by == "contract":
        return (
            Contract.id,
            case((Contract.id.is_not(None), func.concat(Contract.number, " ", Contract.title))),
            [(Contract, Contract.id == DocumentLine.contract_id)],
        )
    if by == "region":
        return Customer.region, Customer.region, []
    if by == "postcode":
        digits = func.substr(func.replace(Customer.postal_code, " ", ""), 1, 2)
        area = case((digits != "", func.concat(Customer.country, "-", digits)))
        return area, area, []
    raise ValueError(by)


def _lines(
    start: date,
    end: date,
    currency: str,
    key: Any,
    label: Any,
    joins: list[tuple[Any, Any]],
    *sums: Any,
) -> Any:
    """The issued sales lines of the days in the currency, grouped, with the sums."""
    statement = (
        select(key.label("key"), label.label("label"), *sums)
        .select_from(DocumentLine)
        .join(Document, Document.id == DocumentLine.document_id)
        .join(Customer, Customer.id == Document.customer_id)
        .outerjoin(Product, Product.id == DocumentLine.product_id)
    )
    for target, on in joins:
        statement = statement.outerjoin(target, on)
    return statement.where(
        Document.kind.in_(SALES_KINDS),
        Document.number.is_not(None),
        Document.currency == currency,
        Document.issue_date >= start,
        Document.issue_date <= end,
    ).group_by(key, label)


def sales(by: str, period: Period, currency: str, *, limit: int | None = None) -> Report:
    """Net sales per group in the period and in the period before, with the change."""
    previous = period.previous()
    now = Document.issue_date >= period.start
    line_cost = DocumentLine.quantity * Product.cost_price
    key, label, joins = _grouping(by)
    known = now & Product.cost_price.is_not(None)
    statement = _lines(
        previous.start,
        period.end,
        currency,
        key,
        label,
        joins,
        func.sum(case((now, DocumentLine.net), else_=0)).label("net"),
        func.sum(case((now, literal(0)), else_=DocumentLine.net)).label("previous"),
        func.count(func.distinct(case((now, Document.id)))).label("documents"),
        func.sum(case((known, line_cost), else_=0)).label("cost"),
        func.sum(case((known, DocumentLine.net), else_=0)).label("costed_net"),
    )
    rows = []
    for row in db.session.execute(statement):
        net, before = Decimal(row.net or 0), Decimal(row.previous or 0)
        cost, costed = Decimal(row.cost or 0), Decimal(row.costed_net or 0)
        rows.append(
            Row(
                row.label or NONE_LABELS.get(by, "—"),
                {
                    "net": net,
                    "previous": before,
                    "change": net - before,
                    "change_percent": change_percent(net, before),
                    "documents": row.documents,
                    "costed_net": costed,
                    "cost": cost,
                    "margin": costed - cost,
                    "margin_percent": margin_percent(costed, cost),
                },
                key=row.key,
            )
        )
    rows.sort(key=lambda r: (-r.values["net"], -r.values["previous"], r.label))  # type: ignore[operator]
    columns = (
        Column("net", "Net sales"),
        Column("previous", f"Previous ({previous})"),
        Column("change", "Change"),
        Column("change_percent", "Change %", PERCENT),
        Column("documents", "Documents", COUNT),
    )
    heading, _ = GROUPINGS[by]
    report = Report(
        f"sales-by-{by}",
        f"Sales by {heading.lower()}",
        columns,
        rows[:limit] if limit else rows,
        period=period,
        previous=previous,
        currency=currency,
        chart_series=("net",),
        row_header=heading,
    )
    report.totals = sum_columns(rows, columns)
    report.totals["change_percent"] = change_percent(
        report.totals["net"], report.totals["previous"]
    )
    return report


def profitability(by: str, period: Period, currency: str) -> Report:
    """Per customer or product: the net of the lines whose cost is known, the cost, the
    margin; the net of lines without a known cost beside them."""
    base = sales(by, period, currency)
    rows = [
        Row(
            r.label,
            {**r.values, "uncosted_net": r.values["net"] - r.values["costed_net"]},  # type: ignore[operator]
            key=r.key,
        )
        for r in base.rows
        if r.values["net"] or r.values["costed_net"]
    ]
    rows.sort(key=lambda r: (-r.values["margin"], r.label))  # type: ignore[operator]
    columns = (
        Column("costed_net", "Net (cost known)"),
        Column("cost", "Cost"),
        Column("margin", "Margin"),
        Column("margin_percent", "Margin %", PERCENT),
        Column("uncosted_net", "Net (cost unknown)"),
    )
    heading, _ = GROUPINGS[by]
    report = Report(
        f"profitability-by-{by}",
        f"Profitability by {heading.lower()}",
        columns,
        rows,
        period=period,
        currency=currency,
        chart_series=("cost", "margin"),
        row_header=heading,
    )
    report.totals = sum_columns(rows, columns)
    report.totals["margin_percent"] = margin_percent(
        report.totals["costed_net"], report.totals["cost"]
    )
    return report


def quotes(period: Period, currency: str) -> Report:
    """Per customer: quotes issued in the period, how many became orders, and what the
    orders came to against what was quoted (orders made from those quotes, whenever)."""
    order = (
        select(
            Document.source_id.label("quote_id"),
            func.count(Document.id).label("orders"),
            func.sum(Document.net_total).label("ordered"),
        )
        .where(
            Document.kind == K.ORDER, Document.number.is_not(None), Document.source_id.is_not(None)
        )
        .group_by(Document.source_id)
        .subquery()
    )
    statement = (
        select(
            Customer.id,
            Customer.name,
            func.count(Document.id).label("quotes"),
            func.sum(Document.net_total).label("quoted"),
            func.count(order.c.quote_id).label("converted"),
            func.sum(case((order.c.quote_id.is_not(None), Document.net_total), else_=0)).label(
                "quoted_converted"
            ),
            func.coalesce(func.sum(order.c.ordered), 0).label("ordered"),
        )
        .join(Customer, Customer.id == Document.customer_id)
        .outerjoin(order, order.c.quote_id == Document.id)
        .where(
            Document.kind == K.QUOTE,
            Document.number.is_not(None),
            Document.currency == currency,
            Document.issue_date >= period.start,
            Document.issue_date <= period.end,
        )
        .group_by(Customer.id, Customer.name)
    )
    rows = []
    for row in db.session.execute(statement):
        quoted_converted, ordered = Decimal(row.quoted_converted or 0), Decimal(row.ordered)
        rows.append(
            Row(
                row.name,
                {
                    "quotes": row.quotes,
                    "converted": row.converted,
                    "conversion": _ratio(row.converted, row.quotes),
                    "quoted": Decimal(row.quoted or 0),
                    "quoted_converted": quoted_converted,
                    "ordered": ordered,
                    "difference": ordered - quoted_converted,
                },
                key=row.id,
            )
        )
    rows.sort(key=lambda r: (-r.values["quoted"], r.label))  # type: ignore[operator]
    columns = (
        Column("quotes", "Quotes", COUNT),
        Column("converted", "Became orders", COUNT),
        Column("conversion", "Conversion %", PERCENT),
        Column("quoted", "Quoted"),
        Column("quoted_converted", "Quoted (converted)"),
        Column("ordered", "Ordered"),
        Column("difference", "Order − quote"),
    )
    report = Report(
        "quotes",
        "Quotes and orders",
        columns,
        rows,
        period=period,
        currency=currency,
        chart_series=("quoted_converted", "quoted_open"),
        row_header="Customer",
    )
    for row in rows:
        row.values["quoted_open"] = row.values["quoted"] - row.values["quoted_converted"]  # type: ignore[operator]
    report.totals = sum_columns(rows, columns)
    report.totals["conversion"] = _ratio(report.totals["converted"], report.totals["quotes"])
    return report


def _ratio(part: int | Decimal, whole: int | Decimal) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"))


def unpaid(on: date, currency: str) -> Report:
    """Per customer: issued invoices not paid in full on the day, what is open of them
    and how much of that is past due."""
    open_amount = Document.gross_total - Document.paid_total
    overdue = Document.due_date < on
    statement = (
        select(
            Customer.id,
            Customer.name,
            func.count(Document.id).label("invoices"),
            func.sum(open_amount).label("open"),
            func.sum(case((overdue, 1), else_=0)).label("overdue_invoices"),
            func.sum(case((overdue, open_amount), else_=0)).label("overdue"),
            func.min(Document.due_date).label("oldest_due"),
        )
        .join(Customer, Customer.id == Document.customer_id)
        .where(
            Document.kind == K.INVOICE,
            Document.number.is_not(None),
            Document.currency == currency,
            Document.gross_total > Document.paid_total,
            Document.issue_date <= on,
        )
        .group_by(Customer.id, Customer.name)
    )
    rows = []
    for row in db.session.execute(statement):
        open_, late = Decimal(row.open), Decimal(row.overdue)
        days = (on - row.oldest_due).days if row.oldest_due and row.oldest_due < on else 0
        rows.append(
            Row(
                row.name,
                {
                    "invoices": row.invoices,
                    "open": open_,
                    "overdue_invoices": row.overdue_invoices,
                    "overdue": late,
                    "not_due": open_ - late,
                    "oldest_days": days,
                },
                key=row.id,
            )
        )
    rows.sort(key=lambda r: (-r.values["overdue"], -r.values["open"], r.label))  # type: ignore[operator]
    columns = (
        Column("invoices", "Unpaid invoices", COUNT),
        Column("open", "Open"),
        Column("not_due", "Not yet due"),
        Column("overdue_invoices", "Overdue invoices", COUNT),
        Column("overdue", "Overdue"),
        Column("oldest_days", "Days overdue (oldest)", COUNT),
    )
    report = Report(
        "unpaid",
        f"Unpaid and overdue invoices on {on.isoformat()}",
        columns,
        rows,
        period=Period(on, on),
        currency=currency,
        chart_series=("not_due", "overdue"),
        row_header="Customer",
    )
    report.totals = sum_columns([r for r in rows], columns[:5])
    return report


def deliveries(period: Period) -> Report:
    """Per customer: the documents' messages made in the period by channel, how many
    were sent and how many failed."""
    day = cast(Delivery.created_at, Date)
    email, post = Delivery.channel == "email", Delivery.channel == "post"
    statement = (
        select(
            Customer.id,
            Customer.name,
            func.sum(case((email, 1), else_=0)).label("email"),
            func.sum(case((post, 1), else_=0)).label("post"),
            func.sum(case((Delivery.status == DeliveryStatus.SENT, 1), else_=0)).label("sent"),
            func.sum(case((Delivery.status == DeliveryStatus.FAILED, 1), else_=0)).label("failed"),
        )
        .select_from(Delivery)
        .join(Document, Document.id == Delivery.document_id)
        .join(Customer, Customer.id == Document.customer_id)
        .where(day >= period.start, day <= period.end)
        .group_by(Customer.id, Customer.name)
    )
    rows = [
        Row(
            row.name,
            {
                "email": row.email,
                "post": row.post,
                "sent": row.sent,
                "failed": row.failed,
                "total": row.email + row.post,
            },
            key=row.id,
        )
        for row in db.session.execute(statement)
    ]
    rows.sort(key=lambda r: (-r.values["total"], r.label))  # type: ignore[operator]
    columns = (
        Column("email", "E-mail", COUNT),
        Column("post", "Post", COUNT),
        Column("total", "All", COUNT),
        Column("sent", "Sent", COUNT),
        Column("failed", "Failed", COUNT),
    )
    report = Report(
        "deliveries",
        "Deliveries: e-mail and post",
        columns,
        rows,
        period=period,
        chart_series=("email", "post"),
        row_header="Customer",
    )
    report.totals = sum_columns(rows, columns)
    return report


def currencies(default: str) -> list[str]:
    """The currencies documents were issued in; the tenant's first."""
    found = set(
        db.session.scalars(select(Document.currency).where(Document.number.is_not(None)).distinct())
    )
    return [default, *sorted(found - {default})]
