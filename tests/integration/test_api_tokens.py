"""API tokens: made by managers and shown once, stored hashed, revocable, scoped; the token
decides the tenant; errors in one JSON shape."""

from __future__ import annotations

import hashlib
import re

import pytest
from sqlalchemy import select

from saas.api.models import ApiToken, TokenScope
from saas.extensions import db
from saas.tenants import scoping
from saas.tenants.models import AuditEntry, Role
from tests.factories import CustomerFactory, TenantFactory, member
from tests.factories_api import api_token, bearer


@pytest.fixture()
def tenant(db_session):
    return TenantFactory(name="Api Tokens AS")


def _audit_actions(tenant) -> list[str]:
    with scoping.tenant_context(tenant.id):
        return list(db.session.scalars(select(AuditEntry.action)))


def test_an_admin_makes_a_token_shown_once_and_stored_hashed(tenant, make_client):
    admin = make_client(member(tenant, Role.ADMIN))
    response = admin.post(f"/t/{tenant.slug}/settings/api-tokens",
                          data={"name": "Ledger sync", "scope": "read"})
    assert response.status_code == 201
    assert response.headers["Cache-Control"] == "no-store"
    secret = re.search(r'id="token-secret">(fkt_[\w-]+)<', response.get_data(as_text=True))[1]
    with scoping.tenant_context(tenant.id):
        token = db.session.scalar(select(ApiToken))
    assert token.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in (token.prefix, token.name) and secret.startswith(token.prefix)
    again = admin.get(f"/t/{tenant.slug}/settings/api-tokens").get_data(as_text=True)
    assert secret not in again and token.prefix in again
    assert "api.token_created" in _audit_actions(tenant)


def test_staff_may_not_manage_tokens(tenant, make_client):
    staff = make_client(member(tenant, Role.STAFF))
    assert staff.get(f"/t/{tenant.slug}/settings/api-tokens").status_code == 403
    response = staff.post(f"/t/{tenant.slug}/settings/api-tokens",
                          data={"name": "x", "scope": "read"})
    assert response.status_code == 403


def test_a_nameless_token_is_refused_and_nothing_is_made(tenant, make_client):
    admin = make_client(member(tenant, Role.ADMIN))
    response = admin.post(f"/t/{tenant.slug}/settings/api-tokens",
                          data={"name": " ", "scope": "read"})
    assert response.status_code == 422
    assert "Name the token" in response.get_data(as_text=True)
    with scoping.tenant_context(tenant.id):
        assert db.session.scalar(select(ApiToken)) is None


def test_a_revoked_token_is_refused_with_401(tenant, client, make_client):
    token_id, secret = api_token(tenant)
    assert client.get("/api/v1/customers", headers=bearer(secret)).status_code == 200
    admin = make_client(member(tenant, Role.OWNER))
    assert admin.post(f"/t/{tenant.slug}/settings/api-tokens/{token_id}/revoke").status_code == 302
    response = client.get("/api/v1/customers", headers=bearer(secret))
    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "api.token_revoked" in _audit_actions(tenant)


@pytest.mark.parametrize("header", [
    None, "Basic abc", "Bearer ", "Bearer fkt_1_short", "Bearer fkt_999999_" + "a" * 43,
])
def test_requests_without_a_valid_token_get_401_in_the_error_shape(client, tenant, header):
    api_token(tenant)
    headers = {"Authorization": header} if header else {}
    response = client.get("/api/v1/customers", headers=headers)
    assert response.status_code == 401
    assert set(response.json["error"]) == {"code", "message", "fields", "status", "title"}


def test_a_wrong_secret_for_a_real_tenant_is_refused(client, tenant):
    api_token(tenant)
    response = client.get("/api/v1/customers", headers=bearer(f"fkt_{tenant.id}_" + "x" * 43))
    assert response.status_code == 401


def test_a_read_token_reads_but_gets_403_on_writes(client, tenant):
    _, secret = api_token(tenant, TokenScope.READ)
    assert client.get("/api/v1/customers", headers=bearer(secret)).status_code == 200
    response = client.post("/api/v1/customers", headers=bearer(secret),
                           json={"name": "Nope AS", "country": "NO", "currency": "NOK"})
    assert response.status_code == 403
    assert response.json["error"]["code"] == "insufficient_scope"


def test_the_token_decides_the_tenant_and_other_tenants_ids_are_404(client, tenant):
    other = TenantFactory(name="Other AS")
    theirs = CustomerFactory(tenant=other, name="Theirs AS").id
    ours = CustomerFactory(tenant=tenant, name="Ours AS").id
    _, secret = api_token(tenant)
    listed = client.get("/api/v1/customers", headers=bearer(secret)).json["data"]
    assert [row["name"] for row in listed] == ["Ours AS"]
    assert client.get(f"/api/v1/customers/{ours}", headers=bearer(secret)).status_code == 200
    response = client.get(f"/api/v1/customers/{theirs}", headers=bearer(secret))
    assert response.status_code == 404 and response.json["error"]["code"] == "not_found"
    response = client.patch(f"/api/v1/customers/{theirs}", headers=bearer(secret),
                            json={"name": "Taken over"})
    assert response.status_code == 404
    # Naming another tenant in the token text opens nothing either.
    forged = secret.replace(f"fkt_{tenant.id}_", f"fkt_{other.id}_")
    assert client.get("/api/v1/customers", headers=bearer(forged)).status_code == 401


def test_use_is_recorded_on_the_token(client, tenant):
    token_id, secret = api_token(tenant)
    client.get("/api/v1/customers", headers=bearer(secret))
    with scoping.tenant_context(tenant.id):
        assert db.session.get(ApiToken, token_id).last_used_at is not None


def test_each_change_is_in_the_audit_log_under_its_token(client, tenant):
    _, secret = api_token(tenant, name="Shop sync")
    client.post("/api/v1/customers", headers=bearer(secret),
                json={"name": "Logged AS", "country": "NO", "currency": "NOK"})
    with scoping.tenant_context(tenant.id):
        entry = db.session.scalar(select(AuditEntry).where(
            AuditEntry.action == "api.create_customer"))
    assert entry.object_type == "Customer"
    assert "Shop sync" in entry.summary and "POST /api/v1/customers" in entry.summary
    assert "customer.created" in _audit_actions(tenant)
