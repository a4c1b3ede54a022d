"""Two POSTs with the same Idempotency-Key at once, on two real connections (PostgreSQL):
the second waits for the first and answers with its stored answer; the work is done once.

The data is committed for real in a tenant of its own and deleted afterwards as the
database owner.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, func, select, text

from saas.api import customers as api_customers
from saas.billing.customers.models import Customer
from saas.extensions import db
from saas.tenants import scoping
from tests.factories import TenantFactory
from tests.factories_api import api_token, bearer
from tests.helpers import sessions_waiting_for_a_lock

WAIT = 20  # seconds at most for the other side; the test takes well under one


@pytest.fixture()
def company(app, database_urls) -> Iterator[dict]:
    made: dict = {}
    try:
        with app.app_context():
            tenant = TenantFactory(name="Concurrent Keys AS")
            made["tenant"] = tenant.id
            made["headers"] = bearer(api_token(tenant)[1], **{"Idempotency-Key": "same"})
            db.session.remove()
        # Used once before, so neither request below writes the token's last use (a row
        # lock of its own): the wait proven is the one on the key.
        app.test_client().get("/api/v1/customers", headers=made["headers"])
        yield made
    finally:
        if "tenant" in made:
            owner = create_engine(database_urls["owner"])
            with owner.begin() as connection:
                connection.execute(text("SELECT set_config('app.tenant_id', :t, true)"),
                                   {"t": str(made["tenant"])})
                connection.execute(text("DELETE FROM tenants WHERE id = :t"),
                                   {"t": made["tenant"]})
            owner.dispose()


@pytest.mark.postgres
def test_two_requests_with_one_key_at_once_do_the_work_once(app, company, monkeypatch):
    started, go_on = threading.Event(), threading.Event()
    create = api_customers.services.create_customer

    def held_create(values, *args, **kwargs):
        customer = create(values, *args, **kwargs)
        if threading.current_thread().name == "first":
            started.set()
            go_on.wait(WAIT)  # keep the key row uncommitted until the other request waits
        return customer

    monkeypatch.setattr(api_customers.services, "create_customer", held_create)
    answers: dict[str, tuple[int, dict, str]] = {}

    def post(name: str) -> None:
        response = app.test_client().post(
            "/api/v1/customers", json={"name": "Once AS", "country": "NO", "currency": "NOK"},
            headers=company["headers"])
        answers[name] = (response.status_code, response.json,
                         response.headers.get("Idempotent-Replayed", ""))
        started.set()

    first = threading.Thread(target=post, args=("first",), name="first")
    second = threading.Thread(target=post, args=("second",), name="second")
    first.start()
    assert started.wait(WAIT)
    second.start()
    with app.app_context():
        deadline = time.monotonic() + WAIT
        while (second.is_alive() and not sessions_waiting_for_a_lock()
               and time.monotonic() < deadline):
            time.sleep(0.01)
        waited = second.is_alive()
        db.session.remove()
    go_on.set()
    first.join(WAIT)
    second.join(WAIT)

    assert waited, f"the second request did not wait for the first: {answers}"
    assert answers["first"][0] == answers["second"][0] == 201
    assert answers["second"][1] == answers["first"][1]
    assert answers["second"][2] == "true"
    with app.app_context(), scoping.tenant_context(company["tenant"]):
        assert db.session.scalar(select(func.count()).select_from(Customer)) == 1
        db.session.rollback()
        db.session.remove()
