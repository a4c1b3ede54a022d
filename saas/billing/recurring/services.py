"""Recurring invoices (R4.5): set one up from an invoice, pause, resume, stop, and run them.

``run(today)`` makes every occurrence due by today that does not exist yet, each in its own
transaction under a lock on its schedule, and records it under a unique (schedule, date)
key: running twice, or again after a worker died, makes nothing twice; a day the worker
was down is caught up once at the next run, not skipped. Each occurrence is a new draft
invoice copying the template's customer, currency, language, notes and lines — with
``{month}``, ``{year}``, ``{period}`` and ``{date}`` in line texts filled in for the
occurrence, in the invoice's language — issued (and e-mailed) at once if the schedule
says so. The template itself is never changed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from babel.dates import format_date
from sqlalchemy import select

from saas import clock
from saas.billing.documents import issuing
from saas.billing.documents.conversion import COPIED_LINE_FIELDS
from saas.billing.documents.delivery import send_document
from saas.billing.documents.i18n import LOCALES, language_of
from saas.billing.documents.models import Document, DocumentLine
from saas.billing.documents.services import DocumentError, create_document, recalculate
from saas.billing.documents.states import DocumentKind as K
from saas.billing.recurring import schedule
from saas.billing.recurring.models import RecurringInvoice, RecurringOccurrence, RecurringStatus
from saas.billing.recurring.schedule import Ending, Unit
from saas.extensions import db
from saas.queue import BILLING_QUEUE, enqueue, job
from saas.tenants import audit, scoping
from saas.tenants.models import Tenant
from saas.tenants.services import tenants_and_zones


class RecurringError(ValueError):
    """A refused change, with the form field it concerns."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def create(source: Document, values: dict[str, Any], user_id: int | None = None,
           today: date | None = None) -> RecurringInvoice:
    """Repeat the invoice on a schedule starting on a date (today or later)."""
    if source.kind != K.INVOICE:
        raise RecurringError("Only an invoice can be repeated.")
    today = today or clock.today_in(_tenant().timezone)
    every, start = values.get("every"), values.get("start_date")
    if not every or every < 1 or every > 366:
        raise RecurringError("Repeat every 1 to 366 days, weeks, months or years.", "every")
    if start is None or start < today:
        raise RecurringError("The first invoice is made today or later: choose a date from"
                             f" {today.isoformat()}.", "start_date")
    ending = Ending(values.get("ending") or Ending.NEVER)
    until, count = values.get("until_date"), values.get("max_count")
    if ending == Ending.UNTIL and (until is None or until < start):
        raise RecurringError("Give the last date, on or after the first.", "until_date")
    if ending == Ending.COUNT and (not count or count < 1):
        raise RecurringError("Give how many invoices to make (1 or more).", "max_count")
    recurring = RecurringInvoice(
        source_id=source.id, customer_id=source.customer_id, every=every,
        unit=Unit(values.get("unit") or Unit.MONTHS), start_date=start, ending=ending,
        until_date=until if ending == Ending.UNTIL else None,
        max_count=count if ending == Ending.COUNT else None, next_date=start,
        issue=bool(values.get("issue")), send=bool(values.get("issue") and values.get("send")),
        note=(values.get("note") or "").strip()[:2000], created_by_id=user_id)
    db.session.add(recurring)
    db.session.flush()
    audit.record("recurring.created", source,
                 f"{source.title} repeats {describe(recurring)}", user_id=user_id)
    return recurring


def describe(recurring: RecurringInvoice) -> str:
    unit = recurring.unit.value.rstrip("s") if recurring.every == 1 else recurring.unit.value
    every = f"every {unit}" if recurring.every == 1 else f"every {recurring.every} {unit}"
    end = {Ending.NEVER: "until stopped",
           Ending.UNTIL: f"until {recurring.until_date}",
           Ending.COUNT: f"{recurring.max_count} times"}[recurring.ending]
    return f"{every} from {recurring.start_date}, {end}"


def set_status(recurring: RecurringInvoice, status: RecurringStatus,
               user_id: int | None = None) -> None:
    """Pause, resume or stop a schedule (a stopped or finished one stays so)."""
    if recurring.status in (RecurringStatus.STOPPED, RecurringStatus.FINISHED):
        raise RecurringError(f"This schedule is {recurring.status.value}: set up a new one.")
    allowed = {RecurringStatus.ACTIVE: {RecurringStatus.PAUSED, RecurringStatus.STOPPED},
               RecurringStatus.PAUSED: {RecurringStatus.ACTIVE, RecurringStatus.STOPPED}}
    if status not in allowed[recurring.status]:
        raise RecurringError(f"It is {recurring.status.value} already.")
    recurring.status = status
    audit.record(f"recurring.{status.value}", recurring.source,
                 f"Repeating {recurring.source.title}: {status.value}", user_id=user_id)


# --- running -----------------------------------------------------------------------------


@dataclass
class RunResult:
    schedules: int = 0
    made: int = 0
    failed: int = 0


def run(today: date | None = None, tenant_ids: Iterable[int] | None = None) -> RunResult:
    """Make every due occurrence of every tenant's active schedules (each tenant's today)."""
    tenants = tenants_and_zones(tenant_ids)
    result = RunResult()
    for tenant_id, timezone in tenants:
        with scoping.tenant_context(tenant_id):
            day = today or clock.today_in(timezone)
            due = db.session.scalars(
                select(RecurringInvoice.id).where(
                    RecurringInvoice.status == RecurringStatus.ACTIVE,
                    RecurringInvoice.next_date <= day)
                .order_by(RecurringInvoice.id)).all()
            db.session.commit()
            for recurring_id in due:
                result.schedules += 1
                made, failed = run_one(recurring_id, day)
                result.made += made
                result.failed += failed
    return result


def run_one(recurring_id: int, today: date) -> tuple[int, int]:
    """Make one schedule's due occurrences, one transaction each; (made, failed)."""
    made = 0
    while True:
        recurring = db.session.scalar(
            select(RecurringInvoice).where(RecurringInvoice.id == recurring_id)
            .with_for_update())
        if (recurring is None or recurring.status != RecurringStatus.ACTIVE
                or recurring.next_date is None or recurring.next_date > today):
            db.session.commit()
            return made, 0
        index, day = recurring.made_count, recurring.next_date
        exists = db.session.scalar(select(RecurringOccurrence.id).where(
            RecurringOccurrence.recurring_id == recurring.id,
            RecurringOccurrence.occurrence_date == day))
        try:
            document_id = None if exists else _make(recurring, day)
        except DocumentError as exc:
            db.session.rollback()
            _failed(recurring_id, str(exc))
            return made, 1
        if not exists:
            db.session.add(RecurringOccurrence(recurring_id=recurring.id, occurrence_date=day,
                                               document_id=document_id))
            made += 1
        _advance(recurring, index + 1)
        db.session.commit()


def _advance(recurring: RecurringInvoice, next_index: int) -> None:
    recurring.made_count, recurring.last_error = next_index, ""
    if schedule.is_finished(recurring.start_date, recurring.every, recurring.unit, next_index,
                            until=recurring.until_date, count=recurring.max_count):
        recurring.status, recurring.next_date = RecurringStatus.FINISHED, None
    else:
        recurring.next_date = schedule.occurrence(recurring.start_date, recurring.every,
                                                  recurring.unit, next_index)


def _failed(recurring_id: int, error: str) -> None:
    recurring = db.session.get(RecurringInvoice, recurring_id)
    recurring.last_error = error[:2000]
    db.session.commit()


def _make(recurring: RecurringInvoice, day: date) -> int:
    """The occurrence's invoice: a copy of the template, issued and sent if asked."""
    source = recurring.source
    draft = create_document(
        K.INVOICE, source.customer,
        {"currency": source.currency, "language": source.language,
         "payment_terms_days": source.payment_terms_days, "notes": source.notes},
        user_id=recurring.created_by_id)
    for position, line in enumerate(source.lines, start=1):
        copy = DocumentLine(position=position,
                            **{name: getattr(line, name) for name in COPIED_LINE_FIELDS})
        copy.description = fill(line.description, day, draft.language)
        draft.lines.append(copy)
    recalculate(draft)
    db.session.flush()
    if recurring.issue:
        issuing.issue_document(draft)
        if recurring.send:
            send_document(draft)
    return draft.id


def fill(text: str, day: date, language: str) -> str:
    """Put the occurrence's month, year, period and date into a line text."""
    if "{" not in text:
        return text
    locale = LOCALES[language_of(language)]
    values = {
        "{month}": format_date(day, "LLLL", locale=locale),
        "{year}": str(day.year),
        "{period}": format_date(day, "LLLL y", locale=locale),
        "{date}": format_date(day, "medium", locale=locale),
    }
    for placeholder, value in values.items():
        text = text.replace(placeholder, value)
    return text


def _tenant() -> Tenant:
    return db.session.get(Tenant, scoping.require_tenant_id())


@job
def run_recurring(day: str | None = None) -> dict[str, int]:
    """Scheduler job (billing queue): make the recurring invoices that are due."""
    result = run(date.fromisoformat(day) if day else None)
    return {"schedules": result.schedules, "made": result.made, "failed": result.failed}


def queue_run(tenant_id: int, today: date) -> None:
    """Ask for one tenant's due recurring invoices now."""
    enqueue(run_recurring_tenant, today.isoformat(), tenant_id=tenant_id, queue=BILLING_QUEUE,
            job_id=f"recurring-{tenant_id}-{today}")


@job
def run_recurring_tenant(day: str) -> int:
    """The current tenant's due occurrences on a day; returns how many were made."""
    return run(date.fromisoformat(day), [scoping.require_tenant_id()]).made
