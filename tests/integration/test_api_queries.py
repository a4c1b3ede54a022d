"""Every list of the API costs a bounded number of queries, however many rows it shows."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from saas.extensions import db
from tests.factories import (
    BillingRunFactory,
    ContractLineFactory,
    DocumentLineFactory,
    PriceListItemFactory,
    TenantFactory,
    payment_of_invoice,
)
from tests.factories_api import api_token, bearer
from tests.factories_work import BillableItemFactory

# url, how to make one row (with what it nests), rows in the small and the large case
LISTS = [
    ("/api/v1/documents", lambda t: DocumentLineFactory(tenant=t), 5, 50),
    ("/api/v1/price-lists", lambda t: PriceListItemFactory(tenant=t), 5, 50),
    ("/api/v1/products", lambda t: PriceListItemFactory(tenant=t), 5, 50),
    ("/api/v1/contracts", lambda t: ContractLineFactory(tenant=t), 5, 50),
    ("/api/v1/billable-items", lambda t: BillableItemFactory(tenant=t), 5, 50),
    ("/api/v1/billing-runs", lambda t: BillingRunFactory(tenant=t), 5, 50),
    ("/api/v1/payments", payment_of_invoice, 2, 10),  # each issues an invoice: fewer
]


def _queries(client, url: str, headers: dict) -> tuple[int, int]:
    statements: list[str] = []
    engine = db.session.get_bind()

    def count(conn, cursor, statement, *args) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        response = client.get(f"{url}?limit=200", headers=headers)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert response.status_code == 200
    # Transaction plumbing (savepoints, the tenant setting) depends on what ran before.
    queries = sum(1 for sql in statements
                  if not sql.startswith(("SAVEPOINT", "RELEASE", "SELECT set_config")))
    return queries, len(response.json["data"])


@pytest.mark.parametrize(("url", "make", "few", "many"), LISTS,
                         ids=[row[0].rsplit("/", 1)[1] for row in LISTS])
def test_a_list_costs_the_same_queries_for_few_or_many_rows(client, db_session, url, make,
                                                            few, many):
    tenant = TenantFactory()
    for _ in range(few):
        make(tenant)
    headers = bearer(api_token(tenant)[1])
    client.get(url, headers=headers)  # the token's first use is recorded once
    few_queries, few_rows = _queries(client, url, headers)
    for _ in range(many - few):
        make(tenant)
    many_queries, many_rows = _queries(client, url, headers)
    assert many_rows > few_rows >= few
    assert many_queries == few_queries
