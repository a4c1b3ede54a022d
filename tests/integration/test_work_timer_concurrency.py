"""Two tabs start the stopwatch at once, on two real connections (PostgreSQL).

The first transaction starts timing one task and holds its lock on the user's membership
until the second, starting another task, is seen waiting for it. The second then sees the
first timer, pauses it into the queue and times its own task: one running timer, nothing
refused. The data is committed for real in a tenant of its own and deleted afterwards.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, select, text

from saas.billing.work import timer as stopwatch
from saas.billing.work.models import Task, WorkTimer
from saas.extensions import db
from saas.tenants import scoping
from saas.tenants.models import Role, User
from tests.factories import TenantFactory, member
from tests.factories_work import ProjectFactory, TaskFactory
from tests.helpers import sessions_waiting_for_a_lock

WAIT = 20  # seconds at most for the other side; the test takes well under one


@pytest.fixture()
def desk(app, database_urls) -> Iterator[dict]:
    """A committed tenant with a member and two tasks; deleted afterwards."""
    desk: dict = {}
    try:
        with app.app_context():
            tenant = TenantFactory(name="Concurrent Timers AS")
            desk["tenant"] = tenant.id
            desk["user"] = member(tenant, Role.STAFF).id
            project = ProjectFactory(tenant=tenant)
            desk["tasks"] = [
                TaskFactory(tenant=tenant, project=project, title=title).id
                for title in ("Design", "Review")
            ]
            db.session.commit()
            db.session.remove()
        yield desk
    finally:
        if "tenant" in desk:
            owner = create_engine(database_urls["owner"])
            with owner.begin() as connection:  # the tenant's rows go with it (cascade)
                connection.execute(text("DELETE FROM tenants WHERE id = :t"), {"t": desk["tenant"]})
            owner.dispose()


@pytest.mark.postgres
def test_two_tabs_starting_timers_at_once_leave_one_running_and_one_queued(app, desk):
    first_started, go_on = threading.Event(), threading.Event()
    outcomes: dict[str, str] = {}

    def start(name: str, task_id: int, hold: bool) -> None:
        with app.app_context(), scoping.tenant_context(desk["tenant"]):
            try:
                user = db.session.get(User, desk["user"])
                stopwatch.start_timer(user, db.session.get(Task, task_id))
                if hold:
                    first_started.set()
                    go_on.wait(WAIT)  # keep the lock until the other tab waits for it
                db.session.commit()
                outcomes[name] = "started"
            except Exception as exc:  # noqa: BLE001 - the outcome is the assertion
                db.session.rollback()
                outcomes[name] = f"{type(exc).__name__}: {exc}"
            finally:
                first_started.set()
                db.session.remove()

    design, review = desk["tasks"]
    first = threading.Thread(target=start, args=("first", design, True))
    second = threading.Thread(target=start, args=("second", review, False))
    first.start()
    assert first_started.wait(WAIT)
    second.start()
    with app.app_context():
        deadline = time.monotonic() + WAIT
        while (second.is_alive() and not sessions_waiting_for_a_lock()
               and time.monotonic() < deadline):
            time.sleep(0.01)
        waited = second.is_alive()
    go_on.set()
    first.join(WAIT)
    second.join(WAIT)

    assert waited, f"the second tab did not wait for the first one's lock: {outcomes}"
    assert outcomes == {"first": "started", "second": "started"}
    with app.app_context(), scoping.tenant_context(desk["tenant"]):
        timers = db.session.execute(
            select(WorkTimer.task_id, WorkTimer.running).order_by(WorkTimer.task_id)
        ).all()
        assert [tuple(row) for row in timers] == [(design, False), (review, True)]
        db.session.rollback()
