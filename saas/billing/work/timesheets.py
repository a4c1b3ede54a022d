"""Time entries (R5.2, R5.3): recorded by hand or by the stopwatch, corrected with history.

Every entry is billable, internal or bug-fix work. A billable entry is an event for the
billing rules ("time_entry", with its activity): the worker records time, the rules
decide what is billed. Changing an entry captures it again (its open items follow the
new hours); making it internal or deleting it withdraws its items. An entry whose item
is invoiced keeps its hours, task, kind and activity until that invoice line is credited.
Each correction is kept as a revision: who changed which fields from what to what.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from saas.billing.contracts.models import Contract
from saas.billing.work import items
from saas.billing.work.items import BillingError
from saas.billing.work.models import (
    Activity,
    BillableItem,
    ItemStatus,
    Project,
    ProjectStatus,
    Task,
    TimeEntry,
    TimeEntryRevision,
    WorkKind,
)
from saas.billing.work.rules import format_minutes
from saas.extensions import db
from saas.tenants.models import User

SOURCE = "time_entry"
MAX_MINUTES = 24 * 60
# What a correction may change, and how a revision shows each value.
CORRECTABLE = ("task_id", "work_date", "minutes", "kind", "activity_id", "description")
BILLED_FIELDS = frozenset({"task_id", "work_date", "minutes", "kind", "activity_id"})


def _checked(values: dict[str, Any]) -> dict[str, Any]:
    """The entry's values, each checked; a BillingError names the first bad field."""
    task = db.session.get(Task, values.get("task_id") or 0)
    if task is None:
        raise BillingError("Choose a task of this company.", "task_id")
    if task.project.status == ProjectStatus.CLOSED:
        raise BillingError(
            f"Project {task.project.name} is closed: reopen it to record time on it.", "task_id"
        )
    work_date = values.get("work_date")
    if not isinstance(work_date, date):
        raise BillingError("Enter the day the work was done.", "work_date")
    minutes = values.get("minutes")
    if (
        not isinstance(minutes, int)
        or isinstance(minutes, bool)
        or not (0 < minutes <= MAX_MINUTES)
    ):
        raise BillingError("Enter the time worked: more than 0 and at most 24 hours.", "minutes")
    try:
        kind = WorkKind(values.get("kind") or WorkKind.BILLABLE)
    except ValueError:
        raise BillingError("Choose billable, internal or bug-fix work.", "kind") from None
    activity_id = values.get("activity_id") or None
    if activity_id is not None and db.session.get(Activity, activity_id) is None:
        raise BillingError("Choose an activity of this company.", "activity_id")
    description = (values.get("description") or "").strip()
    if len(description) > 2000:
        raise BillingError("Describe the work in at most 2,000 characters.", "description")
    return {
        "task_id": task.id,
        "project_id": task.project_id,
        "work_date": work_date,
        "minutes": minutes,
        "kind": kind,
        "activity_id": activity_id,
        "description": description,
    }


def record_entry(
    user: User,
    values: dict[str, Any],
    *,
    started_at: datetime | None = None,
    stopped_at: datetime | None = None,
    recorded_by: int | None = None,
) -> TimeEntry:
    """Record time worked by the user on a task; billable time goes to the rules."""
    checked = _checked(values)
    entry = TimeEntry(
        user_id=user.id,
        started_at=started_at,
        stopped_at=stopped_at,
        created_by_id=recorded_by or user.id,
        **checked,
    )
    db.session.add(entry)
    db.session.flush()
    capture_entry(entry)
    return entry


def capture_entry(entry: TimeEntry) -> list[BillableItem]:
    """Hand the entry to the billing rules (billable work), or withdraw its items."""
    db.session.refresh(entry, ["task", "activity"])
    if entry.kind != WorkKind.BILLABLE:
        items.withdraw(SOURCE, entry.id)
        return []
    task = entry.task
    project: Project = task.project
    activity = entry.activity or task.activity
    text = f"{project.name}: {task.title}"
    if entry.description:
        text = f"{text} — {entry.description}"
    user = db.session.get(User, entry.user_id)
    return items.capture(
        event="time_entry",
        customer=project.customer,
        source_type=SOURCE,
        source_id=entry.id,
        occurred_on=entry.work_date,
        quantity=entry.hours,
        activity=activity,
        description=f"{text} ({user.name})",
        project_id=project.id,
        contract=db.session.get(Contract, project.contract_id) if project.contract_id else None,
    )


def _shown(name: str, value: Any) -> str:
    if value is None:
        return ""
    if name == "minutes":
        return format_minutes(value)
    if name == "task_id":
        task = db.session.get(Task, value)
        return task.title if task else str(value)
    if name == "activity_id":
        activity = db.session.get(Activity, value)
        return activity.name if activity else str(value)
    return str(value.value if isinstance(value, WorkKind) else value)


def invoiced_items(entry: TimeEntry) -> list[BillableItem]:
    return [
        item
        for item in items.items_of_source(SOURCE, [entry.id])
        if item.status == ItemStatus.INVOICED
    ]


def correct_entry(
    entry: TimeEntry, values: dict[str, Any], *, user_id: int | None = None
) -> TimeEntryRevision | None:
    """Correct an entry afterwards; the revision says who changed what (None: no change)."""
    checked = _checked({**{name: getattr(entry, name) for name in CORRECTABLE}, **values})
    changes = {
        name: [_shown(name, getattr(entry, name)), _shown(name, checked[name])]
        for name in CORRECTABLE
        if getattr(entry, name) != checked[name]
    }
    if not changes:
        return None
    billed = invoiced_items(entry)
    if billed and BILLED_FIELDS & changes.keys():
        line = billed[0].document_line
        where = f" on {line.document.title}" if line is not None else ""
        raise BillingError(
            f"This time is invoiced{where}: credit that invoice line before"
            " correcting its hours, task, kind or activity.",
            "minutes",
        )
    for name in CORRECTABLE:
        setattr(entry, name, checked[name])
    entry.project_id = checked["project_id"]
    revision = TimeEntryRevision(time_entry_id=entry.id, changed_by_id=user_id, changes=changes)
    db.session.add(revision)
    db.session.flush()
    if not billed:
        capture_entry(entry)
    return revision


def delete_entry(entry: TimeEntry) -> None:
    """Delete an entry and withdraw its open items (refused once invoiced)."""
    items.withdraw(SOURCE, entry.id)
    db.session.delete(entry)
    db.session.flush()
