"""Factories for work that becomes billable (R5): projects, tasks, time, rules, items."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import factory

from saas.billing.work.models import (
    Activity,
    BillableItem,
    BillingRule,
    CostRate,
    ItemBilling,
    ItemStatus,
    Project,
    Task,
    TimeEntry,
    TimeEntryRevision,
    WorkKind,
    WorkTimer,
)
from tests.factories import (
    CustomerFactory,
    DocumentLineFactory,
    ProductFactory,
    TenantScopedFactory,
    UserFactory,
)

_same_tenant = factory.SelfAttribute("..tenant")


class ActivityFactory(TenantScopedFactory):
    class Meta:
        model = Activity

    name = factory.Sequence(lambda n: f"Activity {n}")


class ProjectFactory(TenantScopedFactory):
    class Meta:
        model = Project

    customer = factory.SubFactory(CustomerFactory, tenant=_same_tenant)
    name = factory.Sequence(lambda n: f"Project {n}")


class TaskFactory(TenantScopedFactory):
    class Meta:
        model = Task

    project = factory.SubFactory(ProjectFactory, tenant=_same_tenant)
    title = factory.Sequence(lambda n: f"Task {n}")
    estimate_hours = Decimal(4)


class TimeEntryFactory(TenantScopedFactory):
    class Meta:
        model = TimeEntry

    task = factory.SubFactory(TaskFactory, tenant=_same_tenant)
    project_id = factory.SelfAttribute("task.project_id")
    user = factory.SubFactory(UserFactory)
    work_date = date(2026, 11, 2)
    minutes = 90
    kind = WorkKind.BILLABLE


class TimeEntryRevisionFactory(TenantScopedFactory):
    class Meta:
        model = TimeEntryRevision

    time_entry_id = factory.LazyAttribute(lambda o: TimeEntryFactory(tenant=o.tenant).id)
    changes = factory.LazyFunction(lambda: {"minutes": ["90", "75"]})


class WorkTimerFactory(TenantScopedFactory):
    class Meta:
        model = WorkTimer

    task = factory.SubFactory(TaskFactory, tenant=_same_tenant)
    user_id = factory.LazyFunction(lambda: UserFactory().id)
    running = False
    elapsed_seconds = 600


class BillingRuleFactory(TenantScopedFactory):
    class Meta:
        model = BillingRule

    name = factory.Sequence(lambda n: f"Rule {n}")
    event = "time_entry"
    product = factory.SubFactory(ProductFactory, tenant=_same_tenant, unit="h")


class BillableItemFactory(TenantScopedFactory):
    class Meta:
        model = BillableItem

    customer = factory.SubFactory(CustomerFactory, tenant=_same_tenant)
    product = factory.SubFactory(ProductFactory, tenant=_same_tenant)
    source_type = "manual"
    source_id = None
    event = "time_entry"
    description = "Work"
    occurred_on = date(2026, 11, 2)
    quantity = Decimal(2)
    unit = "h"
    unit_price = Decimal("100.00")
    currency = "NOK"
    status = ItemStatus.OPEN


class CostRateFactory(TenantScopedFactory):
    class Meta:
        model = CostRate

    user_id = factory.LazyFunction(lambda: UserFactory().id)
    hourly_cost = Decimal("450.00")


class ItemBillingFactory(TenantScopedFactory):
    class Meta:
        model = ItemBilling

    item_id = factory.LazyAttribute(lambda o: BillableItemFactory(tenant=o.tenant).id)
    document_line_id = factory.LazyAttribute(lambda o: DocumentLineFactory(tenant=o.tenant).id)
