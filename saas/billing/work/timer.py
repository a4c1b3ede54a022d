"""The stopwatch (R5.2): a user times exactly one task at a time; the others wait in a queue.

Starting a task pauses the one running into the user's queue; resuming a queued task
pauses the running one the same way. Stopping turns the measured time into a time entry
(whole minutes, half up, at least one) and takes the task off the watch; discarding
drops it without an entry. Each change locks the user's membership row first, so two
tabs that start timers at once take turns; below that, a partial unique index keeps at
most one running timer per user whatever happens. Callers commit.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select

from saas import clock
from saas.billing.work import timesheets
from saas.billing.work.items import BillingError
from saas.billing.work.models import (
    ProjectStatus,
    Task,
    TaskStatus,
    TimeEntry,
    WorkKind,
    WorkTimer,
)
from saas.billing.work.rules import minutes_of
from saas.extensions import db
from saas.tenants.models import Membership, User


def _lock(user_id: int) -> None:
    """One timer change at a time per user (PostgreSQL; SQLite writes one at a time)."""
    db.session.execute(select(Membership.id).where(Membership.user_id == user_id).with_for_update())


def running_timer(user_id: int) -> WorkTimer | None:
    return db.session.scalar(
        select(WorkTimer).where(WorkTimer.user_id == user_id, WorkTimer.running.is_(True))
    )


def queue_of(user_id: int) -> list[WorkTimer]:
    """The user's paused timers, the most recently paused first."""
    return list(
        db.session.scalars(
            select(WorkTimer)
            .where(WorkTimer.user_id == user_id, WorkTimer.running.is_(False))
            .order_by(WorkTimer.paused_at.desc(), WorkTimer.id.desc())
        )
    )


def seconds_of(timer: WorkTimer, now: datetime | None = None) -> int:
    """What the timer measured so far, in seconds."""
    seconds = timer.elapsed_seconds
    if timer.running and timer.resumed_at is not None:
        now = now or clock.now()
        seconds += max(0, int((now - timer.resumed_at).total_seconds()))
    return seconds


def _pause(timer: WorkTimer, now: datetime) -> None:
    timer.elapsed_seconds = seconds_of(timer, now)
    timer.running = False
    timer.resumed_at = None
    timer.paused_at = now


def start_timer(
    user: User, task: Task, *, kind: WorkKind | str = WorkKind.BILLABLE, description: str = ""
) -> WorkTimer:
    """Time the task; the task timed until now waits in the queue. Resumes a queued task."""
    if task.status == TaskStatus.DONE or task.project.status == ProjectStatus.CLOSED:
        raise BillingError(
            f"{task.title} is done or its project closed: no time is recorded on it.", "task_id"
        )
    try:
        kind = WorkKind(kind)
    except ValueError:
        raise BillingError("Choose billable, internal or bug-fix work.", "kind") from None
    _lock(user.id)
    now = clock.now()
    running = running_timer(user.id)
    if running is not None and running.task_id == task.id:
        return running
    if running is not None:
        _pause(running, now)
        db.session.flush()  # the pause first: the index allows one running timer
    timer = db.session.scalar(
        select(WorkTimer).where(WorkTimer.user_id == user.id, WorkTimer.task_id == task.id)
    )
    if timer is None:
        timer = WorkTimer(
            user_id=user.id,
            task_id=task.id,
            kind=kind,
            description=description.strip()[:2000],
            started_at=now,
        )
        db.session.add(timer)
    timer.running = True
    timer.resumed_at = now
    db.session.flush()
    return timer


def resume_timer(user: User, timer: WorkTimer) -> WorkTimer:
    """Take a queued task off the queue and time it again."""
    _own(user, timer)
    return start_timer(user, timer.task, kind=timer.kind)


def pause_timer(user: User, timer: WorkTimer) -> None:
    """Put the running task in the queue without timing another."""
    _own(user, timer)
    _lock(user.id)
    if timer.running:
        _pause(timer, clock.now())


def stop_timer(user: User, timer: WorkTimer, work_date: date) -> TimeEntry:
    """Stop timing the task: what was measured becomes a time entry on the day."""
    _own(user, timer)
    _lock(user.id)
    now = clock.now()
    seconds = seconds_of(timer, now)
    entry = timesheets.record_entry(
        user,
        {
            "task_id": timer.task_id,
            "work_date": work_date,
            "minutes": minutes_of(seconds),
            "kind": timer.kind,
            "activity_id": None,
            "description": timer.description,
        },
        started_at=timer.started_at,
        stopped_at=now,
    )
    db.session.delete(timer)
    db.session.flush()
    return entry


def discard_timer(user: User, timer: WorkTimer) -> None:
    """Drop a timer without recording its time."""
    _own(user, timer)
    db.session.delete(timer)
    db.session.flush()


def _own(user: User, timer: WorkTimer) -> None:
    if timer.user_id != user.id:
        raise BillingError("This is another person's timer.")
