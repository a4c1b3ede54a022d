"""Customers over the API: register with sites and contacts, change, validation, pages by
cursor in a bounded number of queries."""

from __future__ import annotations

import pytest
from sqlalchemy import event, func, select

from saas.billing.customers.models import Customer
from saas.extensions import db
from saas.tenants import scoping
from tests.factories import ContactFactory, CustomerFactory, SiteFactory, TenantFactory
from tests.factories_api import api_token, bearer

NEW = {"name": "Fjordkraft Drift AS", "country": "NO", "currency": "NOK",
       "vat_id": "NO 974 760 673 MVA", "payment_terms_days": 30,
       "sites": [{"code": "OSL-1", "name": "Oslo depot", "city": "Oslo"}],
       "contacts": [{"name": "Kari", "email": "kari@fjord.example", "receives_invoices": True}]}


@pytest.fixture()
def tenant(db_session):
    return TenantFactory(name="Api Customers AS")


@pytest.fixture()
def headers(tenant):
    return bearer(api_token(tenant)[1])


def _count(tenant) -> int:
    with scoping.tenant_context(tenant.id):
        return db.session.scalar(select(func.count()).select_from(Customer))


def test_a_customer_is_registered_with_sites_and_contacts(client, tenant, headers):
    response = client.post("/api/v1/customers", json=NEW, headers=headers)
    assert response.status_code == 201
    body = response.json
    assert body["vat_id"] == "NO974760673MVA" and body["number"] >= 10001
    assert [s["code"] for s in body["sites"]] == ["OSL-1"]
    assert [c["email"] for c in body["contacts"]] == ["kari@fjord.example"]
    assert body["discount_percent"] == "0.00"
    got = client.get(f"/api/v1/customers/{body['id']}", headers=headers).json
    assert got == body


def test_a_change_touches_only_the_fields_sent(client, tenant, headers):
    created = client.post("/api/v1/customers", json=NEW, headers=headers).json
    response = client.patch(f"/api/v1/customers/{created['id']}", headers=headers,
                            json={"city": "Bergen", "payment_terms_days": 10})
    assert response.status_code == 200
    assert (response.json["city"], response.json["payment_terms_days"],
            response.json["name"]) == ("Bergen", 10, NEW["name"])


@pytest.mark.parametrize(("change", "field"), [
    ({"vat_id": "NO 974 760 674 MVA"}, "vat_id"),
    ({"country": "XX"}, "country"),
    ({"currency": "nok"}, "currency"),
    ({"payment_terms_days": 400}, "payment_terms_days"),
    ({"name": ""}, "name"),
    ({"contacts": [{"name": "No mail", "receives_invoices": True}]}, "contacts.0"),
    ({"sites": [{"code": "A", "name": "x", "active_from": "2026-02-01",
                 "active_to": "2026-01-01"}]}, "sites.0"),
    ({"category_id": 999999}, "category_id"),
    ({"notes": "nul\x00byte"}, "notes"),
])
def test_bad_fields_are_named_and_nothing_is_saved(client, tenant, headers, change, field):
    response = client.post("/api/v1/customers", json={**NEW, **change}, headers=headers)
    assert response.status_code == 422, response.json
    assert field in [item["field"] for item in response.json["error"]["fields"]]
    assert _count(tenant) == 0


def test_a_duplicate_site_code_is_refused_with_its_reason(client, tenant, headers):
    client.post("/api/v1/customers", json=NEW, headers=headers)
    response = client.post("/api/v1/customers", json={**NEW, "contacts": []}, headers=headers)
    assert response.status_code == 422
    assert "OSL-1" in response.json["error"]["message"]
    assert _count(tenant) == 1


def test_sites_and_contacts_are_added_to_a_customer(client, tenant, headers):
    created = client.post("/api/v1/customers", json=NEW, headers=headers).json
    site = client.post(f"/api/v1/customers/{created['id']}/sites", headers=headers,
                       json={"code": "BGO-2", "name": "Bergen quay"})
    contact = client.post(f"/api/v1/customers/{created['id']}/contacts", headers=headers,
                          json={"name": "Ola", "email": "ola@fjord.example"})
    assert (site.status_code, contact.status_code) == (201, 201)
    got = client.get(f"/api/v1/customers/{created['id']}", headers=headers).json
    assert len(got["sites"]) == 2 and len(got["contacts"]) == 2


def test_pages_follow_the_cursor_to_the_end(client, tenant, headers):
    ids = [CustomerFactory(tenant=tenant).id for _ in range(5)]
    seen, cursor = [], None
    while True:
        url = "/api/v1/customers?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(url, headers=headers).json
        seen += [row["id"] for row in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(ids)


@pytest.mark.parametrize("query", ["cursor=nonsense", "cursor=eyJhZnRlciI6ICJ4In0",
                                   "limit=0", "limit=201", "limit=ten"])
def test_bad_paging_is_a_400_naming_the_parameter(client, headers, query):
    response = client.get(f"/api/v1/customers?{query}", headers=headers)
    assert response.status_code == 400
    assert response.json["error"]["fields"][0]["field"] in {"cursor", "limit"}


def _queries_for_a_page(client, headers) -> int:
    statements = []
    engine = db.session.get_bind()
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        response = client.get("/api/v1/customers?limit=200", headers=headers)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert response.status_code == 200
    # Transaction plumbing (savepoints, the tenant setting) depends on what ran before.
    return sum(1 for sql in statements
               if not sql.startswith(("SAVEPOINT", "RELEASE", "SELECT set_config")))


def test_a_page_costs_the_same_queries_for_5_or_50_customers(client, tenant, headers):
    def add(count: int) -> None:
        for _ in range(count):
            customer = CustomerFactory(tenant=tenant)
            SiteFactory(tenant=tenant, customer=customer)
            ContactFactory(tenant=tenant, customer=customer)

    add(5)
    _queries_for_a_page(client, headers)  # the token's first use is recorded once
    few = _queries_for_a_page(client, headers)
    add(45)
    many = _queries_for_a_page(client, headers)
    assert many == few
