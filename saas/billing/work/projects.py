"""Projects and their tasks (R5.1), and billing them as the work goes or at the end (R5.4).

A project belongs to a customer; an order confirmation can become one, its lines becoming
the tasks. Closing a task is an event the billing rules may bill ("task_closed", with the
task's estimate as the entered amount); reopening it withdraws what that made, unless it
is invoiced. A project bills work in progress — its open items up to a day — or, when it
is billed on completion, all its open items once it is closed. Callers commit.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from saas import clock
from saas.billing.contracts.models import Contract
from saas.billing.customers.models import Customer
from saas.billing.documents.models import Document
from saas.billing.documents.states import DocumentKind
from saas.billing.work import items
from saas.billing.work.items import BillingError
from saas.billing.work.models import (
    Activity,
    BillableItem,
    ItemStatus,
    Project,
    ProjectStatus,
    Task,
    TaskStatus,
)
from saas.extensions import db
from saas.tenants import audit
from saas.tenants.models import Membership

WorkError = BillingError
ESTIMATE_LIMIT = Decimal(100_000)


def _text(values: dict[str, Any], name: str, label: str, limit: int, required: bool = True) -> str:
    value = (values.get(name) or "").strip()
    if required and not value:
        raise WorkError(f"Enter the {label}.", name)
    if len(value) > limit:
        raise WorkError(f"The {label} is at most {limit} characters.", name)
    return value


def _member(user_id: int | None) -> int | None:
    """A member of this tenant, or none (a task nobody is assigned to)."""
    if not user_id:
        return None
    found = db.session.scalar(select(Membership.user_id).where(Membership.user_id == user_id))
    if found is None:
        raise WorkError("Choose a member of this company as the assignee.", "assignee_id")
    return found


def _estimate(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    if not isinstance(value, Decimal | int) or isinstance(value, bool):
        raise WorkError("Enter the estimate in hours, as a number.", "estimate_hours")
    if not 0 <= value < ESTIMATE_LIMIT:
        raise WorkError("An estimate is 0 to 99,999 hours.", "estimate_hours")
    return Decimal(value)


def _activity(activity_id: int | None) -> int | None:
    if not activity_id:
        return None
    activity = db.session.get(Activity, activity_id)
    if activity is None:
        raise WorkError("Choose an activity of this company.", "activity_id")
    return activity.id


def create_project(
    customer: Customer, values: dict[str, Any], *, user_id: int | None = None
) -> Project:
    """Start a project (or order) for the customer."""
    if customer.is_archived:
        raise WorkError(f"Customer {customer.number} {customer.name} is archived.", "customer_id")
    contract_id = values.get("contract_id") or None
    if contract_id:
        contract = db.session.get(Contract, contract_id)
        if contract is None or contract.customer_id != customer.id:
            raise WorkError(f"Choose a contract of {customer.name}.", "contract_id")
    project = Project(
        customer_id=customer.id,
        customer=customer,
        name=_text(values, "name", "project's name", 200),
        description=_text(values, "description", "description", 5000, required=False),
        bill_on_completion=bool(values.get("bill_on_completion")),
        contract_id=contract_id,
        order_id=values.get("order_id"),
        created_by_id=user_id,
    )
    db.session.add(project)
    db.session.flush()
    audit.record(
        "work.project_created",
        project,
        f"Project {project.name} for {customer.name}",
        user_id=user_id,
    )
    return project


def update_project(project: Project, values: dict[str, Any]) -> None:
    """Change a project's name, description, contract and billing mode."""
    project.name = _text(values, "name", "project's name", 200)
    project.description = _text(values, "description", "description", 5000, required=False)
    project.bill_on_completion = bool(values.get("bill_on_completion"))


def add_task(project: Project, values: dict[str, Any]) -> Task:
    """Add a task with an assignee and an effort estimate (R5.1)."""
    if project.status == ProjectStatus.CLOSED:
        raise WorkError(f"Project {project.name} is closed: reopen it to add tasks.", "title")
    task = Task(
        project=project,
        title=_text(values, "title", "task's title", 200),
        assignee_id=_member(values.get("assignee_id")),
        estimate_hours=_estimate(values.get("estimate_hours")),
        activity_id=_activity(values.get("activity_id")),
        order_line_id=values.get("order_line_id"),
        position=max((task.position for task in project.tasks), default=0) + 1,
    )
    db.session.add(task)
    db.session.flush()
    return task


def update_task(task: Task, values: dict[str, Any]) -> None:
    """Change a task's title, assignee, estimate or activity."""
    title = _text(values, "title", "task's title", 200)
    assignee_id = _member(values.get("assignee_id"))
    estimate = _estimate(values.get("estimate_hours"))
    activity_id = _activity(values.get("activity_id"))
    task.title, task.assignee_id, task.estimate_hours, task.activity_id = (
        title,
        assignee_id,
        estimate,
        activity_id,
    )


def close_task(task: Task, *, user_id: int | None = None) -> list[BillableItem]:
    """Mark a task done; the rules for "task closed" may bill it. The items made."""
    if task.status == TaskStatus.DONE:
        raise WorkError(f"{task.title} is done already.")
    task.status = TaskStatus.DONE
    task.done_at = clock.now()
    project = task.project
    made = items.capture(
        event="task_closed",
        customer=project.customer,
        source_type="task",
        source_id=task.id,
        occurred_on=clock.now().date(),
        quantity=task.estimate_hours or Decimal(0),
        activity=task.activity,
        description=f"{project.name}: {task.title}",
        project_id=project.id,
        contract=_contract(project),
    )
    audit.record("work.task_closed", task, f"{project.name}: {task.title} done", user_id=user_id)
    return made


def reopen_task(task: Task, *, user_id: int | None = None) -> None:
    """Open a done task again; what closing it billed is withdrawn (unless invoiced)."""
    if task.status != TaskStatus.DONE:
        raise WorkError(f"{task.title} is not done.")
    items.withdraw("task", task.id)
    task.status = TaskStatus.OPEN
    task.done_at = None
    audit.record(
        "work.task_reopened", task, f"{task.project.name}: {task.title} reopened", user_id=user_id
    )


def _contract(project: Project) -> Contract | None:
    return db.session.get(Contract, project.contract_id) if project.contract_id else None


def open_items_of(project: Project, up_to: date | None = None) -> list[BillableItem]:
    statement = select(BillableItem).where(
        BillableItem.project_id == project.id, BillableItem.status == ItemStatus.OPEN
    )
    if up_to is not None:
        statement = statement.where(BillableItem.occurred_on <= up_to)
    return list(db.session.scalars(statement.order_by(BillableItem.occurred_on, BillableItem.id)))


def bill_progress(project: Project, up_to: date, *, user_id: int | None = None) -> Document:
    """Bill the work done so far (R5.4): the project's open items up to the day."""
    if project.bill_on_completion and project.status != ProjectStatus.CLOSED:
        raise WorkError(
            f"Project {project.name} is billed on completion: close it to bill"
            " it, or change it to bill work in progress.",
            "up_to",
        )
    found = open_items_of(project, up_to)
    if not found:
        raise WorkError(f"Project {project.name} has no open items up to {up_to}.", "up_to")
    return items.bill_items(project.customer, [item.id for item in found], user_id=user_id)


def close_project(project: Project, *, user_id: int | None = None) -> Document | None:
    """Close the project; billed on completion, all its open items go on one draft invoice."""
    if project.status == ProjectStatus.CLOSED:
        raise WorkError(f"Project {project.name} is closed already.")
    project.status = ProjectStatus.CLOSED
    project.closed_at = clock.now()
    audit.record("work.project_closed", project, f"Project {project.name} closed", user_id=user_id)
    if not project.bill_on_completion:
        return None
    found = open_items_of(project)
    if not found:
        return None
    return items.bill_items(project.customer, [item.id for item in found], user_id=user_id)


def reopen_project(project: Project, *, user_id: int | None = None) -> None:
    if project.status != ProjectStatus.CLOSED:
        raise WorkError(f"Project {project.name} is open.")
    project.status = ProjectStatus.OPEN
    project.closed_at = None
    audit.record(
        "work.project_reopened", project, f"Project {project.name} reopened", user_id=user_id
    )


def project_from_order(order: Document, *, user_id: int | None = None) -> Project:
    """Make an issued order confirmation a project: each of its lines becomes a task."""
    if order.kind != DocumentKind.ORDER or order.is_draft:
        raise WorkError("Only an issued order confirmation can become a project.")
    existing = db.session.scalar(select(Project).where(Project.order_id == order.id))
    if existing is not None:
        raise WorkError(f"{order.title} is project {existing.name} already.")
    project = create_project(
        order.customer,
        {
            "name": f"{order.title} {order.customer.name}"[:200],
            "description": order.notes,
            "order_id": order.id,
        },
        user_id=user_id,
    )
    for line in order.lines:
        hours = line.quantity if (line.unit or "").lower() in ("h", "hour", "hours") else None
        add_task(
            project,
            {
                "title": line.description.splitlines()[0][:200] or "Task",
                "estimate_hours": hours,
                "order_line_id": line.id,
            },
        )
    return project
