"""Work that becomes billable (R5): projects and tasks, time, billing rules, billable items.

A project (or order) belongs to a customer and holds tasks; people record time on tasks,
by hand or with the stopwatch (``WorkTimer``: one running per user, the others paused in
a queue). What must be billed becomes a ``BillableItem`` — made by the tenant's
``BillingRule``s from an event (a time entry of an activity, a task closed ...) or given
a product by the source itself — and waits, open, in the customer's inbox until someone
pulls it onto an invoice; the item then names the invoice line that billed it.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from saas.billing.catalog.models import Product
from saas.billing.customers.models import Customer, Site
from saas.billing.documents.models import DocumentLine
from saas.billing.tax import line_net
from saas.billing.work.rules import hours_of
from saas.columns import MONEY, QUANTITY, string_enum
from saas.extensions import db
from saas.tenants.models import User, utcnow
from saas.tenants.scoping import TenantScoped


class ProjectStatus(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class TaskStatus(enum.StrEnum):
    OPEN = "open"
    DONE = "done"


class WorkKind(enum.StrEnum):
    """What a time entry is (R5.3): only billable work reaches the billing rules."""

    BILLABLE = "billable"
    INTERNAL = "internal"
    BUG_FIX = "bug_fix"

    @property
    def label(self) -> str:
        return {"billable": "Billable", "internal": "Internal", "bug_fix": "Bug fix"}[self.value]


class ItemStatus(enum.StrEnum):
    OPEN = "open"
    INVOICED = "invoiced"
    WRITTEN_OFF = "written_off"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


class QuantityMode(enum.StrEnum):
    """How a billing rule sets an item's quantity (see rules.py)."""

    HOURS = "hours"  # the source's hours, rounded by the product's rule
    FIXED = "fixed"  # the rule's fixed quantity
    ENTERED = "entered"  # the amount entered on the source, as entered

    @property
    def label(self) -> str:
        return {
            "hours": "Hours, rounded by the product's rule",
            "fixed": "A fixed quantity",
            "entered": "The amount entered",
        }[self.value]


class Activity(TenantScoped, db.Model):
    """A kind of work (development, consulting, travel): rules bill by it."""

    __tablename__ = "work_activities"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    is_archived: Mapped[bool] = mapped_column(default=False)


class CostRate(TenantScoped, db.Model):
    """What an hour of a member's time costs the company (R5.11: a project's cost of time)."""

    __tablename__ = "work_cost_rates"
    __table_args__ = (
        UniqueConstraint("tenant_id", "user_id"),
        CheckConstraint("hourly_cost >= 0", name="hourly_cost_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # In the tenant's currency, per hour.
    hourly_cost: Mapped[Decimal] = mapped_column(MONEY)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    user: Mapped[User] = relationship()


class Project(TenantScoped, db.Model):
    """A project or order for a customer (R5.1), maybe made from an order confirmation."""

    __tablename__ = "projects"
    __table_args__ = (
        Index("ix_projects_tenant_customer", "tenant_id", "customer_id"),
        # An order confirmation becomes one project at most.
        UniqueConstraint("tenant_id", "order_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="RESTRICT"))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[ProjectStatus] = mapped_column(
        string_enum(ProjectStatus), default=ProjectStatus.OPEN
    )
    # R5.4: bill as the work goes (work in progress), or everything once it is closed.
    bill_on_completion: Mapped[bool] = mapped_column(default=False)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id", ondelete="SET NULL"))
    # The contract whose prepaid volumes (R4.6) the project's work uses first.
    contract_id: Mapped[int | None] = mapped_column(ForeignKey("contracts.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    customer: Mapped[Customer] = relationship()
    tasks: Mapped[list[Task]] = relationship(
        back_populates="project", order_by="Task.position", cascade="all, delete-orphan"
    )


class Task(TenantScoped, db.Model):
    """A piece of a project with an assignee and an effort estimate (R5.1)."""

    __tablename__ = "tasks"
    __table_args__ = (
        Index("ix_tasks_tenant_project", "tenant_id", "project_id"),
        CheckConstraint(
            "estimate_hours IS NULL OR estimate_hours >= 0", name="estimate_not_negative"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(default=1)
    title: Mapped[str] = mapped_column(String(200))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    estimate_hours: Mapped[Decimal | None] = mapped_column(QUANTITY)
    # The activity time on this task is recorded as, unless the entry says otherwise.
    activity_id: Mapped[int | None] = mapped_column(
        ForeignKey("work_activities.id", ondelete="SET NULL")
    )
    status: Mapped[TaskStatus] = mapped_column(string_enum(TaskStatus), default=TaskStatus.OPEN)
    order_line_id: Mapped[int | None] = mapped_column(
        ForeignKey("document_lines.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    project: Mapped[Project] = relationship(back_populates="tasks")
    assignee: Mapped[User | None] = relationship()
    activity: Mapped[Activity | None] = relationship()


class TimeEntry(TenantScoped, db.Model):
    """Time worked on a task on a day (R5.2), billable, internal or bug fix (R5.3)."""

    __tablename__ = "time_entries"
    __table_args__ = (
        Index("ix_time_entries_tenant_task", "tenant_id", "task_id"),
        Index("ix_time_entries_tenant_user_day", "tenant_id", "user_id", "work_date"),
        CheckConstraint("minutes > 0", name="minutes_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="RESTRICT"))
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="RESTRICT"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    work_date: Mapped[date] = mapped_column(Date)
    minutes: Mapped[int] = mapped_column()
    kind: Mapped[WorkKind] = mapped_column(string_enum(WorkKind), default=WorkKind.BILLABLE)
    activity_id: Mapped[int | None] = mapped_column(
        ForeignKey("work_activities.id", ondelete="SET NULL")
    )
    description: Mapped[str] = mapped_column(Text, default="")
    # When the stopwatch measured it: the first start and the stop.
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    stopped_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    task: Mapped[Task] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id])
    activity: Mapped[Activity | None] = relationship()
    revisions: Mapped[list[TimeEntryRevision]] = relationship(
        order_by="TimeEntryRevision.id", cascade="all, delete-orphan"
    )

    @property
    def hours(self) -> Decimal:
        return hours_of(self.minutes)


class TimeEntryRevision(TenantScoped, db.Model):
    """A correction of a time entry: who changed which fields from what to what (R5.2)."""

    __tablename__ = "time_entry_revisions"
    __table_args__ = (Index("ix_time_entry_revisions_tenant_entry", "tenant_id", "time_entry_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    time_entry_id: Mapped[int] = mapped_column(ForeignKey("time_entries.id", ondelete="CASCADE"))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # {"minutes": [90, 75], "kind": ["billable", "bug_fix"]}: old and new, as text.
    changes: Mapped[dict] = mapped_column(JSON, default=dict)

    changed_by: Mapped[User | None] = relationship()


RUNNING_SQL = "running"


class WorkTimer(TenantScoped, db.Model):
    """A user's stopwatch on one task: running, or paused in the user's queue (R5.2).

    The database keeps the rules too: one timer per user and task, and at most one of a
    user's timers running (a partial unique index), so two tabs cannot both start one.
    """

    __tablename__ = "work_timers"
    __table_args__ = (
        UniqueConstraint("tenant_id", "user_id", "task_id"),
        Index(
            "uq_work_timers_one_running",
            "tenant_id",
            "user_id",
            unique=True,
            postgresql_where=text(RUNNING_SQL),
            sqlite_where=text(RUNNING_SQL),
        ),
        CheckConstraint("running = (resumed_at IS NOT NULL)", name="running_has_start"),
        CheckConstraint("elapsed_seconds >= 0", name="elapsed_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    running: Mapped[bool] = mapped_column(default=False)
    # Seconds measured before the current run; the current run began at resumed_at.
    elapsed_seconds: Mapped[int] = mapped_column(default=0)
    resumed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    paused_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    kind: Mapped[WorkKind] = mapped_column(string_enum(WorkKind), default=WorkKind.BILLABLE)
    description: Mapped[str] = mapped_column(Text, default="")

    task: Mapped[Task] = relationship()


class BillingRule(TenantScoped, db.Model):
    """When an event makes a billable item, of which product and quantity (R5.8)."""

    __tablename__ = "billing_rules"
    __table_args__ = (
        CheckConstraint(
            "quantity_mode <> 'fixed' OR fixed_quantity > 0", name="fixed_quantity_given"
        ),
        Index("ix_billing_rules_tenant_event", "tenant_id", "event"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    event: Mapped[str] = mapped_column(String(30))
    # None: any activity.
    activity_id: Mapped[int | None] = mapped_column(
        ForeignKey("work_activities.id", ondelete="CASCADE")
    )
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="RESTRICT"))
    quantity_mode: Mapped[QuantityMode] = mapped_column(
        string_enum(QuantityMode), default=QuantityMode.HOURS
    )
    fixed_quantity: Mapped[Decimal | None] = mapped_column(QUANTITY)
    is_enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    activity: Mapped[Activity | None] = relationship()
    product: Mapped[Product] = relationship()


OPEN_ITEMS_SQL = "status = 'open'"


class BillableItem(TenantScoped, db.Model):
    """Something captured that must be billed (R5.8), open until an invoice line bills it.

    ``source_type``/``source_id`` name what it came from (a time entry, a task, a
    protocol ...); one item per source and product, so capturing again updates it.
    """

    __tablename__ = "billable_items"
    __table_args__ = (
        UniqueConstraint("tenant_id", "source_type", "source_id", "product_id"),
        Index(
            "ix_billable_items_open_customer",
            "tenant_id",
            "customer_id",
            "occurred_on",
            postgresql_where=text(OPEN_ITEMS_SQL),
            sqlite_where=text(OPEN_ITEMS_SQL),
        ),
        Index("ix_billable_items_tenant_project", "tenant_id", "project_id"),
        Index("ix_billable_items_tenant_line", "tenant_id", "document_line_id"),
        CheckConstraint("quantity >= 0", name="quantity_not_negative"),
        CheckConstraint("unit_price >= 0", name="unit_price_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="RESTRICT"))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id", ondelete="RESTRICT"))
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id", ondelete="SET NULL"))
    contract_id: Mapped[int | None] = mapped_column(ForeignKey("contracts.id", ondelete="SET NULL"))
    source_type: Mapped[str] = mapped_column(String(30))
    source_id: Mapped[int | None] = mapped_column()
    event: Mapped[str] = mapped_column(String(30))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="RESTRICT"))
    description: Mapped[str] = mapped_column(Text, default="")
    occurred_on: Mapped[date] = mapped_column(Date)
    quantity: Mapped[Decimal] = mapped_column(QUANTITY)
    unit: Mapped[str] = mapped_column(String(20), default="")
    unit_price: Mapped[Decimal] = mapped_column(MONEY)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[ItemStatus] = mapped_column(string_enum(ItemStatus), default=ItemStatus.OPEN)
    # The invoice line that billed it; deleting that draft line opens the item again.
    document_line_id: Mapped[int | None] = mapped_column(
        ForeignKey("document_lines.id", ondelete="SET NULL")
    )
    write_off_reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    customer: Mapped[Customer] = relationship()
    site: Mapped[Site | None] = relationship()
    product: Mapped[Product] = relationship()
    project: Mapped[Project | None] = relationship()
    document_line: Mapped[DocumentLine | None] = relationship()

    @property
    def amount(self) -> Decimal:
        """Quantity × unit price, to the cent (half up), for the inbox's totals."""
        return line_net(self.quantity, self.unit_price, self.currency)


class ItemBilling(TenantScoped, db.Model):
    """An invoice line that billed an item (R5.9): what was invoiced, when, by which invoice.

    The item names only its current line; these rows keep every line that ever billed it,
    so an invoice's specification stays whole after a credit note reopened its items. A
    draft line deleted takes its row along (it never billed anything).
    """

    __tablename__ = "billable_item_billings"
    __table_args__ = (
        Index("ix_billable_item_billings_tenant_line", "tenant_id", "document_line_id"),
        Index("ix_billable_item_billings_tenant_item", "tenant_id", "item_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("billable_items.id", ondelete="CASCADE"))
    document_line_id: Mapped[int] = mapped_column(
        ForeignKey("document_lines.id", ondelete="CASCADE")
    )
    billed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    billed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The credit note that credited the whole line and so reopened the item.
    credit_note_id: Mapped[int | None] = mapped_column(
        ForeignKey("documents.id", ondelete="SET NULL")
    )

    item: Mapped[BillableItem] = relationship()
    document_line: Mapped[DocumentLine] = relationship()
