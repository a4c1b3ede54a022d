"""The work demo (R5): a job with time, rules that bill it, open items, prepaid hours."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from saas import demo
from saas.billing.contracts.demo import seed_contracts
from saas.billing.work.demo import seed_work
from saas.billing.work.models import (
    BillableItem,
    BillingRule,
    ItemStatus,
    Project,
    TimeEntry,
    WorkKind,
    WorkTimer,
)
from saas.extensions import db
from saas.tenants import scoping
from saas.tenants.models import Role
from tests.factories import TenantFactory, member


def test_the_work_demo_has_a_job_with_time_rules_and_open_items(db_session):
    tenant = TenantFactory(slug="nordlys", country="NO", currency="NOK")
    member(tenant, Role.OWNER, name="Kari Nordmann")
    demo._catalog(tenant)
    db.session.commit()
    seed_contracts(tenant)
    seed_work(tenant)
    seed_work(tenant)  # once only
    with scoping.tenant_context(tenant.id):
        [job, support] = db.session.scalars(select(Project).order_by(Project.id)).all()
        assert [task.status.value for task in job.tasks] == ["done", "open", "open"]
        kinds = dict(
            db.session.execute(select(TimeEntry.kind, func.count()).group_by(TimeEntry.kind)).all()
        )
        assert kinds == {WorkKind.BILLABLE: 4, WorkKind.INTERNAL: 1, WorkKind.BUG_FIX: 1}
        assert db.session.scalar(select(func.count()).select_from(BillingRule)) == 2
        items = db.session.scalars(select(BillableItem).order_by(BillableItem.id)).all()
        assert all(item.status == ItemStatus.OPEN for item in items)
        # Three billable entries and the call-out fee on the job; support: 2 h beyond the
        # 10 included.
        assert [(item.project_id, item.quantity) for item in items] == [
            (job.id, Decimal(2)),
            (job.id, Decimal("3.5")),
            (job.id, Decimal("2.5")),
            (job.id, Decimal(1)),
            (support.id, Decimal(2)),
        ]
        [queued] = db.session.scalars(select(WorkTimer)).all()
        assert (queued.running, queued.elapsed_seconds) == (False, 1200)
