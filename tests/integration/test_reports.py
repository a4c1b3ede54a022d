"""The reports' pages: receivables ageing with its chart, the journal, the trial balance and
the journal's CSV export (R3.6, R9.2)."""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from saas import clock
from saas.billing.customers.models import Customer
from saas.billing.documents.models import Document
from saas.billing.payments import services
from saas.billing.payments.models import JournalLine
from saas.extensions import db
from saas.tenants import scoping
from saas.tenants.models import Role
from tests.books import issue_invoice
from tests.factories import CustomerFactory, TenantFactory, VatRateFactory, member

D = Decimal
TODAY = date(2026, 10, 31)


@pytest.fixture()
def books(db_session):
    """Invoices due in each bucket on 31 Oct 2026 (14 days' terms), one partly paid, and a
    customer with credit; a VAT code a spreadsheet would take for a formula."""
    tenant = TenantFactory(name="Nordlys Service AS", timezone="Europe/Oslo")
    with scoping.tenant_context(tenant.id):
        vat = VatRateFactory(tenant=tenant, code="=S25", rate=D("25.00")).id
        fjord = CustomerFactory(tenant=tenant, name="Fjord Bakeri AS", number=20001)
        havbris = CustomerFactory(tenant=tenant, name="Havbris Hotell AS", number=20002)
        fjord, havbris = (db.session.get(Customer, c.id) for c in (fjord, havbris))
        ids = {}
        for key, net, issued in (("current", "100", date(2026, 10, 20)),  # due 3 Nov
                                 ("27 days", "200", date(2026, 9, 20)),  # due 4 Oct
                                 ("58 days", "400", date(2026, 8, 20)),  # due 3 Sep
                                 ("89 days", "800", date(2026, 7, 20)),  # due 3 Aug
                                 ("169 days", "80", date(2026, 5, 1))):  # due 15 May
            ids[key] = issue_invoice(fjord, vat, net, issued, terms=14).id
        other = issue_invoice(havbris, vat, "1000", date(2026, 9, 20), terms=14)
        services.record_payment(fjord, D(100), date(2026, 10, 10),
                                allocations=[(db.session.get(Document, ids["58 days"]),
                                              D(100))])
        services.record_payment(havbris, D(50), date(2026, 10, 15))  # credit on account
        ids.update(fjord=fjord.id, havbris=havbris.id, other=other.id)
        db.session.commit()
    with clock.frozen(TODAY):
        yield {"tenant": tenant, "slug": tenant.slug, **ids}


@pytest.fixture()
def clients(books, make_client):
    return {role: make_client(member(books["tenant"], role)) for role in Role}


def url(books, path: str) -> str:
    return f"/t/{books['slug']}/reports{path}"


def cells(html: str, row_id: str) -> list[str]:
    row = html.split(f'id="{row_id}"')[1].split("</tr>")[0]
    return [cell.strip() for cell in re.findall(r'<td class="num">(.*?)</td>', row, re.S)]


def test_ageing_puts_each_open_invoice_in_its_bucket_by_days_past_due(books, clients):
    page = clients[Role.COLLECTOR].get(url(books, "/ageing"))
    assert page.status_code == 200 and "Open on 2026-10-31 in NOK" in page.text
    # Current, 1–30, 31–60, 61–90, over 90; open, credit, balance.
    assert cells(page.text, f"ageing-{books['fjord']}") == [
        "125.00", "250.00", "400.00", "1,000.00", "100.00", "1,875.00", "",
        "<strong>1,875.00</strong>"]
    assert cells(page.text, f"ageing-{books['havbris']}") == [
        "", "1,250.00", "", "", "", "1,250.00", "50.00", "<strong>1,200.00</strong>"]
    assert cells(page.text, "ageing-totals") == [
        "125.00", "1,500.00", "400.00", "1,000.00", "100.00", "3,125.00", "50.00",
        "<strong>3,075.00 NOK</strong>"]
    chart = page.text.split('<svg class="ageing-chart"')[1].split("</svg>")[0]
    assert chart.count('<rect class="bucket-') == 6  # Fjord's five, Havbris's one
    assert "Fjord Bakeri AS · 61–90 days: 1,000.00 NOK" in chart


def test_ageing_on_a_past_day_counts_what_was_open_then(books, clients):
    page = clients[Role.VIEWER].get(url(books, "/ageing"), query_string={"on": "2026-09-30"})
    # The invoice of 20 Oct was not issued yet, the 100.00 of 10 Oct not paid, the
    # credit of 15 Oct not received; on 30 Sep the invoice due 3 Sep was 27 days overdue.
    assert cells(page.text, f"ageing-{books['fjord']}") == [
        "250.00", "500.00", "1,000.00", "", "100.00", "1,850.00", "",
        "<strong>1,850.00</strong>"]
    assert cells(page.text, f"ageing-{books['havbris']}")[:7] == [
        "1,250.00", "", "", "", "", "1,250.00", ""]
    fragment = clients[Role.VIEWER].get(url(books, "/ageing"),
                                        headers={"HX-Request": "true", "HX-Target": "report"})
    assert "<html" not in fragment.text and 'id="report"' in fragment.text


@pytest.mark.parametrize("role, may", [(Role.ACCOUNTANT, True), (Role.ADMIN, True),
                                       (Role.OWNER, True), (Role.STAFF, False),
                                       (Role.COLLECTOR, False), (Role.VIEWER, False)])
def test_the_books_are_for_accountants(books, clients, role, may):
    for path in ("/journal", "/trial-balance", "/journal.csv"):
        assert clients[role].get(url(books, path)).status_code == (200 if may else 403)
    assert clients[role].get(url(books, "/ageing")).status_code == 200


def test_the_journal_shows_the_entries_of_the_period_with_their_lines(books, clients):
    page = clients[Role.ACCOUNTANT].get(url(books, "/journal"),
                                        query_string={"from": "2026-10-01",
                                                      "to": "2026-10-31"})
    # An invoice and two payments (the one settling an invoice as it came, a receipt).
    assert page.text.count('class="entry-head"') == 3
    assert "Invoice INV-2026-00001" in page.text  # issued 20 Oct
    assert "Payment from Fjord Bakeri AS" in page.text
    assert "Invoice INV-2026-00002" not in page.text  # issued in September
    assert "1500</span> Receivables" in page.text and "20001" in page.text


def test_the_trial_balance_adds_up_and_receivables_are_what_is_open(books, clients):
    page = clients[Role.ACCOUNTANT].get(url(books, "/trial-balance"),
                                        query_string={"from": "2026-10-01",
                                                      "to": "2026-10-31"})
    # Receivables: 3,125.00 open at the end (Fjord's 1,875.00, Havbris's 1,250.00), after
    # October's invoice (125.00) and Fjord's receipt settling 100.00; 150.00 received in
    # October, of which Havbris's 50.00 is still credit (the receipt went to receivables).
    assert cells(page.text, "account-NOK-1500") == ["3,100.00", "125.00", "100.00",
                                                    "3,125.00"]
    assert cells(page.text, "account-NOK-1920") == ["0.00", "150.00", "0.00", "150.00"]
    assert cells(page.text, "account-NOK-2900") == ["0.00", "0.00", "50.00", "-50.00"]
    footer = page.text.split('id="trial-balance-NOK"')[1].split("<tfoot>")[1]
    debit, credit, closing = re.findall(r'<td class="num">(.*?)</td>', footer)
    assert debit == credit and closing == "0.00"


def test_the_journal_exports_as_csv_with_formulas_made_harmless(books, clients):
    response = clients[Role.ACCOUNTANT].get(url(books, "/journal.csv"),
                                            query_string={"from": "2026-01-01",
                                                          "to": "2026-12-31"})
    assert response.mimetype == "text/csv"
    assert 'attachment; filename="journal-' in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    with scoping.tenant_context(books["tenant"].id):
        assert len(rows) == db.session.scalar(select(func.count()).select_from(JournalLine))
    first = rows[0]
    assert first == {"date": "2026-05-01", "entry id": first["entry id"], "kind": "invoice",
                     "description": "Invoice INV-2026-00005", "account": "1500",
                     "account name": "Receivables", "customer number": "20001",
                     "debit": "100.00", "credit": "0.00", "currency": "NOK", "VAT code": ""}
    revenue = rows[1]
    assert (revenue["account"], revenue["credit"], revenue["VAT code"]) == (
        "3000", "80.00", "'=S25")
    assert sum(D(r["debit"]) for r in rows) == sum(D(r["credit"]) for r in rows)
    october = clients[Role.ACCOUNTANT].get(url(books, "/journal.csv"),
                                           query_string={"from": "2026-10-11",
                                                         "to": "2026-10-31"})
    assert {r["date"] for r in csv.DictReader(io.StringIO(october.text))} == {
        "2026-10-15", "2026-10-20"}
