"""Settings → Webhooks: admins add endpoints (bad ones refused, nothing saved), see the
secret once, rotate it, read the delivery log, replay and ping; other roles may not."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from saas.api.webhooks import services
from saas.api.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from saas.extensions import db
from saas.tenants import scoping
from saas.tenants.models import AuditEntry, Role
from tests.factories import TenantFactory, member
from tests.factories_webhooks import WebhookDeliveryFactory, WebhookEndpointFactory
from tests.helpers import errors_in, run_jobs
from tests.integration.test_webhooks import receiver  # noqa: F401 - the fixture


@pytest.fixture()
def tenant(db_session):
    return TenantFactory(name="Nordlys Service AS")


@pytest.fixture()
def admin(tenant, make_client):
    return make_client(member(tenant, Role.ADMIN))


def url(tenant, path: str = "") -> str:
    return f"/t/{tenant.slug}/settings/webhooks{path}"


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def audit_actions(tenant) -> list[str]:
    with scoping.tenant_context(tenant.id):
        return list(db.session.scalars(select(AuditEntry.action).where(
            AuditEntry.action.like("webhook.%")).order_by(AuditEntry.id)))


def test_adding_an_endpoint_shows_its_secret_once(tenant, admin):
    response = admin.post(url(tenant, "/new"), data={
        "url": "https://hooks.example.com/fakturia", "description": "ERP",
        "events": ["document.issued", "payment.received"], "active": "y"})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    with scoping.tenant_context(tenant.id):
        endpoint = db.session.scalars(select(WebhookEndpoint)).one()
        secret = services.secret_of(endpoint)
        assert endpoint.events == ["document.issued", "payment.received"]
        assert endpoint.secret_encrypted != secret  # stored encrypted
    assert secret.startswith("whsec_") and secret in page
    shown_later = admin.get(url(tenant, f"/{endpoint.id}")).get_data(as_text=True)
    assert secret not in shown_later
    assert audit_actions(tenant) == ["webhook.created"]


@pytest.mark.parametrize(("form", "field_error"), [
    ({"url": "not a url"}, "That is not a URL"),
    ({"url": "ftp://files.example.com/in"}, "Only http:// and https:// URLs"),
    ({"url": "http://127.0.0.1:8080/hook"}, "is a private or local address"),
    ({"url": "http://169.254.169.254/latest/meta-data"}, "is a private or local address"),
    ({"events": []}, "Choose at least one event"),
    ({"events": ["document.exploded"]}, "Unknown events: document.exploded"),
])
def test_bad_endpoints_are_refused_and_nothing_is_saved(tenant, admin, app, monkeypatch,
                                                        form, field_error):
    monkeypatch.setitem(app.config, "WEBHOOKS_ALLOW_PRIVATE_HOSTS", False)
    data = {"url": "https://93.184.215.14/hooks", "events": ["document.issued"], **form}
    response = admin.post(url(tenant, "/new"), data=data)
    assert response.status_code == 422
    assert any(field_error in error for error in errors_in(response.get_data(as_text=True)))
    with scoping.tenant_context(tenant.id):
        assert count(WebhookEndpoint) == 0
    assert audit_actions(tenant) == []


def test_editing_refuses_bad_input_and_keeps_the_endpoint_as_it_was(tenant, admin):
    endpoint = WebhookEndpointFactory(tenant=tenant)
    response = admin.post(url(tenant, f"/{endpoint.id}"),
                          data={"url": "ftp://nope.example.com", "events": ["document.paid"]})
    assert response.status_code == 422
    response = admin.post(url(tenant, f"/{endpoint.id}"), data={
        "url": "https://erp.example.com/in", "events": ["document.paid"], "active": "y"})
    assert response.status_code == 302
    with scoping.tenant_context(tenant.id):
        db.session.expire_all()
        endpoint = db.session.get(WebhookEndpoint, endpoint.id)
        assert (endpoint.url, endpoint.events) == ("https://erp.example.com/in",
                                                   ["document.paid"])
    assert audit_actions(tenant) == ["webhook.updated"]


def test_rotating_the_secret_shows_a_new_one(tenant, admin):
    endpoint = WebhookEndpointFactory(tenant=tenant)
    with scoping.tenant_context(tenant.id):
        old = services.secret_of(endpoint)
    response = admin.post(url(tenant, f"/{endpoint.id}/rotate"))
    with scoping.tenant_context(tenant.id):
        db.session.expire_all()
        new = services.secret_of(db.session.get(WebhookEndpoint, endpoint.id))
    assert new != old and new in response.get_data(as_text=True)
    assert audit_actions(tenant) == ["webhook.secret_rotated"]


def test_the_delivery_log_filters_by_status_and_shows_what_was_sent(tenant, admin):
    failed = WebhookDeliveryFactory(tenant=tenant, body='{"type":"webhook.test","n":"one"}')
    failed_id, endpoint_id = failed.id, failed.endpoint_id
    WebhookDeliveryFactory(tenant=tenant, endpoint_id=endpoint_id,
                           status=DeliveryStatus.SUCCEEDED, response_status=200)
    log = admin.get(url(tenant, f"/{endpoint_id}?show=failed"))
    assert log.status_code == 200
    page = log.get_data(as_text=True)
    assert page.count('class="delivery-failed"') == 1 and "delivery-succeeded" not in page
    detail = admin.get(url(tenant, f"/deliveries/{failed_id}")).get_data(as_text=True)
    assert "{&#34;type&#34;:&#34;webhook.test&#34;,&#34;n&#34;:&#34;one&#34;}" in detail
    assert "Internal Server Error" in detail and "HTTP 500" in detail


def test_replay_and_test_ping_from_the_pages(app, tenant, admin, receiver):  # noqa: F811
    endpoint_id = WebhookEndpointFactory(tenant=tenant, url=receiver.url()).id
    failed_id = WebhookDeliveryFactory(tenant=tenant, endpoint_id=endpoint_id).id
    assert admin.post(url(tenant, f"/deliveries/{failed_id}/replay")).status_code == 302
    assert admin.post(url(tenant, f"/{endpoint_id}/test")).status_code == 302
    run_jobs(app)
    assert [r.json["type"] for r in receiver.requests] == ["webhook.test", "webhook.test"]
    with scoping.tenant_context(tenant.id):
        db.session.expire_all()
        rows = db.session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)).all()
        assert [(row.status, row.replay_of_id) for row in rows] == [
            (DeliveryStatus.FAILED, None), (DeliveryStatus.SUCCEEDED, failed_id),
            (DeliveryStatus.SUCCEEDED, None)]
    assert audit_actions(tenant) == ["webhook.replayed", "webhook.tested"]


def test_admins_see_every_page(tenant, admin):
    delivery = WebhookDeliveryFactory(tenant=tenant)
    paths = ("", "/new", f"/{delivery.endpoint_id}", f"/deliveries/{delivery.id}")
    for path in paths:
        assert admin.get(url(tenant, path)).status_code == 200, path


@pytest.mark.parametrize("role", [Role.ACCOUNTANT, Role.STAFF, Role.COLLECTOR, Role.VIEWER])
def test_other_roles_may_not(tenant, make_client, role):
    delivery = WebhookDeliveryFactory(tenant=tenant)
    paths = ("", "/new", f"/{delivery.endpoint_id}", f"/deliveries/{delivery.id}")
    client = make_client(member(tenant, role))
    for path in paths:
        assert client.get(url(tenant, path)).status_code == 403, path
    assert client.post(url(tenant, f"{paths[-1]}/replay")).status_code == 403
    with scoping.tenant_context(tenant.id):
        assert count(WebhookDelivery) == 1


def test_other_tenants_get_404(tenant, make_client):
    delivery = WebhookDeliveryFactory(tenant=tenant)
    endpoint_id, delivery_id = delivery.endpoint_id, delivery.id
    stranger = TenantFactory()
    client = make_client(member(stranger, Role.OWNER))
    assert client.get(url(tenant)).status_code == 404
    assert client.get(url(stranger, f"/{endpoint_id}")).status_code == 404
    assert client.get(url(stranger, f"/deliveries/{delivery_id}")).status_code == 404
