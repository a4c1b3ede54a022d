"""Fixtures: a throwaway database migrated as its owner, the app connected as the app role,
each test in a transaction that is rolled back, and clients signed in as given users."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_sqlalchemy.session import _app_ctx_id
from hypothesis import HealthCheck, settings
from sqlalchemy.orm import scoped_session, sessionmaker

from saas import create_app
from saas.extensions import db
from saas.tenants import scoping
from tests.database import APP_ROLE, create_database, drop_database

# Property tests check results, not speed: a busy machine must not fail them.
settings.register_profile("saas", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("saas")

IN_CI = os.environ.get("CI", "").lower() == "true"
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
REDIS_URL = os.environ.get("REDIS_URL", "")
ON_POSTGRES = TEST_DATABASE_URL.startswith("postgres")

if IN_CI and not (ON_POSTGRES and REDIS_URL):
    raise pytest.UsageError("CI runs on PostgreSQL and Redis: set TEST_DATABASE_URL and REDIS_URL")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    skip_pg = pytest.mark.skip(reason="needs PostgreSQL (TEST_DATABASE_URL)")
    for item in items:
        if "postgres" in item.keywords and not ON_POSTGRES:
            item.add_marker(skip_pg)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "postgres: needs PostgreSQL")


@pytest.fixture(scope="session")
def database_urls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """URLs of a migrated throwaway database: owner (migrations) and app role."""
    yield from migrated_database(tmp_path_factory)


def migrated_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Make a throwaway database, migrate it, yield its URLs, drop it afterwards."""
    if ON_POSTGRES:
        owner_url, app_url, name = create_database(TEST_DATABASE_URL)
    else:
        path = tmp_path_factory.mktemp("db") / "test.db"
        owner_url = app_url = f"sqlite:///{path}"
        name = ""
    migrate_app = create_app(_test_config(owner_url, app_url))
    with migrate_app.app_context():
        from flask_migrate import upgrade

        upgrade()
        db.engine.dispose()
    yield {"owner": owner_url, "app": app_url}
    if name:
        drop_database(TEST_DATABASE_URL, name)


def _test_config(owner_url: str, app_url: str, **extra: object) -> dict[str, object]:
    # A database of its own on the server (15, or TEST_REDIS_DB so that two runs on one
    # machine keep out of each other's queues), emptied at the start of the run; fakeredis
    # only when no server could be had (tests/run.py says so).
    redis_db = int(os.environ.get("TEST_REDIS_DB", "15"))
    redis_url = make_url_redis_db(REDIS_URL, redis_db) if REDIS_URL else "fakeredis://"
    config: dict[str, object] = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": app_url,
        "MIGRATION_DATABASE_URL": owner_url,
        "APP_DB_ROLE": APP_ROLE,
        "WTF_CSRF_ENABLED": False,
        "REDIS_URL": redis_url,
        "RATELIMIT_STORAGE_URI": "memory://" if redis_url.startswith("fake") else redis_url,
        "RATELIMIT_KEY_PREFIX": f"test-{uuid.uuid4().hex[:8]}",
        "LOGIN_RATE_LIMIT": "1000 per minute",
        "PORTAL_LINK_RATE_LIMIT": "1000 per minute",
        "SMTP_URL": None,
        "PUBLIC_URL": "http://testserver",
        "SERVER_NAME": None,
        # Webhook receivers in the tests listen on loopback.
        "WEBHOOKS_ALLOW_PRIVATE_HOSTS": True,
        "MAIL_SERVERS_ALLOW_PRIVATE_HOSTS": True,
        # The tests' session is one connection in a rolled-back transaction: no threads.
        "SWEEP_THREADS": 1,
        # Pages kept in Redis: on in tests/integration/test_page_cache.py only.
        "PAGE_CACHE": False,
    }
    config.update(extra)
    return config


def make_url_redis_db(url: str, index: int) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{index}" if base.count("/") >= 2 else f"{url.rstrip('/')}/{index}"


@pytest.fixture(scope="session")
def app(database_urls: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Flask:
    return make_test_app(database_urls, tmp_path_factory)


def make_test_app(database_urls: dict[str, str], tmp_path_factory: pytest.TempPathFactory,
                  **extra: object) -> Flask:
    """The app over the given database, with an outbox folder and an emptied Redis database."""
    outbox = tmp_path_factory.mktemp("outbox")
    application = create_app(_test_config(database_urls["owner"], database_urls["app"],
                                          OUTBOX_DIR=str(outbox), **extra))
    if application.config["REDIS_URL"]:
        from saas.queue import redis_connection

        redis_connection(application).flushdb()
    return application


@pytest.fixture()
def db_session(app: Flask) -> Iterator[scoped_session]:
    """An app context whose session runs inside a transaction rolled back after the test.

    Commits by the code under test become savepoint releases, so they are real to that
    code and to the database's constraints, and vanish afterwards.
    """
    with rolled_back_session(app) as session:
        yield session


@contextmanager
def rolled_back_session(app: Flask) -> Iterator[scoped_session]:
    """db_session's work, for any app (tests that make an app of their own use it)."""
    with app.app_context():
        connection = db.engine.connect()
        transaction = connection.begin()
        original = db.session
        db.session = scoped_session(
            sessionmaker(bind=connection, join_transaction_mode="create_savepoint"),
            scopefunc=_app_ctx_id,
        )
        scope = scoping.snapshot()
        try:
            yield db.session
        finally:
            db.session.remove()
            db.session = original
            scoping.restore(scope)
            transaction.rollback()
            connection.close()


@pytest.fixture()
def client(app: Flask, db_session: scoped_session) -> FlaskClient:
    return app.test_client()


@pytest.fixture()
def make_client(app: Flask, db_session: scoped_session):
    """Return a new test client signed in as the given user (no login form, no limiter)."""

    def make(user=None) -> FlaskClient:
        test_client = app.test_client()
        if user is not None:
            with test_client.session_transaction() as session:
                session["_user_id"] = str(user.id)
                session["_fresh"] = True
        return test_client

    return make


@pytest.fixture()
def outbox(app: Flask) -> Iterator[os.PathLike]:
    """The folder where e-mail lands without SMTP; emptied before the test."""
    from pathlib import Path

    folder = Path(app.config["OUTBOX_DIR"])
    for old in folder.glob("*.eml"):
        old.unlink()
    yield folder
