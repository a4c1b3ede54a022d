"""The rest of the API: catalog, payments, billable items, contracts and billing runs."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from saas.billing.contracts.models import BillingRun
from saas.billing.payments.models import Payment
from saas.extensions import db
from saas.tenants import scoping
from tests.factories import (
    CustomerFactory,
    ProductFactory,
    TenantFactory,
    VatRateFactory,
    issued_document,
)
from tests.factories_api import api_token, bearer


@pytest.fixture()
def shop(db_session):
    tenant = TenantFactory(name="Api Resources AS")
    ids = {"customer": CustomerFactory(tenant=tenant, name="Payer AS").id,
           "vat": VatRateFactory(tenant=tenant, code="S25", rate=Decimal("25.00")).id}
    ids["product"] = ProductFactory(tenant=tenant, sku="HOUR", name="Consulting hour").id
    _, secret = api_token(tenant)
    return {"tenant": tenant, **ids, "headers": bearer(secret)}


def _count(tenant, model) -> int:
    with scoping.tenant_context(tenant.id):
        return db.session.scalar(select(func.count()).select_from(model))


def test_products_and_price_lists_are_added_and_read(client, shop):
    headers = shop["headers"]
    product = client.post("/api/v1/products", headers=headers, json={
        "sku": "SUPPORT", "name": "Support plan", "vat_rate_id": shop["vat"],
        "base_price": "499.00", "currency": "NOK"})
    assert product.status_code == 201 and product.json["base_price"].startswith("499.00")
    duplicate = client.post("/api/v1/products", headers=headers, json={
        "sku": "SUPPORT", "name": "Again", "vat_rate_id": shop["vat"], "base_price": "1",
        "currency": "NOK"})
    assert duplicate.status_code == 422 and duplicate.json["error"]["fields"][0]["field"] == "sku"
    price_list = client.post("/api/v1/price-lists", headers=headers, json={
        "name": "Partners", "currency": "NOK",
        "items": [{"product_id": product.json["id"], "price": "399.00"}]})
    assert price_list.status_code == 201
    got = client.get(f"/api/v1/price-lists/{price_list.json['id']}", headers=headers).json
    assert [Decimal(item["price"]) for item in got["items"]] == [Decimal("399.00")]
    skus = [p["sku"] for p in client.get("/api/v1/products", headers=headers).json["data"]]
    assert skus == ["HOUR", "SUPPORT"]
    rates = client.get("/api/v1/vat-rates", headers=headers).json["data"]
    assert "S25" in [rate["code"] for rate in rates]


def test_a_payment_is_recorded_and_settles_the_invoice(client, shop):
    invoice_id = issued_document(shop["tenant"])
    headers = shop["headers"]
    invoice = client.get(f"/api/v1/documents/{invoice_id}", headers=headers).json
    response = client.post("/api/v1/payments", headers=headers, json={
        "customer_id": invoice["customer_id"], "amount": invoice["gross_total"][:-2],
        "received_on": "2026-11-30", "reference": invoice["number"],
        "allocations": [{"invoice_id": invoice_id, "amount": invoice["gross_total"][:-2]}]})
    assert response.status_code == 201, response.json
    assert [a["invoice_id"] for a in response.json["allocations"]] == [invoice_id]
    after = client.get(f"/api/v1/documents/{invoice_id}", headers=headers).json
    assert after["status"] == "paid"
    listed = client.get(f"/api/v1/payments?customer_id={invoice['customer_id']}",
                        headers=headers).json["data"]
    assert [p["id"] for p in listed] == [response.json["id"]]


def test_a_payment_beyond_the_open_amount_is_refused_and_nothing_is_recorded(client, shop):
    invoice_id = issued_document(shop["tenant"])
    invoice = client.get(f"/api/v1/documents/{invoice_id}", headers=shop["headers"]).json
    response = client.post("/api/v1/payments", headers=shop["headers"], json={
        "customer_id": invoice["customer_id"], "amount": "100000.00",
        "received_on": "2026-11-30",
        "allocations": [{"invoice_id": invoice_id, "amount": "100000.00"}]})
    assert response.status_code == 422
    assert "open" in response.json["error"]["message"]
    assert _count(shop["tenant"], Payment) == 0


def test_billable_work_is_captured_once_per_external_id(client, shop):
    body = {"external_id": 7001, "customer_id": shop["customer"],
            "product_id": shop["product"], "quantity": "2.5", "occurred_on": "2026-11-20",
            "description": "Server migration", "unit_price": "1000.00"}
    first = client.post("/api/v1/billable-items", headers=shop["headers"], json=body)
    assert first.status_code == 201
    [item] = first.json["data"]
    assert (item["status"], Decimal(item["quantity"])) == ("open", Decimal("2.5"))
    again = client.post("/api/v1/billable-items", headers=shop["headers"],
                        json={**body, "quantity": "3"})
    assert again.json["data"][0]["id"] == item["id"]
    listed = client.get("/api/v1/billable-items?status=open", headers=shop["headers"]).json
    assert [Decimal(row["quantity"]) for row in listed["data"]] == [Decimal("3")]


def test_contracts_are_read_and_a_billing_run_is_started(client, shop):
    from tests.factories import ContractLineFactory

    line = ContractLineFactory(tenant=shop["tenant"])
    contract_id = line.contract_id
    headers = shop["headers"]
    contract = client.get(f"/api/v1/contracts/{contract_id}", headers=headers)
    assert contract.status_code == 200 and contract.json["lines"]
    assert [c["id"] for c in client.get("/api/v1/contracts", headers=headers).json["data"]] \
        == [contract_id]
    run = client.post("/api/v1/billing-runs", headers=headers, json={"run_date": "2026-12-01"})
    assert run.status_code == 202 and run.json["run_date"] == "2026-12-01"
    assert _count(shop["tenant"], BillingRun) == 1
    got = client.get(f"/api/v1/billing-runs/{run.json['id']}", headers=headers)
    assert got.status_code == 200
