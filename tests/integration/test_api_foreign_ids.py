"""Another company's ids in API bodies and query filters (issue 13).

Ids in the path are probed in test_isolation_guards (404 with another company's token).
Here the ids inside a request: every ``*_id`` field of every operation's body and query
model in the registry (``saas.api.registry.OPERATIONS``), found by walking the models, is
set to an object of another company. The answer must be the one a made-up id gets (the
same status and error code: the API tells nothing about what exists elsewhere), nothing is
saved, and no list shows another company's rows. Each body is first sent with the company's
own ids and accepted, so each refusal is the foreign id's. A new id field fails
``test_every_id_field_of_the_api_is_probed`` until it has a sample here.
"""

from __future__ import annotations

import copy
import typing

import pytest
from pydantic import BaseModel
from sqlalchemy import func, select

from saas.api.registry import OPERATIONS
from saas.billing.catalog.models import PriceList, Product
from saas.billing.customers.models import Customer
from saas.billing.documents.models import Document, DocumentLine
from saas.billing.documents.states import DocumentKind
from saas.billing.payments.models import Payment
from saas.billing.work.models import BillableItem
from saas.extensions import db
from saas.tenants import scoping
from saas.tenants.models import AuditEntry, Tenant
from tests.factories import (
    ContractTypeFactory,
    CustomerCategoryFactory,
    CustomerFactory,
    PriceListFactory,
    ProductCategoryFactory,
    ProductFactory,
    SiteFactory,
    TenantFactory,
    issued_document,
)
from tests.factories_api import api_token, bearer

NOT_AN_ID = {"external_id"}  # the caller's own key for its record, not one of ours
MADE_UP = 2_000_000_000


def id_fields(model: type[BaseModel], prefix: str = "") -> list[str]:
    """The dotted paths of a model's id fields, into nested models and lists of them."""
    paths = []
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        if name.endswith("_id") and name not in NOT_AN_ID and _is_int(field.annotation):
            paths.append(path)
        for inner in _models_in(field.annotation):
            paths += id_fields(inner, f"{path}.0.")
    return paths


def _flatten(annotation: object) -> list[object]:
    found = [annotation]
    for argument in typing.get_args(annotation):
        found += _flatten(argument)
    return found


def _is_int(annotation: object) -> bool:
    return int in _flatten(annotation)


def _models_in(annotation: object) -> set[type[BaseModel]]:
    return {a for a in _flatten(annotation) if isinstance(a, type) and issubclass(a, BaseModel)}


def probed_fields() -> set[tuple[str, str, str]]:
    return {
        (op.method, op.rule, path)
        for op in OPERATIONS
        for model in (op.body, op.query) if model is not None
        for path in id_fields(model)
    }


# --- the companies ---------------------------------------------------------------------------


def company(tenant: Tenant) -> dict[str, int]:
    """One object of each kind an API body or filter names, of tenant."""
    customer = CustomerFactory(tenant=tenant, name=f"Customer of {tenant.name}")
    ids = {
        "customer": customer.id,
        "site": SiteFactory(tenant=tenant, customer=customer).id,
        "product_category": ProductCategoryFactory(tenant=tenant).id,
        "customer_category": CustomerCategoryFactory(tenant=tenant).id,
        "price_list": PriceListFactory(tenant=tenant, currency="NOK").id,
        "contract_type": ContractTypeFactory(tenant=tenant).id,
    }
    product = ProductFactory(tenant=tenant)
    ids["product"], ids["vat_rate"] = product.id, product.vat_rate_id
    ids["invoice"] = issued_document(tenant)
    ids["order"] = issued_document(tenant, DocumentKind.ORDER)
    with scoping.tenant_context(tenant.id):
        invoice = db.session.get(Document, ids["invoice"])
        ids["invoice_customer"] = invoice.customer_id
        ids["invoice_line"] = db.session.scalar(
            select(DocumentLine.id).where(DocumentLine.document_id == ids["invoice"]))
        ids["order_line"] = db.session.scalar(
            select(DocumentLine.id).where(DocumentLine.document_id == ids["order"]))
        ids["draft"] = _draft(customer.id)
    return ids


def _draft(customer_id: int) -> int:
    from saas.billing.documents import services

    document = services.create_document(DocumentKind.INVOICE, db.session.get(Customer,
                                                                             customer_id))
    db.session.commit()
    return document.id


# Per operation: the path's own objects, and a body (or query) built from a company's ids.
# The path always names the own company's objects; the body's ids are probed one by one.
SAMPLES: dict[tuple[str, str], tuple[typing.Callable, typing.Callable]] = {
    ("POST", "/products"): (lambda own: "/products", lambda c: {
        "sku": "P-PROBE", "name": "Probe", "vat_rate_id": c["vat_rate"], "base_price": "10",
        "currency": "NOK", "category_id": c["product_category"]}),
    ("POST", "/price-lists"): (lambda own: "/price-lists", lambda c: {
        "name": "Probe list", "currency": "NOK",
        "items": [{"product_id": c["product"], "price": "5"}]}),
    ("POST", "/billing-runs"): (lambda own: "/billing-runs", lambda c: {
        "run_date": "2026-11-02", "contract_type_id": c["contract_type"]}),
    ("POST", "/customers"): (lambda own: "/customers", lambda c: {
        "name": "Probe customer", "country": "NO", "currency": "NOK",
        "category_id": c["customer_category"], "price_list_id": c["price_list"]}),
    ("PATCH", "/customers/<int:customer_id>"): (
        lambda own: f"/customers/{own['customer']}",
        lambda c: {"category_id": c["customer_category"], "price_list_id": c["price_list"]}),
    ("POST", "/documents"): (lambda own: "/documents", lambda c: {
        "kind": "invoice", "customer_id": c["customer"],
        "lines": [{"quantity": "1", "unit_price": "10", "product_id": c["product"],
                   "vat_rate_id": c["vat_rate"], "site_id": c["site"]}]}),
    ("POST", "/documents/<int:document_id>/lines"): (
        lambda own: f"/documents/{own['draft']}/lines",
        lambda c: {"quantity": "1", "unit_price": "10", "product_id": c["product"],
                   "vat_rate_id": c["vat_rate"], "site_id": c["site"]}),
    ("POST", "/documents/<int:document_id>/convert"): (
        lambda own: f"/documents/{own['order']}/convert",
        lambda c: {"lines": [{"line_id": c["order_line"], "quantity": "1"}]}),
    ("POST", "/documents/<int:document_id>/credit"): (
        lambda own: f"/documents/{own['invoice']}/credit",
        lambda c: {"lines": [{"line_id": c["invoice_line"], "quantity": "1"}]}),
    ("POST", "/payments"): (lambda own: "/payments", lambda c: {
        "customer_id": c["invoice_customer"], "amount": "10", "received_on": "2026-11-02",
        "allocations": [{"invoice_id": c["invoice"], "amount": "10"}]}),
    ("POST", "/billable-items"): (lambda own: "/billable-items", lambda c: {
        "external_id": 4242, "customer_id": c["customer"], "product_id": c["product"],
        "quantity": "1", "occurred_on": "2026-11-02", "site_id": c["site"]}),
}
# List filters: the rows of the customer named.
FILTERS = {("GET", "/contracts"), ("GET", "/documents"), ("GET", "/payments"),
           ("GET", "/billable-items")}


def test_every_id_field_of_the_api_is_probed(app):  # the app registers the operations
    fields = probed_fields()
    assert fields, "no id field found: has the registry changed shape?"
    covered = set(SAMPLES) | FILTERS
    assert {(method, rule) for method, rule, _ in fields} - covered == set()


def _set(body: dict, path: str, value: int) -> dict:
    changed = copy.deepcopy(body)
    *parents, last = path.split(".")
    node = changed
    for key in parents:
        node = node[int(key)] if key.isdigit() else node[key]
    node[last] = value
    return changed


def _saved(tenant: Tenant) -> dict[str, int]:
    """How many rows of what the API writes the company has."""
    with scoping.tenant_context(tenant.id):
        return {model.__name__: db.session.scalar(select(func.count()).select_from(model))
                for model in (Customer, Product, PriceList, Document, DocumentLine, Payment,
                              BillableItem, AuditEntry)}


@pytest.fixture()
def companies(db_session):
    own, stranger = TenantFactory(name="Own AS"), TenantFactory(name="Stranger AS")
    return own, company(own), company(stranger), bearer(api_token(own)[1])


def test_another_companys_ids_in_a_body_are_answered_as_made_up_ids(client, companies):
    own, own_ids, stranger_ids, headers = companies
    wrong, probes = [], 0
    for (method, rule, path) in sorted(probed_fields()):
        if (method, rule) in FILTERS:
            continue
        make_url, make_body = SAMPLES[(method, rule)]
        url = f"/api/v1{make_url(own_ids)}"
        valid = make_body(own_ids)
        foreign_value = _value_at(make_body(stranger_ids), path)
        before = _saved(own)
        foreign = client.open(url, method=method, json=_set(valid, path, foreign_value),
                              headers=headers)
        made_up = client.open(url, method=method, json=_set(valid, path, MADE_UP),
                              headers=headers)
        probes += 1
        if (foreign.status_code < 400 or foreign.status_code != made_up.status_code
                or foreign.json["error"]["code"] != made_up.json["error"]["code"]
                or _saved(own) != before or "Stranger AS" in foreign.get_data(as_text=True)):
            wrong.append((method, rule, path, foreign.status_code, made_up.status_code))
    assert probes >= 15 and wrong == []
    # And the bodies are right otherwise: with the company's own ids each is accepted.
    refused = []
    for (method, rule), (make_url, make_body) in SAMPLES.items():
        response = client.open(f"/api/v1{make_url(own_ids)}", method=method,
                               json=make_body(own_ids), headers=headers)
        if response.status_code >= 400:
            refused.append((method, rule, response.status_code, response.get_json()))
    assert refused == []


def _value_at(body: dict, path: str) -> int:
    node: object = body
    for key in path.split("."):
        node = node[int(key)] if key.isdigit() else node[key]  # type: ignore[index]
    return typing.cast(int, node)


def test_a_list_filtered_by_another_companys_customer_shows_nothing(client, companies):
    own, own_ids, stranger_ids, headers = companies
    for _method, rule in sorted(FILTERS):
        foreign = client.get(f"/api/v1{rule}?customer_id={stranger_ids['invoice_customer']}",
                             headers=headers)
        assert foreign.status_code in (200, 404, 422), rule
        if foreign.status_code == 200:
            assert foreign.json["data"] == [], rule
        mine = client.get(f"/api/v1{rule}?customer_id={own_ids['invoice_customer']}",
                          headers=headers)
        assert mine.status_code == 200, rule
