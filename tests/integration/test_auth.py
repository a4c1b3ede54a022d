"""Sign-up, sign-in, sign-out, password reset and the tenant switcher."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from saas.extensions import db
from saas.tenants import scoping
from saas.tenants.models import AuditEntry, Branding, Membership, Role, Tenant, User
from tests.factories import PASSWORD, MembershipFactory, TenantFactory, UserFactory, member
from tests.helpers import errors_in, link_in, run_jobs, sent_mails

SIGNUP = {
    "company_name": "Fjord Elektro AS",
    "country": "NO",
    "currency": "NOK",
    "name": "Ola Nordmann",
    "email": "Ola@Fjord.example",
    "password": "a long enough password",
    "confirm": "a long enough password",
}


def test_signup_creates_tenant_owner_branding_and_signs_in(client, db_session):
    response = client.post("/signup", data=SIGNUP)
    assert response.status_code == 302
    tenant = db.session.scalar(select(Tenant).where(Tenant.name == "Fjord Elektro AS"))
    assert response.headers["Location"] == f"/t/{tenant.slug}/"
    user = db.session.scalar(select(User).where(User.email == "ola@fjord.example"))
    with scoping.tenant_context(tenant.id):
        membership = db.session.scalar(select(Membership))
        assert (membership.user_id, membership.role) == (user.id, Role.OWNER)
        assert db.session.scalar(select(Branding)).email_sender_name == "Fjord Elektro AS"
        assert db.session.scalar(select(AuditEntry.action)) == "tenant.created"
    assert (tenant.country, tenant.default_currency) == ("NO", "NOK")
    assert client.get(f"/t/{tenant.slug}/").status_code == 200


def counts() -> tuple[int, int]:
    """Tenants and users in the database (browser tests may have committed some)."""
    return (
        db.session.scalar(select(func.count()).select_from(Tenant)),
        db.session.scalar(select(func.count()).select_from(User)),
    )


def test_signup_reports_every_invalid_field_and_saves_nothing(client, db_session):
    before = counts()
    bad = {**SIGNUP, "company_name": "", "email": "not-an-email", "password": "short",
           "confirm": "different"}
    response = client.post("/signup", data=bad)
    assert response.status_code == 422
    errors = errors_in(response.get_data(as_text=True))
    assert len(errors) == 4, errors
    assert counts() == before


def test_signup_with_a_registered_email_is_refused(client, db_session):
    UserFactory(email="ola@fjord.example")
    before = counts()
    response = client.post("/signup", data=SIGNUP)
    assert response.status_code == 422
    assert "exists" in " ".join(errors_in(response.get_data(as_text=True)))
    assert counts() == before


def test_signup_gives_a_unique_slug_to_a_repeated_company_name(client, db_session):
    TenantFactory(name="Fjord Elektro AS")
    client.post("/signup", data=SIGNUP)
    slugs = db.session.scalars(
        select(Tenant.slug).where(Tenant.name == "Fjord Elektro AS").order_by(Tenant.id)
    ).all()
    assert slugs == ["fjord-elektro-as", "fjord-elektro-as-2"]


def test_login_with_the_right_password_goes_to_the_only_tenant(client, db_session):
    tenant = TenantFactory()
    user = member(tenant, email="kari@example.com")
    response = client.post("/login", data={"email": "KARI@example.com ", "password": PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == f"/t/{tenant.slug}/"
    assert client.get("/").headers["Location"] == f"/t/{tenant.slug}/"
    assert user.id


@pytest.mark.parametrize("password", ["wrong password", ""])
def test_login_with_a_wrong_password_is_refused(client, db_session, password):
    member(TenantFactory(), email="kari@example.com")
    response = client.post("/login", data={"email": "kari@example.com", "password": password})
    assert response.status_code == 422
    assert client.get("/tenants").status_code == 302  # still signed out


def test_login_of_a_user_with_several_tenants_shows_the_switcher(client, db_session):
    user = UserFactory()
    first, second = TenantFactory(name="Alpha AS"), TenantFactory(name="Beta AS")
    MembershipFactory(tenant=first, user=user)
    MembershipFactory(tenant=second, user=user, role=Role.VIEWER)
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.headers["Location"] == "/tenants"
    page = client.get("/tenants").get_data(as_text=True)
    assert "Alpha AS" in page and "Beta AS" in page and "Viewer" in page


@pytest.mark.parametrize(
    ("next_url", "expected"),
    [("/t/x/members", "/t/x/members"), ("https://evil.example/", None), ("//evil.example", None)],
)
def test_login_follows_only_local_next_links(client, db_session, next_url, expected):
    tenant = TenantFactory()
    user = member(tenant)
    response = client.post(f"/login?next={next_url}",
                           data={"email": user.email, "password": PASSWORD})
    assert response.headers["Location"] == (expected or f"/t/{tenant.slug}/")


def test_pages_ask_anonymous_visitors_to_sign_in(client, db_session):
    tenant = TenantFactory()
    response = client.get(f"/t/{tenant.slug}/members")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_logout_needs_a_post_and_signs_out(make_client, db_session):
    tenant = TenantFactory()
    client = make_client(member(tenant))
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 302
    assert client.get(f"/t/{tenant.slug}/").status_code == 302


def test_password_reset_by_emailed_link_works_once(app, client, db_session, outbox):
    user = member(TenantFactory(), email="reset@example.com")
    client.post("/password/forgot", data={"email": "reset@example.com"})
    db.session.commit()
    run_jobs(app)
    mails = sent_mails(outbox)
    assert [m["To"] for m in mails] == ["reset@example.com"]
    link = link_in(mails[0])
    new = {"password": "brand new password", "confirm": "brand new password"}
    assert client.post(link, data=new).status_code == 302
    assert user.check_password("brand new password")
    again = client.post(link, data={"password": "third password!", "confirm": "third password!"})
    assert again.status_code == 302 and again.headers["Location"] == "/password/forgot"
    assert user.check_password("brand new password")


def test_password_reset_for_an_unknown_address_says_the_same_and_sends_nothing(
    app, client, db_session, outbox
):
    response = client.post("/password/forgot", data={"email": "nobody@example.com"})
    run_jobs(app)
    assert response.status_code == 302
    assert sent_mails(outbox) == []


def test_a_tampered_reset_link_is_refused(client, db_session):
    response = client.get("/password/reset/not-a-real-token")
    assert response.headers["Location"] == "/password/forgot"


def test_login_is_rate_limited(app, database_urls, db_session):
    from saas import create_app
    from tests.conftest import _test_config

    limited = create_app(_test_config(database_urls["owner"], database_urls["app"],
                                      LOGIN_RATE_LIMIT="3 per minute"))
    client = limited.test_client()
    statuses = [
        client.post("/login", data={"email": "x@example.com", "password": "nope"}).status_code
        for _ in range(4)
    ]
    assert statuses == [422, 422, 422, 429]
