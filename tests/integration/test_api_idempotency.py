"""Idempotency keys on POST, and each token's rate limit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from saas import clock
from saas.api.models import IdempotencyKey
from saas.billing.customers.models import Customer
from saas.extensions import db
from saas.tenants import scoping
from tests.factories import TenantFactory
from tests.factories_api import api_token, bearer

NEW = {"name": "Once Only AS", "country": "NO", "currency": "NOK"}


@pytest.fixture()
def tenant(db_session):
    return TenantFactory(name="Api Idempotency AS")


def _customers(tenant) -> int:
    with scoping.tenant_context(tenant.id):
        return db.session.scalar(select(func.count()).select_from(Customer))


def test_a_repeat_with_the_same_key_answers_the_same_without_doing_it_again(client, tenant):
    headers = bearer(api_token(tenant)[1], **{"Idempotency-Key": "order-42"})
    first = client.post("/api/v1/customers", json=NEW, headers=headers)
    again = client.post("/api/v1/customers", json=NEW, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json == first.json and again.headers["Idempotent-Replayed"] == "true"
    assert _customers(tenant) == 1


def test_the_same_key_with_another_body_is_refused(client, tenant):
    headers = bearer(api_token(tenant)[1], **{"Idempotency-Key": "order-42"})
    client.post("/api/v1/customers", json=NEW, headers=headers)
    other = client.post("/api/v1/customers", json={**NEW, "name": "Other AS"}, headers=headers)
    assert other.status_code == 422
    assert other.json["error"]["code"] == "idempotency_key_reused"
    assert _customers(tenant) == 1


def test_keys_are_per_token_and_a_failed_request_keeps_no_key(client, tenant):
    key = {"Idempotency-Key": "k-1"}
    first, second = bearer(api_token(tenant)[1], **key), bearer(api_token(tenant)[1], **key)
    refused = client.post("/api/v1/customers", json={**NEW, "country": "XX"}, headers=first)
    assert refused.status_code == 422
    assert client.post("/api/v1/customers", json=NEW, headers=first).status_code == 201
    assert client.post("/api/v1/customers", json=NEW, headers=second).status_code == 201
    assert _customers(tenant) == 2


def test_a_key_older_than_a_day_is_forgotten(client, tenant):
    headers = bearer(api_token(tenant)[1], **{"Idempotency-Key": "old"})
    client.post("/api/v1/customers", json=NEW, headers=headers)
    with scoping.tenant_context(tenant.id):
        db.session.execute(update(IdempotencyKey).values(
            created_at=clock.now() - timedelta(hours=25)))
        db.session.commit()
    again = client.post("/api/v1/customers", json=NEW, headers=headers)
    assert again.status_code == 201 and "Idempotent-Replayed" not in again.headers
    assert _customers(tenant) == 2


def test_the_sweep_deletes_expired_keys_only(client, tenant):
    from saas.api.idempotency import expire_keys

    token = api_token(tenant)[1]
    for key in ("a", "b"):
        client.post("/api/v1/customers", json={**NEW, "name": key},
                    headers=bearer(token, **{"Idempotency-Key": key}))
    with scoping.tenant_context(tenant.id):
        db.session.execute(update(IdempotencyKey).where(IdempotencyKey.key == "a").values(
            created_at=clock.now() - timedelta(hours=25)))
        assert expire_keys() == 1
        assert db.session.scalars(select(IdempotencyKey.key)).all() == ["b"]


def test_each_token_has_its_own_rate_limit_answered_with_429_and_retry_after(
        app, client, tenant, monkeypatch):
    monkeypatch.setitem(app.config, "API_RATE_LIMIT", "3/minute")
    limited, other = bearer(api_token(tenant)[1]), bearer(api_token(tenant)[1])
    answers = [client.get("/api/v1/customers", headers=limited).status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    response = client.get("/api/v1/customers", headers=limited)
    assert response.json["error"]["code"] == "rate_limited"
    assert int(response.headers["Retry-After"]) > 0
    assert client.get("/api/v1/customers", headers=other).status_code == 200


def test_the_hourly_sweep_forgets_expired_keys_of_every_company(app, client, tenant):
    from saas.api.idempotency import sweep_idempotency_keys

    headers = bearer(api_token(tenant)[1], **{"Idempotency-Key": "swept"})
    client.post("/api/v1/customers", json=NEW, headers=headers)
    with scoping.tenant_context(tenant.id):
        db.session.execute(update(IdempotencyKey).values(
            created_at=clock.now() - timedelta(hours=25)))
        db.session.commit()
    sweep_idempotency_keys()
    with scoping.tenant_context(tenant.id):
        assert db.session.scalar(select(func.count()).select_from(IdempotencyKey)) == 0


def test_the_demo_token_is_made_anew_and_the_old_one_revoked(client, tenant):
    from saas.api.demo import demo_api_token

    first = demo_api_token(tenant.slug)
    second = demo_api_token(tenant.slug)
    db.session.commit()
    assert client.get("/api/v1/customers", headers=bearer(first)).status_code == 401
    assert client.get("/api/v1/customers", headers=bearer(second)).status_code == 200
