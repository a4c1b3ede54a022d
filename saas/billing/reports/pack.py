"""The monthly report pack (R8.3): the main reports of a month for one company as a PDF,
which a bureau (or the company) downloads or sends by e-mail to the company's owners.

``build_report_pack`` and ``send_report_pack`` work in the tenant they are given, so the
bureau's dashboard and ``flask reports pack`` call them for any client company. Neither
commits: sending queues the mail job, which goes out when the caller commits.
"""

from __future__ import annotations

import io
from decimal import Decimal

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from sqlalchemy import select

from saas.billing.documents.pdf import FONT, FONT_BOLD, register_fonts
from saas.billing.reports import sales
from saas.billing.reports.tables import MONEY, PERCENT, Report, month_period
from saas.extensions import db
from saas.mail import Mail, queue_email
from saas.tenants import audit, scoping
from saas.tenants.models import Membership, Role, Tenant, User

PACK_ROWS = 25  # per report; the pages list the rest


def _reports(tenant: Tenant, month: str) -> list[Report]:
    period = month_period(month)
    currency = tenant.default_currency
    return [
        sales.sales("customer", period, currency),
        sales.sales("product", period, currency),
        sales.sales("region", period, currency),
        sales.profitability("customer", period, currency),
        sales.quotes(period, currency),
        sales.unpaid(period.end, currency),
        sales.deliveries(period),
    ]


def _text(value: object, kind: str) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal) and kind == MONEY:
        return f"{value.quantize(Decimal('0.01')):,.2f}"
    if kind == PERCENT:
        return f"{value} %"
    return str(value)


def _table(report: Report) -> Table:
    header = [report.row_header, *(column.label for column in report.columns)]
    body = [
        [row.label[:40], *(_text(row.values.get(c.key), c.kind) for c in report.columns)]
        for row in report.rows[:PACK_ROWS]
    ]
    data = [header, *body]
    if report.rows:
        data.append(["Total", *(_text(report.totals.get(c.key), c.kind) for c in report.columns)])
    table = Table(data, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), FONT, 8),
                ("FONT", (0, 0), (-1, 0), FONT_BOLD, 8),
                ("FONT", (0, -1), (-1, -1), FONT_BOLD if report.rows else FONT, 8),
                ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
                ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.black),
                ("ROWBACKGROUNDS", (0, 1), (-1, -2), [colors.white, colors.HexColor("#f3f4f6")]),
            ]
        )
    )
    return table


def build_report_pack(tenant_id: int, month: str) -> bytes:
    """The PDF of the month's main reports (YYYY-MM) for the tenant."""
    register_fonts()
    with scoping.tenant_context(tenant_id):
        tenant = db.session.get(Tenant, tenant_id)
        assert tenant is not None
        reports = _reports(tenant, month)
    styles = getSampleStyleSheet()
    title = styles["Title"].clone("pack-title", fontName=FONT_BOLD)
    heading = styles["Heading2"].clone("pack-heading", fontName=FONT_BOLD)
    normal = styles["Normal"].clone("pack-normal", fontName=FONT)
    out = io.BytesIO()
    document = SimpleDocTemplate(
        out,
        pagesize=landscape(A4),
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
        title=f"Reports {month} — {tenant.name}",
        author=tenant.name,
    )
    story: list = [Paragraph(f"Monthly reports {month} — {_escape(tenant.name)}", title)]
    for report in reports:
        story.append(Paragraph(_escape(report.title), heading))
        period = f"{report.period}" + (
            f" · compared with {report.previous}" if report.previous else ""
        )
        story.append(Paragraph(f"{period} {report.currency}".strip(), normal))
        story.append(Spacer(1, 3 * mm))
        if report.rows:
            story.append(_table(report))
            if len(report.rows) > PACK_ROWS:
                story.append(
                    Paragraph(
                        f"The first {PACK_ROWS} of {len(report.rows)} rows; the total is of all.",
                        normal,
                    )
                )
        else:
            story.append(Paragraph("Nothing in this period.", normal))
        story.append(Spacer(1, 6 * mm))
    document.build(story)
    return out.getvalue()


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def recipients(tenant_id: int) -> list[str]:
    """Who receives the pack: the company's owners."""
    with scoping.tenant_context(tenant_id):
        return list(
            db.session.scalars(
                select(User.email)
                .join(Membership, Membership.user_id == User.id)
                .where(Membership.tenant_id == tenant_id, Membership.role == Role.OWNER)
                .order_by(User.email)
            )
        )


def send_report_pack(tenant_id: int, month: str, to: list[str] | None = None) -> list[str]:
    """Queue the month's pack by e-mail (to the owners unless told) and record it in the
    tenant's audit log; the addresses it goes to. The caller commits."""
    body = build_report_pack(tenant_id, month)
    addresses = to if to is not None else recipients(tenant_id)
    with scoping.tenant_context(tenant_id):
        tenant = db.session.get(Tenant, tenant_id)
        assert tenant is not None
        for address in addresses:
            queue_email(
                Mail(
                    to=address,
                    subject=f"Reports for {month} — {tenant.name}",
                    text=(
                        f"The reports of {tenant.name} for {month} are attached: sales, "
                        "profitability, quotes and orders, unpaid invoices and deliveries.\n"
                    ),
                    sender_name=tenant.name,
                    attachments=((f"reports-{tenant.slug}-{month}.pdf", "application/pdf", body),),
                )
            )
        audit.record(
            "reports.pack_sent",
            tenant,
            f"Report pack {month} sent",
            {"month": month, "to": addresses},
        )
    return addresses
