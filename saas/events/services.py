"""Record domain events and hand them to their consumers after commit."""

from __future__ import annotations

import enum
import json
import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, select, text, update

from saas import clock
from saas.events.models import MAX_ATTEMPTS, DomainEvent
from saas.extensions import db
from saas.queue import EVENTS_QUEUE, enqueue, is_pending, job
from saas.tenants import scoping
from saas.tenants.services import tenants_and_zones

log = logging.getLogger(__name__)

# Every event the product records, with what it means. Consumers (webhook subscriptions,
# automation rules) choose from these; the API documents them.
EVENT_NAMES: dict[str, str] = {
    "customer.created": "A customer was added (by hand, import or API).",
    "document.issued": "A document got its number (a quote sent, an order confirmed, a"
                       " proforma, invoice or credit note issued).",
    "document.sent": "A document was e-mailed to its customer.",
    "document.status_changed": "A document moved from one state to another.",
    "document.paid": "An invoice or proforma became fully paid.",
    "document.overdue": "An invoice passed its due date unpaid.",
    "document.credited": "A credit note was issued against an invoice.",
    "quote.accepted": "A customer (or staff for them) accepted a quote.",
    "payment.received": "A payment from a customer was recorded.",
}

Consumer = Callable[[Sequence[DomainEvent]], None]
_consumers: list[Consumer] = []
BATCH = 500


def consumer(func: Consumer) -> Consumer:
    """Register func(events) to be told of every event, a batch at a time, oldest first
    (registering twice registers once)."""
    if func not in _consumers:
        _consumers.append(func)
    return func


def record_many(rows: Iterable[tuple[str, str, int, dict[str, Any]]], *,
                tenant_id: int | None = None, connection: Connection | None = None) -> int:
    """Write events (name, subject type, subject id, data) of a tenant (the current one
    unless given) into this transaction at once, and ask for their hand-over.

    ``connection``: the flush hook writes through the flushing session's connection.
    """
    now = clock.now()
    tenant_id = tenant_id or scoping.require_tenant_id()
    values = [{"tenant_id": tenant_id, "name": name, "subject_type": subject_type,
               "subject_id": subject_id, "data": {k: plain(v) for k, v in data.items()},
               "occurred_at": now, "attempts": 0}
              for name, subject_type, subject_id, data in rows]
    if not values:
        return 0
    unknown = {value["name"] for value in values} - EVENT_NAMES.keys()
    if unknown:
        raise ValueError(f"Unknown events {sorted(unknown)}.")
    target = connection if connection is not None else db.session
    if (connection or db.session.get_bind()).dialect.name == "postgresql":
        # One statement with the rows as one JSON parameter: a booked bank statement
        # records tens of thousands, which executemany would send row by row.
        target.execute(_INSERT_ROWS, {"t": tenant_id, "now": now, "rows": json.dumps(
            [{k: v[k] for k in ("name", "subject_type", "subject_id", "data")}
             for v in values])})
    else:
        target.execute(DomainEvent.__table__.insert(), values)
    schedule_dispatch(tenant_id)
    return len(values)


_INSERT_ROWS = text(
    "INSERT INTO domain_events (tenant_id, name, subject_type, subject_id, data, occurred_at,"
    " attempts) SELECT :t, r.name, r.subject_type, r.subject_id, r.data, :now, 0"
    " FROM json_to_recordset(CAST(:rows AS json))"
    " AS r(name text, subject_type text, subject_id int, data json)")


def schedule_dispatch(tenant_id: int) -> None:
    """Ask for the tenant's events to be handed over once this transaction commits (once:
    a dispatch this transaction asked for already will find these too)."""
    # Not unique: a dispatch already queued may have started before this commit, so it
    # could miss these rows; a second run finds nothing and costs one query.
    if not is_pending(dispatch_events, tenant_id=tenant_id):
        enqueue(dispatch_events, tenant_id=tenant_id, queue=EVENTS_QUEUE, unique=False)


def plain(value: Any) -> Any:
    """The JSON form of a value: exact decimals and dates as strings."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(item) for item in value]
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    return value


@job
def dispatch_events() -> int:
    """Job: hand the current tenant's new events to the consumers; returns how many."""
    return dispatch_all()


def dispatch_all() -> int:
    """Hand over all the current tenant's pending events, batch after batch, each committed.

    In one loop: a job asking for the next batch would, in-process (no Redis), run inside
    this one's commit, one connection deeper per batch.
    """
    handed = 0
    while True:
        count = dispatch_pending()
        handed += count
        db.session.commit()
        if count < BATCH:
            return handed


def dispatch_pending(limit: int | None = None) -> int:
    """Hand up to ``limit`` of the current tenant's pending events over, oldest first;
    return how many went (those a consumer failed on stay pending).

    Each consumer gets the whole batch at once (one query for its rules, not one per
    event), in a savepoint; when it fails on the batch, it is given the events one by
    one, so only the event it fails on stays pending (with the error) and the others go.
    Rows are claimed with SKIP LOCKED: two dispatchers of one tenant share the work
    instead of handing the same event over twice.
    """
    statement = (select(DomainEvent).where(DomainEvent.dispatched_at.is_(None),
                                           DomainEvent.attempts < MAX_ATTEMPTS)
                 .order_by(DomainEvent.id).limit(limit or BATCH))
    if db.session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update(skip_locked=True)
    events = db.session.scalars(statement).all()
    if not events:
        return 0
    failed: dict[int, str] = {}
    for func in _consumers:
        if _hand_over(func, events) is None:
            continue
        for domain_event in events:  # find the one (or ones) it fails on
            if domain_event.id not in failed:
                error = _hand_over(func, [domain_event])
                if error is not None:
                    failed[domain_event.id] = error
    for domain_event in events:
        if domain_event.id in failed:
            domain_event.attempts += 1
            domain_event.last_error = failed[domain_event.id][:2000]
    done = [domain_event.id for domain_event in events if domain_event.id not in failed]
    if done:
        db.session.execute(update(DomainEvent).where(DomainEvent.id.in_(done))
                           .values(dispatched_at=clock.now())
                           .execution_options(synchronize_session="fetch"))
    db.session.flush()
    return len(done)


def _hand_over(func: Consumer, events: Sequence[DomainEvent]) -> str | None:
    """Give the events to one consumer in a savepoint: None, or the error it was undone for."""
    try:
        with db.session.begin_nested():
            func(events)
    except Exception as exc:  # noqa: BLE001 - kept on the event, retried by the sweep
        log.exception("a consumer failed on events %s", [event.id for event in events][:5])
        return f"{type(exc).__name__}: {exc}"
    return None


def sweep_pending(older_than: timedelta = timedelta(minutes=2)) -> dict[int, int]:
    """Hand over every tenant's events that a lost job left behind; {tenant_id: count}."""
    before, handed = clock.now() - older_than, {}
    for tenant_id, _ in tenants_and_zones():
        with scoping.tenant_context(tenant_id):
            waiting = db.session.scalar(
                select(DomainEvent.id).where(DomainEvent.dispatched_at.is_(None),
                                             DomainEvent.attempts < MAX_ATTEMPTS,
                                             DomainEvent.occurred_at < before).limit(1))
            if waiting is not None:
                handed[tenant_id] = dispatch_all()
        db.session.commit()
    return handed


@job
def run_event_sweep() -> int:
    """Scheduler job: hand over the events whose hand-over was lost; returns how many."""
    return sum(sweep_pending().values())
