"""The database goes away: the request it happens to fails cleanly, the next one works.

A restart of PostgreSQL ends every connection. The app's own pool meets that either in
the middle of a request (the connection dies under a query) or between requests (a pooled
connection is dead when the next request takes it); this app of its own, with its own
pool, has its connections ended for real by the server, as a restart would.
"""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, make_url, text

from saas import config as settings
from saas import create_app
from saas.extensions import db
from tests.conftest import TEST_DATABASE_URL, _test_config

pytestmark = pytest.mark.postgres
NAME = "saas-fault-test"
LOGIN = {"email": "nobody@example.com", "password": "not the password"}


@pytest.fixture()
def faulty_app(database_urls):
    """An app with a pool of its own, whose connections are named so they can be ended."""
    options = {**settings.from_environment()["SQLALCHEMY_ENGINE_OPTIONS"],  # the app's own
               "connect_args": {"application_name": NAME}}
    app = create_app(_test_config(database_urls["app"], database_urls["app"],
                                  SQLALCHEMY_ENGINE_OPTIONS=options))

    @app.before_request
    def die_under_a_query() -> None:
        if app.config.get("KILL_MID_REQUEST"):
            db.session.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))

    yield app
    with app.app_context():
        db.engine.dispose()


def end_connections() -> int:
    """End the fault app's connections from the server side, as a restart does."""
    admin = create_engine(make_url(TEST_DATABASE_URL).set(drivername="postgresql+psycopg"),
                          isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        ended = connection.scalar(text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE application_name = :name"), {"name": NAME})
    admin.dispose()
    return ended


def test_a_request_whose_connection_dies_fails_cleanly_and_the_next_one_works(faulty_app):
    client = faulty_app.test_client()
    assert client.post("/login", data=LOGIN).status_code == 422  # the database answers
    faulty_app.config["KILL_MID_REQUEST"] = True
    failed = client.post("/login", data=LOGIN)
    assert failed.status_code == 500
    assert "Traceback" not in failed.text and "psycopg" not in failed.text
    faulty_app.config["KILL_MID_REQUEST"] = False
    assert client.post("/login", data=LOGIN).status_code == 422


def test_after_a_restart_the_next_request_gets_a_fresh_connection(faulty_app):
    client = faulty_app.test_client()
    assert client.post("/login", data=LOGIN).status_code == 422
    assert end_connections() >= 1  # the pooled connection is dead now
    assert client.post("/login", data=LOGIN).status_code == 422
