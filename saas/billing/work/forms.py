"""Forms of projects, tasks, time, the stopwatch, billing rules and the items inbox."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from wtforms import BooleanField, DateField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional

from saas.billing.catalog.forms import (
    NONE_CHOICE,
    CatalogForm,
    customer_choices,
    id_field,
    product_choices,
    quantity_field,
    text_field,
)
from saas.billing.work.items import EVENTS
from saas.billing.work.models import (
    Activity,
    Project,
    ProjectStatus,
    QuantityMode,
    Task,
    TaskStatus,
    WorkKind,
)
from saas.billing.work.rules import parse_duration
from saas.extensions import db
from saas.forms import choices, strip
from saas.tenants.models import Membership, User


def activity_choices() -> list[SelectChoice]:
    activities = db.session.scalars(
        select(Activity).where(Activity.is_archived.is_(False)).order_by(Activity.name)
    )
    return [NONE_CHOICE, *(SelectChoice(str(a.id), a.name) for a in activities)]


def member_choices() -> list[SelectChoice]:
    users = db.session.execute(
        select(User.id, User.name)
        .join(Membership, Membership.user_id == User.id)
        .order_by(User.name)
    )
    return [NONE_CHOICE, *(SelectChoice(str(user_id), name) for user_id, name in users)]


def open_task_choices() -> list[SelectChoice]:
    """Open tasks of open projects, grouped by customer and project in their labels."""
    rows = db.session.execute(
        select(Task.id, Task.title, Project.name)
        .join(Project, Task.project_id == Project.id)
        .where(Task.status == TaskStatus.OPEN, Project.status == ProjectStatus.OPEN)
        .order_by(Project.name, Task.position)
        .limit(500)
    )
    return [
        NONE_CHOICE,
        *(SelectChoice(str(task_id), f"{project} · {title}") for task_id, title, project in rows),
    ]


KIND_CHOICES = choices((kind.value, kind.label) for kind in WorkKind)


class Duration(StringField):
    """Time worked as typed ("1:30", "1.5", "90m"), read as whole minutes."""

    def process_formdata(self, valuelist: list[str]) -> None:
        self.raw = valuelist[0] if valuelist else ""
        self.data = None
        if self.raw.strip():
            try:
                self.data = parse_duration(self.raw)
            except ValueError as exc:
                raise ValueError(str(exc)) from None

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        return f"{self.data // 60}:{self.data % 60:02d}" if self.data else ""


class ProjectForm(CatalogForm):
    customer_id = id_field("Customer", "Choose the customer.")
    name = text_field("Name", 200)
    description = TextAreaField("Description", filters=[strip], validators=[Length(max=5000)])
    bill_on_completion = BooleanField(
        "Bill everything when the project is closed (else bill work in progress)"
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.customer_id.choices = customer_choices(self.customer_id.data)


class TaskForm(CatalogForm):
    title = text_field("Task", 200)
    assignee_id = id_field("Assignee")
    estimate_hours = quantity_field("Estimate (hours)", "An estimate is above 0 hours.")
    activity_id = id_field("Activity")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.assignee_id.choices = member_choices()
        self.activity_id.choices = activity_choices()


class TimeEntryForm(CatalogForm):
    task_id = id_field("Task", "Choose the task.")
    work_date = DateField("Day", validators=[InputRequired(message="Enter the day.")])
    minutes = Duration(
        "Time (1:30, 1.5 or 90m)", validators=[InputRequired(message="Enter the time worked.")]
    )
    kind = SelectField("Kind of work", choices=KIND_CHOICES, default=WorkKind.BILLABLE.value)
    activity_id = id_field("Activity (blank: the task's)")
    description = TextAreaField("What was done", filters=[strip], validators=[Length(max=2000)])

    def __init__(self, *args: Any, tasks: list[SelectChoice] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.task_id.choices = tasks if tasks is not None else open_task_choices()
        self.activity_id.choices = activity_choices()


class TimerForm(CatalogForm):
    task_id = id_field("Task", "Choose the task to time.")
    kind = SelectField("Kind of work", choices=KIND_CHOICES, default=WorkKind.BILLABLE.value)
    description = StringField(
        "What you are doing", filters=[strip], validators=[Optional(), Length(max=2000)]
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.task_id.choices = open_task_choices()


class ActivityForm(CatalogForm):
    name = text_field("Activity", 100)


class RuleForm(CatalogForm):
    name = text_field("Name", 100)
    event = SelectField("When", choices=[])
    activity_id = id_field("Of the activity (blank: any)")
    product_id = id_field("Bill the product", "Choose the product to bill.")
    quantity_mode = SelectField(
        "Quantity",
        choices=choices((mode.value, mode.label) for mode in QuantityMode),
        default=QuantityMode.HOURS.value,
    )
    fixed_quantity = quantity_field("Fixed quantity", "A fixed quantity is above 0.")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.event.choices = choices(EVENTS.items())
        self.activity_id.choices = activity_choices()
        self.product_id.choices = product_choices(self.product_id.data)


class WriteOffForm(CatalogForm):
    reason = text_field("Reason", 1000)


class PeriodForm(CatalogForm):
    """The inbox's period: items that occurred from one day to another."""

    date_from = DateField("From", validators=[Optional()])
    date_to = DateField("To", validators=[Optional()])
