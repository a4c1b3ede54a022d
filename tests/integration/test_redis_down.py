"""Redis down: pages still work, the work asked for waits in the database and goes to the
queue once Redis answers again (issue 13)."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select

from saas import create_app
from saas.deferred_jobs import DeferredJob, send_deferred, waiting
from saas.extensions import db
from saas.queue import get_queue
from saas.tenants.models import Role
from tests.conftest import _test_config
from tests.factories import member
from tests.helpers import run_jobs
from tests.integration.test_document_delivery import _send, invoice  # noqa: F401 - fixture
from tests.run import free_port

DEAD_REDIS = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there


@pytest.fixture()
def redis_down(app, monkeypatch):
    """The app's queue connection points where no Redis answers; put back by redis_up()."""
    live = app.config["REDIS_URL"]
    monkeypatch.setitem(app.config, "REDIS_URL", DEAD_REDIS)
    monkeypatch.setitem(app.extensions, "saas.redis", {})
    monkeypatch.setitem(app.extensions, "saas.deferred_checked", 0.0)

    def redis_up() -> None:
        app.config["REDIS_URL"] = live
        app.extensions["saas.redis"] = {}
        app.extensions["saas.deferred_checked"] = 0.0

    yield redis_up
    with app.app_context(), db.engine.begin() as connection:  # committed on their own
        connection.execute(delete(DeferredJob))


def test_an_email_asked_for_while_redis_is_down_goes_out_when_it_is_back(
    app, invoice, smtp, make_client, redis_down  # noqa: F811 - the fixture above
):
    client = make_client(member(invoice["tenant"], Role.ACCOUNTANT))
    page = _send(client, invoice)
    assert page.status_code == 200
    assert "is on its way to faktury@lodz.example" in page.text
    [deferred] = db.session.execute(select(DeferredJob.__table__)).all()
    assert deferred.function == "saas.billing.documents.delivery:deliver_document"
    assert deferred.queue == "mail" and "ConnectionError" in deferred.error

    dashboard = client.get(f"/t/{invoice['tenant'].slug}/")
    assert dashboard.status_code == 200
    assert "Background work is delayed" in dashboard.text

    redis_down()  # Redis is back
    get_queue("mail", app).empty()
    assert send_deferred(app) == 1
    assert waiting() == 0
    run_jobs(app)
    [message] = smtp.messages
    assert message["To"] == "faktury@lodz.example"
    assert "Background work is delayed" not in client.get(
        f"/t/{invoice['tenant'].slug}/").text


def test_deferred_jobs_keep_their_unique_id_and_retries(app, invoice, make_client,  # noqa: F811
                                                         redis_down):
    client = make_client(member(invoice["tenant"], Role.ACCOUNTANT))
    _send(client, invoice)
    [row] = db.session.scalars(select(DeferredJob)).all()
    redis_down()
    assert send_deferred(app) == 1
    [job] = get_queue("mail", app).jobs
    assert job.func_name == "saas.billing.documents.delivery.deliver_document"
    assert (job.args, job.kwargs) == (tuple(row.args), row.kwargs)
    assert row.retry_intervals == list(app.config["JOB_RETRY_INTERVALS"])
    assert (job.retries_left, job.retry_intervals) == (3, [10, 60, 300])
    assert row.job_id.startswith("delivery-") and job.id == row.job_id
    get_queue("mail", app).empty()


def test_nothing_is_sent_while_redis_is_still_away(app, invoice, make_client,  # noqa: F811
                                                   redis_down):
    client = make_client(member(invoice["tenant"], Role.ACCOUNTANT))
    _send(client, invoice)
    assert send_deferred(app) == 0
    assert waiting() == 1


def test_sign_in_works_when_the_rate_limits_cannot_reach_redis(database_urls, db_session):
    app = create_app(_test_config(database_urls["app"], database_urls["app"],
                                  REDIS_URL=DEAD_REDIS, RATELIMIT_STORAGE_URI=DEAD_REDIS))
    client = app.test_client()
    assert client.get("/login").status_code == 200
    refused = client.post("/login", data={"email": "nobody@example.com", "password": "x" * 12})
    assert refused.status_code == 422  # the form's answer, not a 500
    assert "Wrong e-mail or password." in refused.text
