"""The client's address behind trusted proxies (TRUSTED_PROXIES, werkzeug's ProxyFix).

A quote's acceptance records the address it came from (R3.2); behind a load balancer the
peer is the balancer, and the client is in X-Forwarded-For. Without a trusted proxy that
header is anyone's to forge, so it is ignored.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select
from werkzeug.middleware.proxy_fix import ProxyFix

from saas import _trust_proxies
from saas.extensions import db
from saas.portal.models import QuoteResponse
from tests.integration.test_portal import in_tenant, make_shop, signed_in


@pytest.fixture()
def shop(db_session):
    return make_shop()


def accepted_from(app, outbox, client, shop, headers: dict[str, str]) -> str:
    signed_in(app, outbox, client, shop)
    url = f"/p/{shop.slug}/documents/{shop.quote_a.public_id}/accept"
    response = client.post(
        url, data={"name": "Anna Alfa"}, headers=headers, environ_base={"REMOTE_ADDR": "10.0.0.2"}
    )
    assert response.status_code == 302
    with in_tenant(shop):
        return db.session.scalar(select(QuoteResponse.ip_address))


@pytest.mark.parametrize(
    ("hops", "forwarded", "recorded"),
    [
        (0, "203.0.113.9", "10.0.0.2"),  # no proxy trusted: the header is ignored
        (1, "203.0.113.9", "203.0.113.9"),  # one proxy: the address it saw
        (1, "198.51.100.1, 203.0.113.9", "203.0.113.9"),  # a forged first hop is not believed
        (2, "198.51.100.1, 203.0.113.9", "198.51.100.1"),  # two proxies in a row
    ],
)
def test_the_recorded_address_is_the_clients_behind_trusted_proxies(
    app, shop, client, outbox, monkeypatch, hops, forwarded, recorded
):
    monkeypatch.setitem(app.config, "TRUSTED_PROXIES", hops)
    monkeypatch.setattr(app, "wsgi_app", app.wsgi_app)  # put back after the test
    _trust_proxies(app)
    assert isinstance(app.wsgi_app, ProxyFix) == (hops > 0)
    assert accepted_from(app, outbox, client, shop, {"X-Forwarded-For": forwarded}) == recorded
