"""Pages: htmx fragments, CSRF, security headers and error pages."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from saas import create_app
from saas.extensions import db
from saas.tenants import scoping
from saas.tenants.models import BankAccount, Role
from tests.conftest import _test_config
from tests.factories import AuditEntryFactory, TenantFactory, member


@pytest.fixture()
def tenant(db_session):
    return TenantFactory(name="Pages AS")


def test_full_page_normally_one_block_for_htmx_and_full_page_for_history_restore(
    tenant, make_client
):
    client = make_client(member(tenant, Role.ADMIN))
    AuditEntryFactory(tenant=tenant, action="invoice.issued", summary="Issued 2026-0001")
    AuditEntryFactory(tenant=tenant, action="payment.recorded", summary="Paid 100 NOK")
    url = f"/t/{tenant.slug}/audit?q=issued"
    full = client.get(url)
    fragment = client.get(url, headers={"HX-Request": "true", "HX-Target": "audit-rows"})
    restore = client.get(url, headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})
    assert "<html" in full.get_data(as_text=True)
    body = fragment.get_data(as_text=True)
    assert "<html" not in body and body.strip().startswith('<tbody id="audit-rows">')
    assert "Issued 2026-0001" in body and "Paid 100 NOK" not in body
    assert "<html" in restore.get_data(as_text=True)
    for response in (full, fragment, restore):
        assert "HX-Request" in response.headers["Vary"]


@pytest.mark.parametrize("status", ["open", None, True, 2.5])
def test_a_status_that_is_no_http_status_is_refused_not_sent_as_status_0(app, status):
    from saas.htmx import render

    with app.test_request_context("/"), pytest.raises(TypeError, match="HTTP status"):
        render("errors/error.html", status=status)


def test_every_page_carries_a_strict_csp_and_security_headers(tenant, make_client):
    client = make_client(member(tenant))
    for url in ("/login", f"/t/{tenant.slug}/", f"/p/{tenant.slug}/", "/api/v1/"):
        headers = client.get(url).headers
        csp = headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"


def test_pages_contain_no_inline_script_or_style(tenant, make_client):
    client = make_client(member(tenant, Role.OWNER))
    import re

    for path in ("", "members", "audit", "settings", "settings/bank-accounts",
                 "settings/branding"):
        html = client.get(f"/t/{tenant.slug}/{path}").get_data(as_text=True)
        scripts = re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html)
        assert scripts == [] and " style=" not in html and "<style" not in html, path


def test_session_cookie_is_http_only_and_same_site(db_session, client):
    member(TenantFactory(), email="cookie@example.com")
    response = client.post("/login", data={"email": "cookie@example.com",
                                           "password": "correct horse battery"})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


@pytest.fixture()
def csrf_client(database_urls, tenant):
    """A client of an app with CSRF protection on, as in production."""
    app = create_app(_test_config(database_urls["owner"], database_urls["app"],
                                  WTF_CSRF_ENABLED=True))
    user = member(tenant, Role.ADMIN)
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = str(user.id)
    return client


def _token(client, url: str) -> str:
    import re

    html = client.get(url).get_data(as_text=True)
    return re.search(r'"X-CSRFToken": "([^"]+)"', html).group(1)


ACCOUNT = {"label": "", "country": "NO", "currency": "NOK", "iban": "NO9386011117947",
           "bic": "DNBANOKKXXX", "bban": ""}


def test_state_changes_without_a_csrf_token_are_refused(tenant, csrf_client):
    url = f"/t/{tenant.slug}/settings/bank-accounts"
    response = csrf_client.post(url, data=ACCOUNT)
    assert response.status_code == 400
    assert "Form expired" in response.get_data(as_text=True)
    with scoping.tenant_context(tenant.id):
        assert db.session.scalars(select(BankAccount)).all() == []


def test_htmx_requests_pass_csrf_with_the_token_from_the_body_header(tenant, csrf_client):
    url = f"/t/{tenant.slug}/settings/bank-accounts"
    token = _token(csrf_client, url)
    response = csrf_client.post(url, data=ACCOUNT,
                                headers={"HX-Request": "true", "X-CSRFToken": token})
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == url


@pytest.mark.parametrize(
    ("headers", "kind"),
    [({}, "page"), ({"HX-Request": "true"}, "fragment"), ({}, "json")],
)
def test_errors_answer_as_page_fragment_or_json(tenant, make_client, headers, kind):
    client = make_client(member(tenant, Role.VIEWER))
    url = "/api/v1/no-such-thing" if kind == "json" else f"/t/{tenant.slug}/settings"
    response = client.get(url, headers=headers)
    if kind == "json":
        assert response.status_code == 404
        assert response.json["error"]["status"] == 404
        return
    body = response.get_data(as_text=True)
    assert response.status_code == 403
    assert "You do not have access" in body
    assert ("<html" in body) is (kind == "page")


def test_unexpected_errors_show_a_500_page_without_a_traceback(database_urls, db_session):
    app = create_app(_test_config(database_urls["owner"], database_urls["app"]))

    @app.route("/boom")
    def boom():
        raise RuntimeError("secret internals")

    response = app.test_client().get("/boom")
    body = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Something went wrong" in body and "secret internals" not in body


def test_an_unknown_tenant_is_a_404_page(client):
    response = client.get("/t/nobody-here/")
    assert response.status_code == 404
    assert "There is nothing here" in response.get_data(as_text=True)
