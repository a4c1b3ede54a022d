"""Documents over the API: the chain quote → order → invoice → issue → PDF → credit, send,
validation with field details and nothing saved, lists filtered and paged."""

from __future__ import annotations

from decimal import Decimal

import pytest
from lxml import etree
from sqlalchemy import func, select

from saas.billing.documents.models import Delivery, Document
from saas.extensions import db
from saas.tenants import scoping
from tests.factories import ContactFactory, CustomerFactory, TenantFactory, VatRateFactory
from tests.factories_api import api_token, bearer


@pytest.fixture()
def shop(db_session):
    tenant = TenantFactory(name="Api Documents AS")
    customer = CustomerFactory(tenant=tenant, name="Buyer AS")
    ContactFactory(tenant=tenant, customer=customer, email="ap@buyer.example",
                   receives_invoices=True)
    ids = {"customer": customer.id,
           "vat": VatRateFactory(tenant=tenant, code="S25", rate=Decimal("25.00")).id}
    _, secret = api_token(tenant)
    return {"tenant": tenant, **ids, "headers": bearer(secret)}


def _draft(client, shop, kind="quote", **extra):
    body = {"kind": kind, "customer_id": shop["customer"], "lines": [
        {"description": "Consulting", "quantity": "3", "unit": "h", "unit_price": "1000.00",
         "vat_rate_id": shop["vat"]},
        {"description": "Travel", "quantity": "1", "unit_price": "250.50",
         "vat_rate_id": shop["vat"]},
    ], **extra}
    return client.post("/api/v1/documents", json=body, headers=shop["headers"])


def _documents(tenant) -> int:
    with scoping.tenant_context(tenant.id):
        return db.session.scalar(select(func.count()).select_from(Document))


def test_the_whole_chain_quote_order_invoice_pdf_credit(client, shop):
    post = lambda url, body=None: client.post(url, json=body or {}, headers=shop["headers"])  # noqa: E731
    quote = _draft(client, shop).json
    assert (quote["kind"], quote["status"], quote["number"]) == ("quote", "draft", None)
    assert [Decimal(quote[name]) for name in ("net_total", "vat_total", "gross_total")] == [
        Decimal("3250.50"), Decimal("812.63"), Decimal("4063.13")]
    # Money and quantities are decimal strings, never JSON numbers.
    assert [Decimal(line["quantity"]) for line in quote["lines"]] == [3, 1]
    assert all(isinstance(line["unit_price"], str) for line in quote["lines"])
    issued = post(f"/api/v1/documents/{quote['id']}/issue")
    assert issued.status_code == 200 and issued.json["number"]
    order = post(f"/api/v1/documents/{quote['id']}/convert")
    assert order.status_code == 201
    assert (order.json["kind"], order.json["source_id"]) == ("order", quote["id"])
    assert post(f"/api/v1/documents/{order.json['id']}/issue").json["status"] == "confirmed"
    invoice = post(f"/api/v1/documents/{order.json['id']}/convert")
    assert invoice.status_code == 201 and invoice.json["kind"] == "invoice"
    issued = post(f"/api/v1/documents/{invoice.json['id']}/issue").json
    assert issued["status"] == "issued" and Decimal(issued["gross_total"]) == Decimal("4063.13")
    pdf = client.get(f"/api/v1/documents/{issued['id']}/pdf", headers=shop["headers"])
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.data.startswith(b"%PDF")
    line = issued["lines"][0]
    credit = post(f"/api/v1/documents/{issued['id']}/credit",
                  {"lines": [{"line_id": line["id"], "quantity": "1"}]})
    assert credit.status_code == 201
    assert (credit.json["kind"], credit.json["source_id"]) == ("credit_note", issued["id"])
    assert Decimal(credit.json["net_total"]) == Decimal("-1000.00")


def test_an_issued_invoice_is_an_e_invoice_and_a_draft_is_not(client, shop):
    invoice = _draft(client, shop, kind="invoice").json
    early = client.get(f"/api/v1/documents/{invoice['id']}/ubl", headers=shop["headers"])
    assert early.status_code == 422
    assert early.json["error"]["code"] == "not_an_e_invoice"
    assert "issue it before" in early.json["error"]["message"]
    issued = client.post(f"/api/v1/documents/{invoice['id']}/issue",
                         headers=shop["headers"]).json
    ubl = client.get(f"/api/v1/documents/{invoice['id']}/ubl", headers=shop["headers"])
    assert ubl.status_code == 200 and ubl.mimetype == "application/xml"
    root = etree.fromstring(ubl.data)
    assert root.tag == "{urn:oasis:names:specification:ubl:schema:xsd:Invoice-2}Invoice"
    assert root.findtext("{urn:oasis:names:specification:ubl:schema:xsd:"
                         "CommonBasicComponents-2}ID") == issued["number"]


def test_send_queues_the_issued_invoice_to_the_customers_address(client, shop):
    invoice = _draft(client, shop, kind="invoice").json
    early = client.post(f"/api/v1/documents/{invoice['id']}/send", json={},
                        headers=shop["headers"])
    assert early.status_code == 422 and "issue it first" in early.json["error"]["message"]
    client.post(f"/api/v1/documents/{invoice['id']}/issue", headers=shop["headers"])
    sent = client.post(f"/api/v1/documents/{invoice['id']}/send", json={},
                       headers=shop["headers"])
    assert sent.status_code == 202 and sent.json["recipient"] == "ap@buyer.example"
    with scoping.tenant_context(shop["tenant"].id):
        assert db.session.scalar(select(Delivery.recipient)) == "ap@buyer.example"


def test_a_bad_line_is_named_with_its_place_and_nothing_is_saved(client, shop):
    body = {"kind": "invoice", "customer_id": shop["customer"], "lines": [
        {"description": "Fine", "quantity": "1", "unit_price": "10", "vat_rate_id": shop["vat"]},
        {"description": "Negative", "quantity": "-2", "unit_price": "10",
         "vat_rate_id": shop["vat"]},
    ]}
    response = client.post("/api/v1/documents", json=body, headers=shop["headers"])
    assert response.status_code == 422
    assert response.json["error"]["fields"][0]["field"] == "lines.1.quantity"
    assert _documents(shop["tenant"]) == 0


@pytest.mark.parametrize(("line", "field"), [
    ({"quantity": 1.5, "unit_price": "1"}, "lines.0.quantity"),  # a float, not a string
    ({"quantity": "abc", "unit_price": "1"}, "lines.0.quantity"),
    ({"quantity": "1", "unit_price": "1", "colour": "red"}, "lines.0.colour"),
    ({"unit_price": "1"}, "lines.0.quantity"),
])
def test_malformed_bodies_are_refused_field_by_field(client, shop, line, field):
    body = {"kind": "invoice", "customer_id": shop["customer"], "lines": [line]}
    response = client.post("/api/v1/documents", json=body, headers=shop["headers"])
    assert response.status_code == 422
    assert response.json["error"]["code"] == "validation_failed"
    assert field in [item["field"] for item in response.json["error"]["fields"]]
    assert _documents(shop["tenant"]) == 0


def test_another_tenants_customer_cannot_be_billed(client, shop):
    stranger = CustomerFactory(tenant=TenantFactory(name="Elsewhere AS")).id
    response = client.post("/api/v1/documents", headers=shop["headers"], json={
        "kind": "invoice", "customer_id": stranger})
    assert response.status_code == 422
    assert response.json["error"]["fields"][0]["field"] == "customer_id"


def test_lists_filter_by_kind_status_and_customer(client, shop):
    _draft(client, shop, kind="quote")
    invoice = _draft(client, shop, kind="invoice").json
    client.post(f"/api/v1/documents/{invoice['id']}/issue", headers=shop["headers"])
    get = lambda query: client.get(f"/api/v1/documents?{query}", headers=shop["headers"])  # noqa: E731
    assert [d["kind"] for d in get("kind=invoice").json["data"]] == ["invoice"]
    assert [d["kind"] for d in get("status=draft").json["data"]] == ["quote"]
    assert len(get(f"customer_id={shop['customer']}").json["data"]) == 2
    bad = get("kind=letter")
    assert bad.status_code == 400 and bad.json["error"]["fields"][0]["field"] == "kind"


def test_crediting_more_than_was_invoiced_names_the_line(client, shop):
    invoice = _draft(client, shop, kind="invoice").json
    issued = client.post(f"/api/v1/documents/{invoice['id']}/issue",
                         headers=shop["headers"]).json
    lines = [{"line_id": line["id"], "quantity": "1"} for line in issued["lines"]]
    lines[1]["quantity"] = "5"  # the travel line was 1
    response = client.post(f"/api/v1/documents/{issued['id']}/credit",
                           json={"lines": lines}, headers=shop["headers"])
    assert response.status_code == 422
    assert response.json["error"]["fields"][0]["field"] == "lines.1.quantity"
    assert "more than" in response.json["error"]["message"]
    assert _documents(shop["tenant"]) == 1
