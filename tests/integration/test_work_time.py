"""Time (R5.2, R5.3): the stopwatch's rules (one running, the queue), entries by hand,
corrections with their history, and what billable, internal and bug-fix time bill."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from saas import clock
from saas.billing.work import items, projects, timesheets
from saas.billing.work import timer as stopwatch
from saas.billing.work.models import (
    BillableItem,
    ItemStatus,
    Task,
    TimeEntry,
    WorkKind,
    WorkTimer,
)
from saas.extensions import db
from saas.tenants import scoping
from saas.tenants.models import Role, User
from tests.factories import CustomerFactory, ProductFactory, TenantFactory, member
from tests.factories_work import BillingRuleFactory, ProjectFactory, TaskFactory

D = Decimal
MONDAY = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
DAY = MONDAY.date()


@pytest.fixture()
def work(db_session):
    """A consultancy: an hourly product billed by started quarter hours (1,000 NOK), a rule
    that bills every billable time entry as it, and a project with two tasks."""
    tenant = TenantFactory(currency="NOK")
    worker = member(tenant, Role.STAFF, name="Ada Worker")
    with scoping.tenant_context(tenant.id):
        customer = CustomerFactory(tenant=tenant, name="Fjord Kraft AS")
        hour = ProductFactory(
            tenant=tenant,
            name="Consulting hour",
            unit="h",
            base_price=D("1000.00"),
            quantity_increment=D("0.25"),
        )
        BillingRuleFactory(tenant=tenant, event="time_entry", product=hour)
        project = ProjectFactory(tenant=tenant, customer=customer, name="Grid study")
        design = TaskFactory(tenant=tenant, project=project, title="Design")
        review = TaskFactory(tenant=tenant, project=project, title="Review")
        db.session.commit()
        return {
            "tenant": tenant,
            "worker": worker.id,
            "hour": hour.id,
            "design": design.id,
            "review": review.id,
            "project": project.id,
        }


def at(minutes: int):
    return clock.frozen(MONDAY + timedelta(minutes=minutes))


def load(work, name):
    return db.session.get(Task if name in ("design", "review") else User, work[name])


def timers(user_id: int) -> list[tuple[str, bool, int]]:
    return [
        (timer.task.title, timer.running, timer.elapsed_seconds)
        for timer in db.session.scalars(
            select(WorkTimer).where(WorkTimer.user_id == user_id).order_by(WorkTimer.id)
        )
    ]


def test_starting_another_task_pauses_the_running_one_into_the_queue(work):
    with scoping.tenant_context(work["tenant"].id):
        user = load(work, "worker")
        with at(0):
            stopwatch.start_timer(user, load(work, "design"))
        with at(25):
            stopwatch.start_timer(user, load(work, "review"))
            assert timers(user.id) == [("Design", False, 1500), ("Review", True, 0)]
            assert stopwatch.running_timer(user.id).task.title == "Review"
            assert [t.task.title for t in stopwatch.queue_of(user.id)] == ["Design"]


def test_resuming_a_queued_task_adds_to_what_it_measured_before(work):
    with scoping.tenant_context(work["tenant"].id):
        user = load(work, "worker")
        with at(0):
            design = stopwatch.start_timer(user, load(work, "design"))
        with at(25):
            stopwatch.start_timer(user, load(work, "review"))
        with at(40):
            assert stopwatch.resume_timer(user, design).id == design.id
            assert timers(user.id) == [("Design", True, 1500), ("Review", False, 900)]
        with at(60):
            assert stopwatch.seconds_of(design) == 1500 + 1200
            entry = stopwatch.stop_timer(user, design, DAY)
        assert (entry.minutes, entry.task_id, entry.kind) == (45, work["design"], WorkKind.BILLABLE)
        assert (entry.started_at, entry.stopped_at) == (MONDAY, MONDAY + timedelta(hours=1))
        assert timers(user.id) == [("Review", False, 900)]  # the queue keeps the rest


def test_starting_the_running_task_again_changes_nothing(work):
    with scoping.tenant_context(work["tenant"].id):
        user = load(work, "worker")
        with at(0):
            first = stopwatch.start_timer(user, load(work, "design"))
        with at(10):
            assert stopwatch.start_timer(user, load(work, "design")).id == first.id
            assert timers(user.id) == [("Design", True, 0)]


def test_the_database_refuses_a_second_running_timer_for_a_user(work):
    with scoping.tenant_context(work["tenant"].id):
        user = load(work, "worker")
        with at(0):
            stopwatch.start_timer(user, load(work, "design"))
        db.session.commit()
        with pytest.raises(IntegrityError), db.session.begin_nested():
            db.session.execute(
                insert(WorkTimer).values(
                    tenant_id=work["tenant"].id,
                    user_id=user.id,
                    task_id=work["review"],
                    running=True,
                    resumed_at=MONDAY,
                    elapsed_seconds=0,
                    started_at=MONDAY,
                    kind="billable",
                    description="",
                )
            )
        with pytest.raises(IntegrityError), db.session.begin_nested():
            db.session.execute(
                insert(WorkTimer).values(  # running without a start
                    tenant_id=work["tenant"].id,
                    user_id=user.id,
                    task_id=work["review"],
                    running=False,
                    resumed_at=MONDAY,
                    elapsed_seconds=0,
                    started_at=MONDAY,
                    kind="billable",
                    description="",
                )
            )
        assert timers(user.id) == [("Design", True, 0)]


def test_two_people_time_at_once_and_a_timer_is_its_owners_only(work):
    with scoping.tenant_context(work["tenant"].id):
        ada = load(work, "worker")
        bob = db.session.get(User, member(work["tenant"], Role.STAFF).id)
        with at(0):
            mine = stopwatch.start_timer(ada, load(work, "design"))
            stopwatch.start_timer(bob, load(work, "design"))
        assert [t[1] for t in timers(ada.id) + timers(bob.id)] == [True, True]
        with pytest.raises(items.BillingError, match="another person's timer"):
            stopwatch.stop_timer(bob, mine, DAY)


def test_stopping_records_billable_time_that_the_rules_bill(work):
    with scoping.tenant_context(work["tenant"].id):
        user = load(work, "worker")
        with at(0):
            timer = stopwatch.start_timer(user, load(work, "design"), description="Sketches")
        with at(50):
            entry = stopwatch.stop_timer(user, timer, DAY)
        [item] = items.items_of_source("time_entry", [entry.id])
        assert (item.product_id, item.quantity, item.unit_price) == (
            work["hour"],
            D(1),
            D("1000.0000"),
        )  # 50 min → started quarter: 1 h
        assert item.description == "Grid study: Design — Sketches (Ada Worker)"
        assert item.project_id == work["project"]


@pytest.mark.parametrize("kind", [WorkKind.INTERNAL, WorkKind.BUG_FIX])
def test_internal_and_bug_fix_time_is_recorded_but_not_billed(work, kind):
    with scoping.tenant_context(work["tenant"].id):
        entry = timesheets.record_entry(
            load(work, "worker"),
            {"task_id": work["design"], "work_date": DAY, "minutes": 90, "kind": kind},
        )
        assert entry.kind == kind and entry.hours == D("1.5")
        assert items.items_of_source("time_entry", [entry.id]) == []


def test_a_correction_keeps_who_changed_what_and_rebills(work):
    with scoping.tenant_context(work["tenant"].id):
        user = load(work, "worker")
        entry = timesheets.record_entry(
            user, {"task_id": work["design"], "work_date": DAY, "minutes": 90}
        )
        boss = member(work["tenant"], Role.ADMIN, name="Bo Boss")
        revision = timesheets.correct_entry(
            entry, {"minutes": 130, "task_id": work["review"]}, user_id=boss.id
        )
        assert revision.changes == {"task_id": ["Design", "Review"], "minutes": ["1:30", "2:10"]}
        assert revision.changed_by.name == "Bo Boss"
        [item] = items.items_of_source("time_entry", [entry.id])
        assert item.quantity == D("2.25") and "Review" in item.description
        timesheets.correct_entry(entry, {"kind": WorkKind.BUG_FIX}, user_id=user.id)
        assert items.items_of_source("time_entry", [entry.id]) == []  # bug fixes: not billed
        assert [list(r.changes) for r in entry.revisions] == [["task_id", "minutes"], ["kind"]]
        assert timesheets.correct_entry(entry, {"minutes": 130}) is None  # nothing changed


def test_invoiced_time_cannot_be_corrected_until_its_line_is_credited(work):
    with scoping.tenant_context(work["tenant"].id):
        entry = timesheets.record_entry(
            load(work, "worker"), {"task_id": work["design"], "work_date": DAY, "minutes": 60}
        )
        [item] = items.items_of_source("time_entry", [entry.id])
        items.bill_items(item.customer, [item.id])
        with pytest.raises(items.BillingError, match="invoiced on Draft invoice"):
            timesheets.correct_entry(entry, {"minutes": 30})
        with pytest.raises(items.BillingError, match="invoiced already"):
            timesheets.delete_entry(entry)
        timesheets.correct_entry(entry, {"description": "Typo fixed"})  # text is fine
        assert entry.minutes == 60 and item.status == ItemStatus.INVOICED


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"task_id": None}, "task_id", "Choose a task"),
        ({"work_date": None}, "work_date", "day the work was done"),
        ({"minutes": 0}, "minutes", "more than 0"),
        ({"minutes": 24 * 60 + 1}, "minutes", "at most 24 hours"),
        ({"kind": "overtime"}, "kind", "billable, internal or bug-fix"),
        ({"activity_id": 999999}, "activity_id", "activity of this company"),
    ],
)
def test_bad_entries_are_refused_naming_the_field(work, values, field, message):
    with scoping.tenant_context(work["tenant"].id):
        with pytest.raises(items.BillingError, match=message) as refused:
            timesheets.record_entry(
                load(work, "worker"),
                {"task_id": work["design"], "work_date": DAY, "minutes": 60, **values},
            )
        assert refused.value.field == field
        assert db.session.scalar(select(TimeEntry.id)) is None
        assert db.session.scalar(select(BillableItem.id)) is None


def test_a_done_task_cannot_be_timed(work):
    with scoping.tenant_context(work["tenant"].id):
        task = load(work, "design")
        projects.close_task(task)
        with pytest.raises(items.BillingError, match="done or its project closed"):
            stopwatch.start_timer(load(work, "worker"), task)
        assert timers(work["worker"]) == []
