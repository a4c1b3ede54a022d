"""Fixtures for browser tests: the app served for real on a loopback port, and Chromium.

The server runs in a thread of the test process, on the same database as the rest of the
suite but without the rolled-back transaction of `db_session` (the server thread could not
see it), so what a browser test creates is committed: every test uses unique names.
CSRF protection is on, as a user's browser would meet it.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import expect, sync_playwright
from werkzeug.serving import make_server

from saas import create_app
from saas.extensions import db
from saas.tenants import services
from saas.tenants.models import Role, Tenant
from tests.conftest import _test_config
from tests.factories import PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
TIMEOUT_MS = 10_000


@pytest.fixture(scope="session")
def live_app(database_urls: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Flask:
    """The app the live server runs, with real CSRF protection."""
    outbox = tmp_path_factory.mktemp("browser-outbox")
    application = create_app(
        _test_config(
            database_urls["owner"],
            database_urls["app"],
            WTF_CSRF_ENABLED=True,
            OUTBOX_DIR=str(outbox),
        )
    )
    if application.config["REDIS_URL"]:
        # Emptied as `app` empties it: the database is new, so job ids made of row ids
        # (delivery-1) would meet a previous run's and be dropped as duplicates.
        from saas.queue import redis_connection

        redis_connection(application).flushdb()
    return application


@pytest.fixture(scope="session")
def live_server(live_app: Flask) -> Iterator[str]:
    """Serve live_app on 127.0.0.1 (a free port) in a background thread; yield its base URL."""
    server = make_server("127.0.0.1", 0, live_app, threaded=True)
    base_url = f"http://127.0.0.1:{server.server_port}"
    live_app.config["PUBLIC_URL"] = base_url
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield base_url
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        with live_app.app_context():
            db.engine.dispose()


@pytest.fixture(scope="session")
def chromium() -> Iterator[object]:
    """The system Chromium, driven by Playwright (never a downloaded browser)."""
    if not CHROMIUM.exists():
        reason = f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; CI must run them", pytrace=False)
        pytest.skip(reason)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def fresh_page(chromium, base_url: str, **options: object) -> Iterator[object]:
    """A page in a context of its own (its own cookies), closed afterwards."""
    context = chromium.new_context(base_url=base_url, **options)
    context.set_default_timeout(TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture()
def browser_page(chromium, live_server: str):
    """A fresh page (its own cookies) in Chromium, with base_url set to the live server."""
    with fresh_page(chromium, live_server) as page:
        yield page


@pytest.fixture()
def console_messages(browser_page) -> list[str]:
    """Everything the page logs to the console (Chromium reports CSP violations there)."""
    messages: list[str] = []
    browser_page.on("console", lambda message: messages.append(message.text))
    browser_page.on("pageerror", lambda error: messages.append(str(error)))
    return messages


@dataclass
class Account:
    company: str
    slug: str
    tenant_id: int
    name: str
    email: str
    password: str = PASSWORD

    @property
    def home(self) -> str:
        return f"/t/{self.slug}/"


def unique(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:10]}"


@pytest.fixture()
def owner_account(live_app: Flask) -> Account:
    """A company and its owner, committed through the services (no browser involved)."""
    company, name = unique("Browser Test AS"), unique("Owner")
    email = f"owner-{uuid.uuid4().hex[:12]}@example.com"
    with live_app.app_context():
        tenant, _ = services.sign_up(company, email, name, PASSWORD, country="NO",
                                     currency="NOK")
        account = Account(company, tenant.slug, tenant.id, name, email)
        db.session.commit()
    return account


@pytest.fixture()
def signed_in_owner(browser_page, live_server: str, owner_account: Account) -> Account:
    """owner_account, signed in on browser_page through the sign-in form."""
    sign_in(browser_page, owner_account.email, owner_account.password)
    expect(browser_page).to_have_url(live_server + owner_account.home)
    return owner_account


def sign_in(page, email: str, password: str) -> None:
    page.goto("/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()


def add_member(app: Flask, account: Account, role: Role) -> tuple[int, str]:
    """Add a new user to account's company with role; return (membership id, user name)."""
    name = unique("Colleague")
    with app.app_context():
        tenant = db.session.get(Tenant, account.tenant_id)
        user = services.create_user(f"member-{uuid.uuid4().hex[:12]}@example.com", name,
                                    PASSWORD)
        membership = services.add_member(tenant, user, role)
        membership_id = membership.id
        db.session.commit()
    return membership_id, name

