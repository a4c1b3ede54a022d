"""Staff sessions end when idle too long and after a fixed time, whatever the activity."""

from __future__ import annotations

import time

import pytest

from saas.tenants.session_timeouts import SEEN, STARTED, expired
from tests.factories import PASSWORD, TenantFactory, member

HOUR = 3600


@pytest.mark.parametrize(("started", "seen", "reason"), [
    (0, 0, None),                                # just signed in
    (-11 * HOUR, -59 * 60, None),                 # busy, within both limits
    (-2 * HOUR, -61 * 60, "idle"),                # an hour and a minute without a request
    (-12 * HOUR - 1, -10, "absolute"),            # busy, but past twelve hours
    (None, None, None),                           # nothing kept yet (signed in before)
])
def test_a_session_ends_by_idle_time_or_by_age(started, seen, reason):
    now = 1_000_000.0
    started_at = None if started is None else now + started
    seen_at = None if seen is None else now + seen
    assert expired(now, started_at, seen_at, idle_seconds=HOUR,
                   absolute_seconds=12 * HOUR) == reason


@pytest.fixture()
def signed_in(client, db_session):
    """A client signed in through the login form, and the tenant's dashboard address."""
    tenant = TenantFactory()
    user = member(tenant)
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302
    return client, f"/t/{tenant.slug}/"


def test_signing_in_stamps_the_session(signed_in):
    client, dashboard = signed_in
    with client.session_transaction() as session:
        assert abs(session[STARTED] - time.time()) < 5
        assert session[SEEN] == session[STARTED]
    assert client.get(dashboard).status_code == 200


def test_an_idle_session_is_signed_out_and_asked_to_sign_in(signed_in):
    client, dashboard = signed_in
    with client.session_transaction() as session:
        session[SEEN] = int(time.time()) - 61 * 60
    response = client.get(dashboard)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "without activity" in page
    assert client.get(dashboard).status_code == 302  # signed out for good


def test_a_session_ends_after_its_absolute_time_however_busy(signed_in):
    client, dashboard = signed_in
    with client.session_transaction() as session:
        session[STARTED] = int(time.time()) - 12 * HOUR - 60
    response = client.get(dashboard)
    assert response.status_code == 302
    assert "Your session has ended" in client.get(response.headers["Location"]).get_data(
        as_text=True)


def test_an_htmx_request_of_an_ended_session_is_sent_to_the_login_page(signed_in):
    client, dashboard = signed_in
    with client.session_transaction() as session:
        session[SEEN] = int(time.time()) - 2 * HOUR
    response = client.get(dashboard, headers={"HX-Request": "true"})
    assert response.status_code == 204
    assert response.headers["HX-Redirect"].startswith("/login?next=")


def test_the_session_cookie_is_httponly_and_samesite(signed_in):
    client, dashboard = signed_in
    cookie = client.get_cookie("session")
    assert cookie.http_only and cookie.same_site == "Lax"
