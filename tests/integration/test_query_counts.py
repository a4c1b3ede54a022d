"""Every list page asks the database a bounded number of questions, whatever the data size
(issue 13): the same page with ten times the rows runs the same number of statements."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import event

from saas import clock
from saas.billing.customers.models import Customer
from saas.billing.payments import services as payments
from saas.extensions import db
from saas.tenants import scoping
from saas.tenants.models import Role
from tests.books import issue_invoice
from tests.factories import CustomerFactory, TenantFactory, VatRateFactory, member

DAY = date(2026, 10, 1)
PAGES = [
    "/t/{slug}/",
    "/t/{slug}/documents/invoices/",
    "/t/{slug}/documents/invoices/?totals=1",  # with its sums, as a page without htmx
    "/t/{slug}/customers/",
    "/t/{slug}/payments/",
    "/t/{slug}/reports/unpaid",
    "/t/{slug}/reports/ageing",
    "/t/{slug}/todos/",
    "/t/{slug}/documents/{invoice}",
]


@contextmanager
def counted() -> Iterator[list[str]]:
    """The SQL statements run inside the block."""
    statements: list[str] = []

    def note(conn, cursor, statement, parameters, context, executemany) -> None:
        statements.append(statement)

    engine = db.session.get_bind().engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", note)


@pytest.fixture()
def shop(db_session):
    tenant = TenantFactory(name="Telleverk AS")
    user = member(tenant, Role.OWNER)
    vat = VatRateFactory(tenant=tenant, rate=Decimal(25)).id
    state = {"tenant": tenant, "user": user, "vat": vat, "invoice": None}

    def grow(count: int) -> None:
        """Add customers, each with an issued invoice paid in part, and lines on one."""
        with scoping.tenant_context(tenant.id), clock.frozen(DAY):
            for n in range(count):
                customer = db.session.get(Customer, CustomerFactory(
                    tenant=tenant, name=f"Kunde {n} AS", currency="NOK").id)
                invoice = issue_invoice(customer, vat, "100", DAY)
                payments.record_payment(customer, Decimal("50"), DAY,
                                        allocations=[(invoice, Decimal("50"))])
                state["invoice"] = state["invoice"] or invoice.id
            db.session.commit()

    state["grow"] = grow
    return state


def test_list_pages_run_as_many_statements_for_thirty_rows_as_for_three(shop, make_client, app,
                                                                       monkeypatch):
    # The web process's look for jobs waiting for Redis (every 30 s) is not the page's:
    # landing inside one measured request, it made this test flaky.
    monkeypatch.setitem(app.extensions, "saas.deferred_checked", float("inf"))
    client = make_client(shop["user"])
    shop["grow"](3)

    def counts() -> dict[str, int]:
        found = {}
        for page in PAGES:
            url = page.format(slug=shop["tenant"].slug, invoice=shop["invoice"])
            with counted() as statements:
                assert client.get(url).status_code == 200, url
            found[page] = len(statements)
        return found

    few = counts()
    assert min(few.values()) > 0  # the statements are seen
    shop["grow"](27)
    many = counts()
    grew = {page: (few[page], many[page]) for page in PAGES if many[page] > few[page]}
    assert grew == {}, f"statements per page grew with the data (3 rows → 30 rows): {grew}"


def test_the_tenants_branding_is_read_once_a_page(shop, make_client):
    """The header, the e-invoice check and the e-mail form all use it; one read serves all."""
    client = make_client(shop["user"])
    shop["grow"](1)
    for page in ("/t/{slug}/documents/{invoice}", "/t/{slug}/documents/invoices/"):
        url = page.format(slug=shop["tenant"].slug, invoice=shop["invoice"])
        with counted() as statements:
            assert client.get(url).status_code == 200, url
        assert sum("FROM brandings" in statement for statement in statements) == 1, url
