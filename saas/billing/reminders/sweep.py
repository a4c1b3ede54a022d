"""The reminder sweep: find what is due, claim it in the database, queue the e-mails (R6.4).

The sweep is driven by database state alone. For each tenant with a policy it claims, per
level, the open invoices whose day for that level has come, with one INSERT ... SELECT
that skips what already exists (unique invoice + level), so running it twice, or again
after a worker died half way, never claims a reminder twice. Only the claimed rows are
queued, in chunks, each chunk one job on the mail queue (see sending.py).

Levels are known by their day (days after the due date), which stays fixed once a level
has gone out, so adding or removing levels never shifts what an invoice has had. They
are claimed from the last to the first, and a level needs the level before it (courtesy
notes before the due date aside), so an invoice moves at most one level per sweep and
never skips one; two reminders of an invoice are ``min_days_between`` apart.
A courtesy note (a level on or before the due date) is only sent while the invoice is
not yet overdue. Paid, credited and paused invoices are never claimed.

After the last level, once ``notify_after_days`` pass unpaid, a to-do is filed for the
tenant (unique per invoice) and the tenant's users are e-mailed once.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta

from flask import current_app
from sqlalchemy import Date, Integer, String, and_, exists, func, literal, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from saas import clock
from saas.billing.customers.models import Customer
from saas.billing.documents.models import Document
from saas.billing.documents.states import DocumentKind as K
from saas.billing.documents.states import DocumentStatus as S
from saas.billing.reminders.models import (
    Reminder,
    ReminderLevel,
    ReminderPause,
    ReminderPolicy,
    ReminderStatus,
)
from saas.billing.todos.models import Todo, TodoKind
from saas.extensions import db
from saas.queue import BILLING_QUEUE, MAIL_QUEUE, enqueue, job, mail_retry
from saas.tenants import scoping
from saas.tenants.models import utcnow
from saas.tenants.services import tenants_and_zones

OPEN = (S.ISSUED.value, S.PARTLY_PAID.value)
# Reminders per mail job: one SMTP connection and one job per chunk.
CHUNK = 100


@dataclass
class SweepResult:
    tenants: int = 0
    claimed: int = 0
    jobs: int = 0
    notices: int = 0
    requeued: int = 0

    def add(self, other: SweepResult) -> None:
        for name in ("tenants", "claimed", "jobs", "notices", "requeued"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def sweep(today: date | None = None, tenant_ids: Iterable[int] | None = None) -> SweepResult:
    """Sweep every tenant (or the ones given), each on its own local today unless given one.

    Each tenant commits on its own, so its jobs are queued as soon as its claims are safe.
    On PostgreSQL, SWEEP_THREADS tenants are swept at once, each thread with its own app
    context, session and connection (tenants share nothing the sweep writes).
    """
    tenants = tenants_and_zones(tenant_ids)
    threads = current_app.config["SWEEP_THREADS"]
    if db.session.get_bind().dialect.name != "postgresql" or threads <= 1 or len(tenants) < 2:
        result = SweepResult()
        for tenant_id, timezone in tenants:
            result.add(_sweep_one(tenant_id, today or clock.today_in(timezone)))
        return result
    app = current_app._get_current_object()
    frozen = clock.now()  # the threads see the same moment (a frozen clock included)

    def in_thread(tenant: tuple[int, str]) -> SweepResult:
        with app.app_context(), clock.frozen(frozen):
            try:
                return _sweep_one(tenant[0], today or clock.today_in(tenant[1]))
            finally:
                db.session.remove()

    result = SweepResult()
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="sweep") as pool:
        for part in pool.map(in_thread, tenants):
            result.add(part)
    return result


def _sweep_one(tenant_id: int, today: date) -> SweepResult:
    with scoping.tenant_context(tenant_id):
        result = sweep_tenant(today)
        db.session.commit()
    return result


def sweep_tenant(today: date) -> SweepResult:
    """Claim and queue the current tenant's due reminders and file its unpaid notices."""
    result = SweepResult()
    policy = db.session.scalar(select(ReminderPolicy))
    if policy is None or not policy.enabled:
        return result
    levels = db.session.scalars(
        select(ReminderLevel).order_by(ReminderLevel.days_after_due)).all()
    if not levels:
        return result
    result.tenants = 1
    tenant_id = scoping.require_tenant_id()
    claimed: list[int] = []
    for level, floor in reversed(list(_floors(levels))):
        claimed.extend(_claim(tenant_id, level, floor, today, policy.min_days_between))
    result.claimed = len(claimed)
    result.jobs = queue_reminders(tenant_id, claimed, today, "sweep")
    stale = _stale_reminders(today)
    result.requeued = len(stale)
    result.jobs += queue_reminders(tenant_id, stale, today, f"requeue-{today}")
    last = levels[-1]
    result.notices = _file_unpaid_notices(tenant_id, last, today, policy.notify_after_days)
    return result


# Below any level's day: "no reminder yet".
NONE_YET = -1000


def _floors(levels: Sequence[ReminderLevel]) -> Iterator[tuple[ReminderLevel, int]]:
    """Each level (by day) with the day of the level an invoice must have reached first."""
    floor = NONE_YET
    for level in levels:
        yield level, (NONE_YET if level.is_courtesy else floor)
        if not level.is_courtesy:
            floor = level.days_after_due


def _insert(table):  # noqa: ANN001, ANN202 - the dialect's INSERT, for ON CONFLICT DO NOTHING
    dialect = db.session.get_bind().dialect.name
    return (postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table))


def _claim(tenant_id: int, level: ReminderLevel, floor: int, today: date,
           min_days_between: int) -> list[int]:
    d, r, p = Document.__table__, Reminder.__table__, ReminderPause.__table__
    last = (select(func.coalesce(func.max(r.c.level_day), NONE_YET))
            .where(r.c.document_id == d.c.id).scalar_subquery())
    recent = exists().where(r.c.document_id == d.c.id,
                            r.c.reminded_on > today - timedelta(days=min_days_between))
    paused = exists().where(p.c.tenant_id == tenant_id,
                            or_(p.c.document_id == d.c.id, p.c.customer_id == d.c.customer_id))
    conditions = [
        d.c.tenant_id == tenant_id, d.c.kind == K.INVOICE.value, d.c.status.in_(OPEN),
        d.c.due_date <= today - timedelta(days=level.days_after_due),
        last < level.days_after_due, last >= floor, ~recent, ~paused,
    ]
    if level.is_courtesy:
        conditions.append(d.c.due_date >= today)
    columns = {
        "tenant_id": d.c.tenant_id,
        "document_id": d.c.id,
        "customer_id": d.c.customer_id,
        "level_day": literal(level.days_after_due, Integer),
        "level_name": literal(level.name, String),
        "reminded_on": literal(today, Date),
        "status": literal(ReminderStatus.NEW.value, String),
        "currency": d.c.currency,
        "fee": literal(0, Integer),
        "interest": literal(0, Integer),
        "interest_days": literal(0, Integer),
        "interest_rate": literal(0, Integer),
        "note": literal("", String),
        "created_at": literal(utcnow(), r.c.created_at.type),
    }
    statement = (_insert(r)
                 .from_select(list(columns), select(*columns.values()).where(and_(*conditions)))
                 .on_conflict_do_nothing()
                 .returning(r.c.id))
    return list(db.session.scalars(statement))


def _stale_reminders(today: date) -> list[int]:
    """Reminders claimed on an earlier day that never went out (their job was lost)."""
    return list(db.session.scalars(
        select(Reminder.id).where(
            Reminder.status.in_([ReminderStatus.NEW, ReminderStatus.PREPARED]),
            Reminder.reminded_on < today)
        .order_by(Reminder.id)))


def queue_reminders(tenant_id: int, ids: Sequence[int], today: date, tag: str) -> int:
    """Queue the reminders' e-mails after commit, CHUNK per job; return how many jobs."""
    from saas.billing.reminders.sending import send_reminders

    ids = sorted(ids)
    chunks = [ids[i:i + CHUNK] for i in range(0, len(ids), CHUNK)]
    for chunk in chunks:
        # Not unique in Redis: the claims make each chunk once, and they go in one pipeline.
        enqueue(send_reminders, chunk, today.isoformat(), tenant_id=tenant_id,
                queue=MAIL_QUEUE, retry=mail_retry(), unique=False,
                job_id=f"reminders-{tenant_id}-{tag}-{chunk[0]}-{chunk[-1]}")
    return len(chunks)


def _file_unpaid_notices(tenant_id: int, last: ReminderLevel, today: date,
                         after_days: int) -> int:
    """File a to-do per invoice still open ``after_days`` after its last reminder."""
    d, r, c, t = Document.__table__, Reminder.__table__, Customer.__table__, Todo.__table__
    p = ReminderPause.__table__
    paused = exists().where(p.c.tenant_id == tenant_id,
                            or_(p.c.document_id == d.c.id, p.c.customer_id == d.c.customer_id))
    columns = {
        "tenant_id": d.c.tenant_id,
        "kind": literal(TodoKind.UNPAID_AFTER_REMINDERS.value, String),
        "title": (literal("Still unpaid after the last reminder: ", String)
                  + func.coalesce(d.c.number, "") + literal(" — ", String) + c.c.name),
        "details": literal("", String),
        "customer_id": d.c.customer_id,
        "document_id": d.c.id,
        "due_on": literal(today, Date),
        "created_at": literal(utcnow(), t.c.created_at.type),
    }
    source = (select(*columns.values())
              .select_from(r.join(d, d.c.id == r.c.document_id)
                           .join(c, c.c.id == d.c.customer_id))
              .where(r.c.tenant_id == tenant_id, r.c.level_day == last.days_after_due,
                     r.c.status == ReminderStatus.SENT.value,
                     r.c.reminded_on <= today - timedelta(days=after_days),
                     d.c.status.in_(OPEN), ~paused))
    statement = (_insert(t).from_select(list(columns), source)
                 .on_conflict_do_nothing().returning(t.c.id))
    filed = list(db.session.scalars(statement))
    waiting = list(db.session.scalars(
        select(Todo.id).where(Todo.kind == TodoKind.UNPAID_AFTER_REMINDERS,
                              Todo.notified_at.is_(None), Todo.done_at.is_(None))
        .order_by(Todo.id)))
    if waiting:
        from saas.billing.reminders.sending import notify_unpaid

        enqueue(notify_unpaid, waiting, tenant_id=tenant_id, queue=MAIL_QUEUE,
                retry=mail_retry(), job_id=f"unpaid-{tenant_id}-{waiting[0]}-{waiting[-1]}")
    return len(filed)


@job
def run_sweep(day: str | None = None) -> dict[str, int]:
    """Scheduler job (billing queue): sweep every tenant on its own today."""
    result = sweep(date.fromisoformat(day) if day else None)
    return {"tenants": result.tenants, "claimed": result.claimed, "jobs": result.jobs,
            "notices": result.notices, "requeued": result.requeued}


def queue_sweep(tenant_id: int, today: date) -> None:
    """Ask for one tenant's sweep now (a staff member's "Run now")."""
    enqueue(run_tenant_sweep, today.isoformat(), tenant_id=tenant_id, queue=BILLING_QUEUE,
            job_id=f"sweep-{tenant_id}-{today}")


@job
def run_tenant_sweep(day: str) -> int:
    """The current tenant's sweep on a given day; returns how many reminders it claimed."""
    return sweep_tenant(date.fromisoformat(day)).claimed
