"""Kept pages (saas/page_cache.py, issue 13's load): answered again without SQL while
nothing under them changed, and never once it did, nor to anyone else, nor past a
session's end."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import limits
import pytest
from flask import Flask
from sqlalchemy import event, select, update
from sqlalchemy.orm import scoped_session

from saas import clock, page_cache
from saas.api.models import ApiToken
from saas.api.tokens import create_token, revoke_token
from saas.billing.customers.models import Contact, Customer
from saas.billing.documents.models import Document
from saas.billing.documents.states import DocumentStatus
from saas.extensions import db
from saas.tenants import scoping
from saas.tenants.models import Role, User
from saas.tenants.session_timeouts import SEEN, STARTED
from tests.books import issue_invoice
from tests.conftest import make_test_app, rolled_back_session
from tests.factories import CustomerFactory, TenantFactory, VatRateFactory, member

TODAY = date(2026, 11, 20)


@pytest.fixture(scope="module")
def cache_app(database_urls, tmp_path_factory) -> Flask:
    # Keys of its own: other apps and processes of the suite (workers, live servers) write
    # to the same Redis database, and their writes must not expire this app's pages.
    app = make_test_app(database_urls, tmp_path_factory, PAGE_CACHE=True,
                        PAGE_CACHE_PREFIX=f"pc-test-{uuid.uuid4().hex[:8]}")
    if not app.config["REDIS_URL"].startswith("redis://"):
        pytest.skip("the page cache needs a Redis server")
    return app


@pytest.fixture()
def cache_session(cache_app: Flask) -> Iterator[scoped_session]:
    with rolled_back_session(cache_app) as session:
        yield session


@pytest.fixture()
def shop(cache_app, cache_session) -> dict:
    tenant = TenantFactory(name="Hurtigbuffer AS")
    accountant = member(tenant, Role.ACCOUNTANT)
    clerk = member(tenant, Role.ACCOUNTANT)
    with scoping.tenant_context(tenant.id), clock.frozen(TODAY):
        vat = VatRateFactory(tenant=tenant, rate=Decimal(25)).id
        alfa = db.session.get(Customer, CustomerFactory(tenant=tenant, name="Alfa AS").id)
        beta = db.session.get(Customer, CustomerFactory(tenant=tenant, name="Beta AS").id)
        invoice = issue_invoice(alfa, vat, "100", TODAY)
        issue_invoice(beta, vat, "200", TODAY)
        anna = Contact(customer_id=alfa.id, name="Anna", email="anna@alfa.example",
                       portal_access=True)
        bob = Contact(customer_id=beta.id, name="Bob", email="bob@beta.example",
                      portal_access=True)
        db.session.add_all([anna, bob])
        db.session.flush()
        shop = {"tenant": tenant.id, "slug": tenant.slug, "accountant": accountant.id,
                "clerk": clerk.id, "invoice": invoice.id, "number": invoice.number,
                "vat": vat, "alfa": alfa.id, "anna": anna.id, "bob": bob.id}
    db.session.commit()
    # The first page of a tenant notes its address (versions are kept by tenant id).
    cache_app.test_client().get(f"/p/{tenant.slug}/documents")
    return shop


class Statements:
    """SQL statements run while counting."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, *args: object) -> None:
        self.count += 1


@pytest.fixture()
def statements(cache_app) -> Iterator[Statements]:
    counter = Statements()
    with cache_app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", counter)
    yield counter
    event.remove(engine, "before_cursor_execute", counter)


def staff_client(app: Flask, user_id: int, **session_values: object):
    client = app.test_client()
    now = int(time.time())
    with client.session_transaction() as session:
        session.update({"_user_id": str(user_id), "_fresh": True, STARTED: now, SEEN: now,
                        "csrf_token": f"secret-of-{user_id}", **session_values})
    # Flask-Login notes its session identifier on the first request, as after signing in.
    client.get("/")
    return client


def portal_client(app: Flask, shop: dict, contact: str):
    client = app.test_client()
    with client.session_transaction() as session:
        session["portal"] = {str(shop["tenant"]): {"contact": shop[contact],
                                                   "at": clock.now().timestamp()}}
    client.get(f"/p/{shop['slug']}/documents")  # the session gets its CSRF secret
    return client


def list_url(shop: dict) -> str:
    return f"/t/{shop['slug']}/documents/invoices/"


def kept(response) -> bool:
    return response.headers.get("X-Page-Cache") == "hit"


def get_twice(client, url: str, **kwargs):
    """The first answer renders and keeps the page; the second comes from the cache."""
    first = client.get(url, **kwargs)
    assert first.status_code == 200 and not kept(first)
    second = client.get(url, **kwargs)
    assert second.status_code == 200
    return first, second


def in_tenant(shop: dict):
    return scoping.tenant_context(shop["tenant"])


# --- served again, without SQL ------------------------------------------------------------


def test_the_invoice_list_is_served_again_without_sql(cache_app, shop, statements):
    client = staff_client(cache_app, shop["accountant"])
    first = client.get(list_url(shop))
    before = statements.count
    second = client.get(list_url(shop))
    assert kept(second) and statements.count == before
    assert second.get_data() == first.get_data()
    assert shop["number"] in second.get_data(as_text=True)
    # The headers that keep the page safe come with it; no cookie is handed out again.
    assert second.headers["Content-Security-Policy"] == first.headers["Content-Security-Policy"]
    assert second.headers["Content-Type"].startswith("text/html")
    assert "Set-Cookie" not in second.headers


def test_a_write_in_the_tenant_shows_at_once(cache_app, shop):
    client = staff_client(cache_app, shop["accountant"])
    _, second = get_twice(client, list_url(shop))
    assert kept(second) and "2 in all" in second.get_data(as_text=True)
    with in_tenant(shop), clock.frozen(TODAY):
        new = issue_invoice(db.session.get(Customer, shop["alfa"]), shop["vat"], "300", TODAY)
        number = new.number
    db.session.commit()
    third = client.get(list_url(shop))
    assert not kept(third)
    assert number in third.get_data(as_text=True) and "3 in all" in third.get_data(as_text=True)


def test_a_set_wise_write_shows_at_once_too(cache_app, shop):
    client = staff_client(cache_app, shop["accountant"])
    url = f"/t/{shop['slug']}/documents/{shop['invoice']}"
    _, second = get_twice(client, url)
    assert kept(second)
    # As the bank booking moves invoices: one UPDATE statement, no ORM object.
    with in_tenant(shop):
        db.session.execute(update(Document).where(Document.id == shop["invoice"])
                           .values(status=DocumentStatus.PAID))
    db.session.commit()
    third = client.get(url)
    assert not kept(third) and third.get_data() != second.get_data()
    assert "Paid" in third.get_data(as_text=True)


def test_a_write_rolled_back_changes_nothing(cache_app, shop):
    client = staff_client(cache_app, shop["accountant"])
    get_twice(client, list_url(shop))
    with in_tenant(shop), clock.frozen(TODAY):
        number = issue_invoice(db.session.get(Customer, shop["alfa"]), shop["vat"], "300",
                               TODAY).number
    db.session.rollback()
    third = client.get(list_url(shop))
    # Still the kept page (the rollback raised no version), and no trace of the invoice.
    assert kept(third) and "2 in all" in third.get_data(as_text=True)
    assert number not in third.get_data(as_text=True)


def test_another_tenants_write_leaves_the_page_kept(cache_app, shop):
    other = TenantFactory(name="Annet AS")  # a new tenant is a platform write: before
    db.session.commit()
    client = staff_client(cache_app, shop["accountant"])
    get_twice(client, list_url(shop))
    with scoping.tenant_context(other.id):
        CustomerFactory(tenant=other, name="Someone AS")
    db.session.commit()
    assert kept(client.get(list_url(shop)))


def test_a_platform_write_expires_every_tenants_pages(cache_app, shop):
    client = staff_client(cache_app, shop["accountant"])
    get_twice(client, list_url(shop))
    TenantFactory(name="Nytt AS")
    db.session.commit()
    assert not kept(client.get(list_url(shop)))


def test_each_staff_member_gets_their_own_page(cache_app, shop):
    get_twice(staff_client(cache_app, shop["accountant"]), list_url(shop))
    clerk = staff_client(cache_app, shop["clerk"])
    first = clerk.get(list_url(shop))
    assert first.status_code == 200 and not kept(first)
    # Another session of the same person (another CSRF secret) too.
    again = staff_client(cache_app, shop["accountant"], csrf_token="another-session")
    assert not kept(again.get(list_url(shop)))


def test_htmx_fragments_and_pages_are_kept_apart(cache_app, shop):
    client = staff_client(cache_app, shop["accountant"])
    fragment = {"HX-Request": "true", "HX-Target": "document-sums"}
    get_twice(client, list_url(shop) + "?totals=1", headers=fragment)
    page = client.get(list_url(shop) + "?totals=1")
    assert not kept(page) and "<html" in page.get_data(as_text=True)


# --- never past who may see it ------------------------------------------------------------


def test_a_deactivated_user_is_signed_out_not_served(cache_app, shop):
    client = staff_client(cache_app, shop["accountant"])
    get_twice(client, list_url(shop))
    db.session.execute(
        update(User).where(User.id == shop["accountant"]).values(is_active_user=False))
    db.session.commit()
    response = client.get(list_url(shop))
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_member_removed_from_the_tenant_gets_404_not_the_page(cache_app, shop):
    from saas.tenants.models import Membership

    client = staff_client(cache_app, shop["accountant"])
    get_twice(client, list_url(shop))
    with in_tenant(shop):
        db.session.delete(db.session.scalar(
            select(Membership).where(Membership.user_id == shop["accountant"])))
    db.session.commit()
    assert client.get(list_url(shop)).status_code == 404


def test_a_session_past_its_absolute_limit_is_signed_out(cache_app, shop):
    client = staff_client(cache_app, shop["accountant"])
    get_twice(client, list_url(shop))
    with client.session_transaction() as session:
        session[STARTED] = int(time.time()) - 13 * 3600
    response = client.get(list_url(shop))
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_session_due_for_its_touch_goes_the_full_way(cache_app, shop):
    client = staff_client(cache_app, shop["accountant"])
    get_twice(client, list_url(shop))
    with client.session_transaction() as session:
        session[SEEN] = int(time.time()) - 120
    response = client.get(list_url(shop))
    assert not kept(response) and "Set-Cookie" in response.headers


def test_a_flash_message_is_shown_not_a_kept_page(cache_app, shop):
    client = staff_client(cache_app, shop["accountant"])
    get_twice(client, list_url(shop))
    with client.session_transaction() as session:
        session["_flashes"] = [("success", "Saved the thing.")]
    response = client.get(list_url(shop))
    assert not kept(response) and "Saved the thing." in response.get_data(as_text=True)


def test_the_next_quarter_hour_renders_again(cache_app, shop):
    client = staff_client(cache_app, shop["accountant"])
    noon = datetime.combine(TODAY, datetime.min.time(), tzinfo=UTC) + timedelta(hours=12)
    with clock.frozen(noon):
        _, second = get_twice(client, list_url(shop))
    assert kept(second)
    with clock.frozen(noon + timedelta(minutes=14, seconds=59)):
        assert kept(client.get(list_url(shop)))
    with clock.frozen(noon + timedelta(minutes=15)):
        assert not kept(client.get(list_url(shop)))


# --- the portal and the API ---------------------------------------------------------------


def test_the_portal_list_is_kept_per_contact(cache_app, shop, statements):
    url = f"/p/{shop['slug']}/documents"
    anna = portal_client(cache_app, shop, "anna")
    first, second = get_twice(anna, url)
    assert kept(second) and second.get_data() == first.get_data()
    assert "Alfa AS" in second.get_data(as_text=True)
    assert second.headers["Cache-Control"] == "private, no-store"
    bob = portal_client(cache_app, shop, "bob")
    theirs = bob.get(url)
    assert not kept(theirs)
    assert "Beta AS" in theirs.get_data(as_text=True)
    assert "Alfa AS" not in theirs.get_data(as_text=True)


def test_a_contact_that_loses_portal_access_is_not_served(cache_app, shop):
    url = f"/p/{shop['slug']}/documents"
    anna = portal_client(cache_app, shop, "anna")
    get_twice(anna, url)
    with in_tenant(shop):
        db.session.get(Contact, shop["anna"]).portal_access = False
    db.session.commit()
    response = anna.get(url)
    assert response.status_code in (302, 303) and not kept(response)


def test_the_api_list_is_kept_and_still_rate_limited(cache_app, shop):
    with in_tenant(shop):
        new = create_token("Cache", "read")
        secret, token_id = new.secret, new.token.id
    db.session.commit()
    client = cache_app.test_client()
    headers = {"Authorization": f"Bearer {secret}"}
    # The token's first use is noted (a write): what that request rendered is not kept.
    client.get("/api/v1/documents?kind=invoice", headers=headers)
    first, second = get_twice(client, "/api/v1/documents?kind=invoice", headers=headers)
    assert kept(second) and second.get_json() == first.get_json()
    # Each request counts once, on the limiter's own counter, answered from the cache or not.
    remaining = [int(r.headers["X-RateLimit-Remaining"]) for r in (first, second)]
    assert remaining[1] == remaining[0] - 1
    # Flask-Limiter's own view of the counter: every request of this token on the list.
    with cache_app.test_request_context("/api/v1/documents", headers=headers):
        from saas.api.views import _rate_limit_key
        from saas.extensions import limiter

        item = limits.parse(cache_app.config["API_RATE_LIMIT"])
        stats = limiter.limiter.get_window_stats(
            item, limiter._key_prefix, _rate_limit_key(), "api.list_documents")
    assert stats.remaining == item.amount - 3 == remaining[1]
    with in_tenant(shop):
        revoke_token(db.session.get(ApiToken, token_id))
    db.session.commit()
    assert client.get("/api/v1/documents?kind=invoice", headers=headers).status_code == 401


# --- what counts as a write ---------------------------------------------------------------


@pytest.mark.parametrize(("statement", "tenant", "whose"), [
    ("SELECT * FROM documents", 7, None),
    ("  select set_config('app.tenant_id', '7', true)", 7, None),
    ("INSERT INTO documents (tenant_id) VALUES (7)", 7, "7"),
    ('UPDATE "customers" SET name = 1', 7, "7"),
    ("DELETE FROM payments WHERE id = 1", 7, "7"),
    ("UPDATE users SET name = 'x'", 7, page_cache.PLATFORM),
    ("UPDATE tenants SET slug = 'x'", 7, page_cache.PLATFORM),
    ("INSERT INTO documents (tenant_id) VALUES (7)", None, page_cache.PLATFORM),
    ("WITH moved AS (UPDATE documents SET status = 'paid') SELECT 1", 7, page_cache.PLATFORM),
])
def test_which_version_a_statement_raises(cache_app, statement, tenant, whose):
    with cache_app.app_context():
        if tenant is None:
            assert page_cache.written_in(statement) == whose
        else:
            with scoping.tenant_context(tenant):
                assert page_cache.written_in(statement) == whose




def test_over_its_rate_limit_the_api_list_answers_429_not_the_kept_page(cache_app, shop,
                                                                        monkeypatch):
    with in_tenant(shop):
        secret = create_token("Limited", "read").secret
    db.session.commit()
    monkeypatch.setitem(cache_app.config, "API_RATE_LIMIT", "3/minute")
    client = cache_app.test_client()
    headers = {"Authorization": f"Bearer {secret}"}
    answers = [client.get("/api/v1/documents?kind=invoice", headers=headers) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert kept(answers[2])
    assert answers[3].get_json()["error"]["code"] == "rate_limited"


def test_without_redis_pages_are_rendered_and_writes_still_commit(cache_app, shop, monkeypatch):
    from redis import Redis

    dead = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=1)
    store = page_cache.Store(dead, cache_app.extensions["saas.page_cache"].prefix)
    monkeypatch.setitem(cache_app.extensions, "saas.page_cache", store)
    with cache_app.app_context():
        monkeypatch.setitem(page_cache._engine_stores, id(db.engine), store)
    client = staff_client(cache_app, shop["accountant"])
    for _ in range(2):
        response = client.get(list_url(shop))
        assert response.status_code == 200 and not kept(response)
        assert shop["number"] in response.get_data(as_text=True)
    with in_tenant(shop), clock.frozen(TODAY):
        issue_invoice(db.session.get(Customer, shop["alfa"]), shop["vat"], "300", TODAY)
    db.session.commit()
    assert "3 in all" in client.get(list_url(shop)).get_data(as_text=True)


def test_new_code_or_settings_never_answer_the_old_pages(cache_app, shop, monkeypatch):
    client = staff_client(cache_app, shop["accountant"])
    get_twice(client, list_url(shop))
    assert page_cache._release == page_cache.release_of(cache_app)
    monkeypatch.setitem(cache_app.config, "PORTAL_SESSION_HOURS", 13)
    assert page_cache.release_of(cache_app) != page_cache._release
    monkeypatch.setattr(page_cache, "_release", page_cache.release_of(cache_app))
    assert not kept(client.get(list_url(shop)))
