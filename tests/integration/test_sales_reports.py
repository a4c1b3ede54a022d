"""The sales reports (R8.3, R9): sales by each grouping against the previous period,
profitability where the cost is known, quotes and orders, unpaid invoices, deliveries, the
CSV and XLSX exports, the monthly pack as PDF and by e-mail, and who may see them."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from saas import clock
from saas.billing.customers.models import Customer
from saas.billing.documents import conversion, issuing, services
from saas.billing.documents.models import Delivery, DeliveryStatus
from saas.billing.documents.states import DocumentKind as K
from saas.billing.reports import pack, sales
from saas.billing.reports.tables import Period
from saas.extensions import db
from saas.tenants import scoping
from saas.tenants.models import AuditEntry, Role
from tests.books import issue_invoice
from tests.factories import (
    CustomerFactory,
    ProductCategoryFactory,
    ProductFactory,
    SiteFactory,
    TenantFactory,
    VatRateFactory,
    member,
)

D = Decimal
TODAY = date(2026, 11, 10)
OCTOBER = Period(date(2026, 10, 1), date(2026, 10, 31))


def _document(kind, customer, lines, on):
    document = services.create_document(kind, customer)
    services.update_header(document, {"payment_terms_days": 14})
    for values in lines:
        services.add_line(document, {"quantity": D(1), **values})
    issuing.issue_document(document, on=on, render=False)
    return document


@pytest.fixture()
def shop(db_session):
    """October: Fjord buys 2 guarding hours (cost 60 each) at 100 at its site and a manual
    line of 50, Havbris 1 alarm (no cost) at 300; September: Fjord a manual 100. A quote
    of 500 to Fjord in October became an order of 450; one to Havbris did not."""
    tenant = TenantFactory(name="Nordlys Service AS", default_currency="NOK")
    with scoping.tenant_context(tenant.id):
        vat = VatRateFactory(tenant=tenant, rate=D("25.00")).id
        category = ProductCategoryFactory(tenant=tenant, name="Guarding")
        hour = ProductFactory(
            tenant=tenant,
            name="Guard hour",
            category=category,
            cost_price=D("60.00"),
            base_price=D("100.00"),
        )
        alarm = ProductFactory(tenant=tenant, name="=Alarm", base_price=D("300.00"))
        fjord = CustomerFactory(
            tenant=tenant, name="Fjord Bakeri AS", region="Vestland", postal_code="5003"
        )
        havbris = CustomerFactory(
            tenant=tenant, name="Havbris Hotell AS", region="Oslo", postal_code="0150"
        )
        site = SiteFactory(tenant=tenant, customer=fjord, name="Bryggen")
        fjord, havbris = (db.session.get(Customer, c.id) for c in (fjord, havbris))
        october = _document(
            K.INVOICE,
            fjord,
            [
                {
                    "product_id": hour.id,
                    "quantity": D(2),
                    "unit_price": D(100),
                    "discount_percent": D(0),
                    "site_id": site.id,
                },
                {"description": "Call-out", "unit_price": D(50), "vat_rate_id": vat},
            ],
            date(2026, 10, 5),
        )
        _document(
            K.INVOICE,
            havbris,
            [{"product_id": alarm.id, "unit_price": D(300), "discount_percent": D(0)}],
            date(2026, 10, 20),
        )
        issue_invoice(fjord, vat, "100", date(2026, 9, 15), terms=14)
        quote = _document(
            K.QUOTE,
            fjord,
            [{"description": "Patrols", "unit_price": D(500), "vat_rate_id": vat}],
            date(2026, 10, 2),
        )
        order = conversion.convert_quote_to_order(quote)
        services.update_line(
            order.lines[0],
            {"description": "Patrols", "quantity": D(1), "unit_price": D(450), "vat_rate_id": vat},
        )
        issuing.issue_document(order, on=date(2026, 10, 3), render=False)
        _document(
            K.QUOTE,
            havbris,
            [{"description": "Doors", "unit_price": D(80), "vat_rate_id": vat}],
            date(2026, 10, 8),
        )
        for channel, status in (
            ("email", DeliveryStatus.SENT),
            ("email", DeliveryStatus.FAILED),
            ("post", DeliveryStatus.SENT),
        ):
            db.session.add(
                Delivery(
                    document_id=october.id,
                    channel=channel,
                    recipient="x",
                    subject="Invoice",
                    status=status,
                    created_at=datetime(2026, 10, 6, 12, tzinfo=UTC),
                )
            )
        db.session.commit()
        ids = {"fjord": fjord.id, "havbris": havbris.id}
    with clock.frozen(TODAY):
        yield {"tenant": tenant, "slug": tenant.slug, **ids}


@pytest.fixture()
def clients(shop, make_client):
    return {role: make_client(member(shop["tenant"], role)) for role in Role}


def _in(shop):
    return scoping.tenant_context(shop["tenant"].id)


def _rows(report):
    return {row.label: row.values for row in report.rows}


def test_sales_by_each_grouping_with_the_previous_period(shop):
    with _in(shop):
        by_customer = _rows(sales.sales("customer", OCTOBER, "NOK"))
        assert by_customer["Fjord Bakeri AS"]["net"] == D("250.00")
        assert by_customer["Fjord Bakeri AS"]["previous"] == D("100.00")
        assert by_customer["Fjord Bakeri AS"]["change_percent"] == D("150.0")
        assert by_customer["Havbris Hotell AS"]["previous"] == 0
        assert by_customer["Havbris Hotell AS"]["change_percent"] is None
        products = _rows(sales.sales("product", OCTOBER, "NOK"))
        assert products["Guard hour"]["net"] == D("200.00")
        assert products["Lines without a product"]["net"] == D("50.00")
        assert products["Lines without a product"]["previous"] == D("100.00")
        assert _rows(sales.sales("category", OCTOBER, "NOK"))["Guarding"]["net"] == D("200.00")
        assert _rows(sales.sales("site", OCTOBER, "NOK"))["Bryggen"]["net"] == D("200.00")
        assert _rows(sales.sales("region", OCTOBER, "NOK"))["Oslo"]["net"] == D("300.00")
        assert _rows(sales.sales("postcode", OCTOBER, "NOK"))["NO-50"]["net"] == D("250.00")
        contracts = _rows(sales.sales("contract", OCTOBER, "NOK"))
        assert contracts["Not under a contract"]["net"] == D("550.00")
        report = sales.sales("customer", OCTOBER, "NOK")
        assert report.totals["net"] == D("550.00") and report.totals["previous"] == D("100.00")
        assert report.previous == Period(date(2026, 9, 1), date(2026, 9, 30))


def test_profitability_counts_only_lines_whose_cost_is_known(shop):
    with _in(shop):
        rows = _rows(sales.profitability("customer", OCTOBER, "NOK"))
    fjord = rows["Fjord Bakeri AS"]
    assert (fjord["costed_net"], fjord["cost"], fjord["margin"]) == (D(200), D(120), D(80))
    assert fjord["margin_percent"] == D("40.0") and fjord["uncosted_net"] == D(50)
    assert rows["Havbris Hotell AS"]["margin_percent"] is None


def test_quotes_conversion_and_the_difference_of_orders(shop):
    with _in(shop):
        rows = _rows(sales.quotes(OCTOBER, "NOK"))
    fjord, havbris = rows["Fjord Bakeri AS"], rows["Havbris Hotell AS"]
    assert (fjord["quotes"], fjord["converted"], fjord["conversion"]) == (1, 1, D("100.0"))
    assert (fjord["ordered"], fjord["difference"]) == (D(450), D(-50))
    assert (havbris["quotes"], havbris["converted"], havbris["conversion"]) == (1, 0, D("0.0"))


def test_unpaid_and_overdue_invoices_on_a_day(shop):
    with _in(shop):
        report = sales.unpaid(date(2026, 10, 25), "NOK")
        rows = _rows(report)
    # Fjord: 312.50 due 19 Oct (overdue), 125 due 29 Sep (overdue); Havbris: 375 due 3 Nov.
    assert rows["Fjord Bakeri AS"]["open"] == D("437.50")
    assert rows["Fjord Bakeri AS"]["overdue"] == D("437.50")
    assert rows["Fjord Bakeri AS"]["oldest_days"] == 26
    assert rows["Havbris Hotell AS"]["not_due"] == D("375.00")
    assert report.totals["open"] == D("812.50")


def test_deliveries_by_channel(shop):
    with _in(shop):
        rows = _rows(sales.deliveries(OCTOBER))
    assert rows["Fjord Bakeri AS"] == {"email": 2, "post": 1, "total": 3, "sent": 2, "failed": 1}


def test_the_pages_draw_a_chart_and_filter(shop, clients):
    client = clients[Role.ACCOUNTANT]
    base = f"/t/{shop['slug']}/reports"
    page = client.get(f"{base}/sales?by=region&from=2026-10-01&to=2026-10-31")
    report = page.text.split('id="report"')[1]
    assert page.status_code == 200 and "<svg" in report and "<script" not in report
    assert "Vestland" in page.text and "Previous (2026-09-01 – 2026-09-30)" in page.text
    for path in ("/profitability", "/quotes", "/unpaid", "/deliveries", "/pack"):
        assert client.get(f"{base}{path}?from=2026-10-01&to=2026-10-31").status_code == 200
    bad = client.get(f"{base}/sales?by=planet&from=2026-13-01")
    assert bad.status_code == 400
    assert "Grouping: &#39;planet&#39;" in bad.text and "From: &#39;2026-13-01&#39;" in bad.text


@pytest.mark.parametrize(
    ("role", "may"),
    [
        (Role.OWNER, True),
        (Role.ADMIN, True),
        (Role.ACCOUNTANT, True),
        (Role.STAFF, False),
        (Role.COLLECTOR, False),
        (Role.VIEWER, False),
    ],
)
def test_sales_reports_are_the_bookkeepers_and_unpaid_is_everyones(shop, clients, role, may):
    base = f"/t/{shop['slug']}/reports"
    assert (clients[role].get(f"{base}/sales").status_code == 200) is may
    assert (clients[role].get(f"{base}/pack").status_code == 200) is may
    assert clients[role].get(f"{base}/unpaid").status_code == 200


def test_csv_and_xlsx_carry_the_table_with_formulas_made_harmless(shop, clients):
    base = f"/t/{shop['slug']}/reports/sales?by=product&from=2026-10-01&to=2026-10-31"
    body = clients[Role.ACCOUNTANT].get(base + "&format=csv")
    assert body.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(body.text)))
    assert rows[0][:3] == ["Product", "Net sales", "Previous (2026-09-01 – 2026-09-30)"]
    assert ["'=Alarm", "300.00", "0.00"] == rows[1][:3]
    assert rows[-1][:3] == ["Total", "550.00", "100.00"]
    xlsx = clients[Role.ACCOUNTANT].get(base + "&format=xlsx")
    book = zipfile.ZipFile(io.BytesIO(xlsx.data))
    strings = re.findall(r"<t[^>]*>(.*?)</t>", book.read("xl/sharedStrings.xml").decode())
    sheet = book.read("xl/worksheets/sheet1.xml").decode()
    assert "'=Alarm" in strings and "=Alarm" not in [s for s in strings if s != "'=Alarm"]
    assert "<f>" not in sheet and "<v>550.00</v>" in sheet and "<v>300.00</v>" in sheet


def test_the_monthly_pack_is_a_pdf_of_the_reports_and_is_mailed(shop, clients):
    body = pack.build_report_pack(shop["tenant"].id, "2026-10")
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)
    assert "Monthly reports 2026-10 — Nordlys Service AS" in text
    assert "Sales by customer" in text and "Fjord Bakeri AS" in text and "250.00" in text
    assert "Quotes and orders" in text and "Deliveries" in text
    sent = clients[Role.OWNER].post(
        f"/t/{shop['slug']}/reports/pack", data={"month": "2026-10", "action": "send"}
    )
    assert sent.status_code == 302
    with _in(shop):
        audit = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "reports.pack_sent")
        ).all()
    assert len(audit) == 1 and audit[0].details["month"] == "2026-10"
    assert audit[0].details["to"] == pack.recipients(shop["tenant"].id) != []
    bad = clients[Role.OWNER].post(
        f"/t/{shop['slug']}/reports/pack", data={"month": "2026-13", "action": "download"}
    )
    assert bad.status_code == 400 and "Month:" in bad.text
    pdf = clients[Role.OWNER].post(
        f"/t/{shop['slug']}/reports/pack", data={"month": "2026-10", "action": "download"}
    )
    assert pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")


def test_the_pack_from_the_command_line(shop, app, tmp_path):
    path = tmp_path / "pack.pdf"
    args = ["reports", "pack", "--tenant", shop["slug"], "--month", "2026-10"]
    result = app.test_cli_runner().invoke(args=[*args, "--output", str(path), "--send"])
    assert result.exit_code == 0, result.output
    text = PdfReader(str(path)).pages[0].extract_text()
    assert "Monthly reports 2026-10" in text and "Fjord Bakeri AS" in text
    with _in(shop):
        audit = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "reports.pack_sent")
        ).all()
    assert [entry.details["month"] for entry in audit] == ["2026-10"]
    bad = app.test_cli_runner().invoke(args=[*args[:4], "--month", "2026-13"])
    assert bad.exit_code == 2 and "--month" in bad.output and "2026-13" in bad.output


def test_the_table_shows_the_first_rows_and_the_exports_all(shop, clients, monkeypatch):
    from saas.billing.reports import sales_views

    monkeypatch.setattr(sales_views, "TABLE_ROWS", 1)
    base = f"/t/{shop['slug']}/reports/sales?from=2026-10-01&to=2026-10-31"
    page = clients[Role.ACCOUNTANT].get(base)
    assert "The first 1 of 2 rows" in page.text and "Fjord Bakeri AS</th>" not in page.text
    rows = list(csv.reader(io.StringIO(clients[Role.ACCOUNTANT].get(base + "&format=csv").text)))
    assert [row[0] for row in rows[1:]] == ["Havbris Hotell AS", "Fjord Bakeri AS", "Total"]


def test_the_monthly_pack_prints_names_typed_like_markup_literally(shop):
    """The pack's title and its rows carry the tenant's and the customers' names as typed
    (tests/unit/test_pdf_escaping does the same for every other PDF builder)."""
    company, customer = "Nordlys <b>Service</b> & Co", "Fjord <i>B</i> & <br/> AS"
    with _in(shop):
        shop["tenant"].name = company
        db.session.scalar(select(Customer).where(Customer.name == "Fjord Bakeri AS")).name = (
            customer)
        db.session.commit()
    body = pack.build_report_pack(shop["tenant"].id, "2026-10")
    text = " ".join(
        " ".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages).split())
    assert f"Monthly reports 2026-10 — {company}" in text
    assert customer in text
