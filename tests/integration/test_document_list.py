"""The document list at any size (issue 13): its order across pages, its sums loaded apart,
and the index that serves a page of it without sorting every document of the kind."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import text

from saas import clock
from saas.billing.customers.models import Customer
from saas.billing.documents import queries, services
from saas.billing.documents.states import DocumentKind
from saas.billing.documents.views import pages
from saas.extensions import db
from saas.tenants import scoping
from saas.tenants.models import Role
from tests.books import issue_invoice
from tests.factories import CustomerFactory, TenantFactory, VatRateFactory, member

K = DocumentKind
# Issued in this order (numbering follows the dates); two on one day, to see the tie-break.
ISSUE_DAYS = [date(2026, 9, 1), date(2026, 9, 3), date(2026, 9, 3), date(2026, 9, 10),
              date(2026, 9, 20), date(2026, 10, 1)]


@pytest.fixture()
def shop(db_session):
    tenant = TenantFactory(name="Listeverk AS")
    user = member(tenant, Role.ACCOUNTANT)
    with scoping.tenant_context(tenant.id):
        vat = VatRateFactory(tenant=tenant, rate=Decimal(25)).id
        customer = db.session.get(Customer, CustomerFactory(
            tenant=tenant, name="Kunde AS", currency="NOK").id)
        issued = []
        for n, day in enumerate(ISSUE_DAYS, start=1):
            with clock.frozen(day):
                issued.append(issue_invoice(customer, vat, f"{100 * n}", day))
        drafts = [services.create_document(K.INVOICE, customer) for _ in range(2)]
        # Another kind, which the invoice list and its sums must leave out.
        issue_invoice(customer, vat, "999", ISSUE_DAYS[-1], kind=K.PROFORMA)
        db.session.commit()
        return {"tenant": tenant, "user": user, "slug": tenant.slug,
                "issued": [(d.id, d.number, d.issue_date) for d in issued],
                "drafts": [d.id for d in drafts]}


def list_url(shop, query: str = "") -> str:
    return f"/t/{shop['slug']}/documents/invoices/{query}"


def ids_on_page(response) -> list[int]:
    """The documents' ids in the order the rows show them (their links)."""
    body = response.get_data(as_text=True)
    rows = body[body.index("<tbody>"):body.index("</tbody>")]
    found = []
    for part in rows.split('href="/t/')[1:]:
        tail = part.split('"', 1)[0].rsplit("/", 1)[-1]
        found.append(int(tail))
    return found


def test_drafts_on_top_then_newest_first_across_pages(shop, make_client, monkeypatch):
    monkeypatch.setattr(pages, "PAGE_SIZE", 3)
    client = make_client(shop["user"])
    seen = []
    for number in (1, 2, 3):
        response = client.get(list_url(shop, f"?page={number}"))
        assert response.status_code == 200
        seen += ids_on_page(response)
    newest_first = sorted(shop["issued"], key=lambda row: (row[2], row[0]), reverse=True)
    assert seen == sorted(shop["drafts"], reverse=True) + [row[0] for row in newest_first]
    # The tie on 3 September: the later issued (higher id) first.
    same_day = [row[0] for row in shop["issued"] if row[2] == date(2026, 9, 3)]
    assert seen.index(max(same_day)) < seen.index(min(same_day))


def test_filters_still_narrow_the_list(shop, make_client):
    client = make_client(shop["user"])
    number = shop["issued"][1][1]
    assert ids_on_page(client.get(list_url(shop, f"?q={number}"))) == [shop["issued"][1][0]]
    assert ids_on_page(client.get(list_url(shop, "?status=draft"))) == sorted(
        shop["drafts"], reverse=True)
    in_september = ids_on_page(client.get(list_url(shop, "?from=2026-09-03&to=2026-09-10")))
    assert sorted(in_september) == sorted(row[0] for row in shop["issued"][1:4])


def test_the_list_page_asks_for_its_sums_and_the_fragment_has_them(shop, make_client):
    client = make_client(shop["user"])
    page = client.get(list_url(shop, "?status=issued")).get_data(as_text=True)
    sums_url = list_url(shop, "?status=issued&amp;totals=1")
    assert f'hx-get="{sums_url}" hx-trigger="load"' in page
    assert "in NOK" not in page  # not computed for the page itself
    fragment = client.get(list_url(shop, "?status=issued&totals=1"),
                          headers={"HX-Request": "true", "HX-Target": "document-sums"})
    body = fragment.get_data(as_text=True)
    assert body.lstrip().startswith('<tfoot id="document-sums">') and "<tbody>" not in body
    # Six issued invoices of 100 … 600 net (2,100), 25 % VAT (2,625 gross); not the drafts
    # (status filter) nor the proforma (another kind).
    assert "6 invoices in NOK" in body
    assert "2,100.00 NOK" in body and "2,625.00 NOK" in body


def test_sums_follow_the_filters_and_show_inline_without_javascript(shop, make_client):
    client = make_client(shop["user"])
    # The drafts, dated by their creation (today), fall outside the period.
    query = "?from=2026-09-20&to=2026-10-31&totals=1"
    whole = client.get(list_url(shop, query))
    # Without htmx, ?totals=1 is the whole page with its sums: 500 + 600 net.
    text_ = whole.get_data(as_text=True)
    assert "<html" in text_ and "2 invoices in NOK" in text_ and "1,100.00 NOK" in text_
    assert ids_on_page(whole) == [shop["issued"][5][0], shop["issued"][4][0]]


def test_sums_match_the_documents_per_currency(shop):
    with scoping.tenant_context(shop["tenant"].id):
        sums = queries.document_sums(queries.ListFilters(kind=K.INVOICE), date(2026, 10, 1))
    # The drafts count (they are on the list) with their zero totals.
    assert sums == [{"currency": "NOK", "count": 8, "net": Decimal("2100.00"),
                     "gross": Decimal("2625.00")}]


def _plan(statement) -> str:
    sql = statement.compile(db.engine, compile_kwargs={"literal_binds": True})
    return "\n".join(row[0] for row in db.session.execute(text(f"EXPLAIN {sql}")))


def _plan_with(statement, *off: str) -> str:
    """The plan, with these ways of reading priced out (the planner takes them only when
    nothing else answers the statement)."""
    for setting in off:
        db.session.execute(text(f"SET LOCAL {setting} = off"))
    try:
        return _plan(statement)
    finally:
        for setting in off:
            db.session.execute(text(f"RESET {setting}"))


@pytest.mark.postgres
def test_a_page_of_the_unfiltered_list_is_read_in_index_order_without_a_sort(shop):
    """With sequential scans and sorts priced out, a sort still appears if no index gives
    the list's order; ix_documents_list_order gives it, read backwards."""
    filters = queries.ListFilters(kind=K.INVOICE)
    with scoping.tenant_context(shop["tenant"].id):
        page = _plan_with(queries.document_list(filters, date(2026, 10, 1)).limit(26).offset(25),
                          "enable_seqscan", "enable_sort")
    assert "Index Scan Backward using ix_documents_list_order" in page, page
    assert "Sort" not in page, page


@pytest.mark.postgres
def test_the_sums_are_read_from_an_index_alone(shop):
    """With every way of reading the table itself priced out, only an index holding every
    column the sums read answers them cheaply: ix_documents_tenant_kind_status covers them."""
    with scoping.tenant_context(shop["tenant"].id):
        for filters in (queries.ListFilters(kind=K.INVOICE),
                        queries.ListFilters(kind=K.INVOICE, status="issued")):
            sums = _plan_with(queries.document_sums_statement(filters, date(2026, 10, 1)),
                              "enable_seqscan", "enable_indexscan", "enable_bitmapscan")
            assert "Index Only Scan using ix_documents_tenant_kind_status" in sums, sums
