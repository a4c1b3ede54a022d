"""`flask demo seed` run again adds nothing: it only makes what is missing."""

from __future__ import annotations

from sqlalchemy import func, select

from saas import demo
from saas.extensions import db
from saas.tenants import scoping
from saas.tenants.models import Tenant


def _row_counts() -> dict[str, int]:
    """Rows per table, every tenant's rows counted inside that tenant (row-level security)."""
    tables = db.metadata.sorted_tables
    counts = {table.name: db.session.scalar(select(func.count()).select_from(table))
              for table in tables if "tenant_id" not in table.c}
    for tenant_id in db.session.scalars(select(Tenant.id).order_by(Tenant.id)).all():
        with scoping.tenant_context(tenant_id):
            for table in tables:
                if "tenant_id" in table.c:
                    counts[f"{table.name}@{tenant_id}"] = db.session.scalar(
                        select(func.count()).select_from(table))
    return counts


def test_seeding_the_demo_again_adds_nothing(db_session):
    before = _row_counts()
    assert before["documents@1"] > 0 and before["users"] > 5  # the seeded demo is there
    demo.seed()
    after = _row_counts()
    added = {name: (before.get(name), count) for name, count in after.items()
             if before.get(name) != count}
    assert added == {}, sorted(added.items())
