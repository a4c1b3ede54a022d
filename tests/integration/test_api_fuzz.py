"""The API fuzzed from its own OpenAPI document (schemathesis, in-process over WSGI).

Every operation gets a few generated requests with a read and write token of a seeded
company; no answer may be a server error or break the response schema the document
promises. The same document must name every route of the API blueprint.
"""

from __future__ import annotations

import re
from collections import Counter
from decimal import Decimal

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.factories import (
    BillingRunFactory,
    ContractLineFactory,
    CustomerFactory,
    PriceListItemFactory,
    ProductFactory,
    SiteFactory,
    TenantFactory,
    VatRateFactory,
    issued_document,
    payment_of_invoice,
)
from tests.factories_api import api_token, bearer
from tests.factories_work import BillableItemFactory

EXAMPLES_PER_OPERATION = 10


@pytest.fixture()
def seeded(db_session):
    """A company with one of everything; its ids go into the paths, so the fuzzing reaches
    past the 404 of a made-up id."""
    tenant = TenantFactory(name="Fuzzed AS")
    customer = CustomerFactory(tenant=tenant, name="Fuzz Customer AS")
    customer_id = customer.id
    SiteFactory(tenant=tenant, customer=customer)
    VatRateFactory(tenant=tenant, rate=Decimal("25.00"))
    ids = {
        "customer_id": customer_id,
        "document_id": issued_document(tenant),
        "product_id": ProductFactory(tenant=tenant).id,
        "price_list_id": PriceListItemFactory(tenant=tenant).price_list_id,
        "payment_id": payment_of_invoice(tenant)[0],
        "billable_item_id": BillableItemFactory(tenant=tenant).id,
        "contract_id": ContractLineFactory(tenant=tenant).contract_id,
        "billing_run_id": BillingRunFactory(tenant=tenant).id,
    }
    _, secret = api_token(tenant)
    return {"secret": secret, "ids": ids}


def test_the_document_names_every_route_of_the_api_blueprint(app, client):
    document = client.get("/api/v1/openapi.json").json
    documented = {(method.upper(), path) for path, operations in document["paths"].items()
                  for method in operations}
    routed = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api."):
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
            routed |= {(method, path) for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert routed == documented


def test_the_document_is_valid_openapi_that_schemathesis_loads(app, client):
    document = client.get("/api/v1/openapi.json").json
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    loaded = {result.ok().label for result in schema.get_all_operations()}  # raises if invalid
    documented = {f"{method.upper()} {path}" for path, methods in document["paths"].items()
                  for method in methods}
    # Schemathesis leaves out the document's own address.
    assert loaded == documented - {"GET /api/v1/openapi.json"}


def _path_names(path: str) -> list[str]:
    return re.findall(r"{(\w+)}", path)


def test_fuzzing_every_operation_finds_no_server_error_and_no_schema_break(app, seeded,
                                                                          monkeypatch):
    monkeypatch.setitem(app.config, "API_RATE_LIMIT", "100000/minute")
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    headers = bearer(seeded["secret"])
    checked, statuses = 0, Counter()
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck), derandomize=True)
        @given(case=operation.as_strategy(path_parameters={
            name: seeded["ids"][name] for name in _path_names(operation.path)}))
        def fuzz(case) -> None:
            response = case.call_and_validate(
                headers=headers, checks=[not_a_server_error, response_schema_conformance])
            statuses[response.status_code] += 1

        fuzz()
        checked += 1
    assert checked == len(list(schema.get_all_operations()))
    # The token worked (no 401) and generated requests got through validation too.
    assert 401 not in statuses and sum(n for code, n in statuses.items() if code < 300) > 10, (
        statuses)
    print(dict(statuses))
