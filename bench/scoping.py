"""What tenant isolation costs: one indexed lookup, with and without the walls.

Two tenants with ROWS audit entries each. The same primary-key lookup runs LOOKUPS times:
- scoped: through the ORM in the tenant's context (tenant filter + row-level security),
- plain: the same ORM query on the owner's connection with the ORM filter off and row-level
  security switched off (ALTER TABLE ... NO FORCE, rolled back), i.e. an unprotected table.
Writes bench/results/scoping.json: scoped_p50_ms, scoped_p95_ms, plain_p50_ms, plain_p95_ms,
overhead_p50_ms, cross_tenant_rows_seen (must be 0).
"""

from __future__ import annotations

import random
import time

from harness import percentiles, throwaway_app, write_results
from sqlalchemy import create_engine, insert, select, text
from sqlalchemy.orm import Session

from saas.extensions import db
from saas.tenants import scoping, services
from saas.tenants.models import AuditEntry

ROWS = 50_000
LOOKUPS = 3_000


def main() -> None:
    with throwaway_app() as app:
        tenants = [services.create_tenant(f"Bench {n}") for n in range(2)]
        db.session.commit()
        for tenant in tenants:
            with scoping.tenant_context(tenant.id):
                db.session.execute(insert(AuditEntry), [
                    {"tenant_id": tenant.id, "action": "bench.row", "summary": f"row {i}",
                     "details": {}} for i in range(ROWS)
                ])
                db.session.commit()
        own, other = tenants
        with scoping.tenant_context(own.id):
            own_ids = db.session.scalars(select(AuditEntry.id)).all()
        with scoping.tenant_context(other.id):
            other_ids = db.session.scalars(select(AuditEntry.id)).all()
        db.session.commit()
        owner = create_engine(app.config["MIGRATION_DATABASE_URL"], isolation_level="AUTOCOMMIT")
        with owner.connect() as connection:  # the app role may not ANALYZE
            connection.execute(text("ANALYZE"))
        owner.dispose()
        rng = random.Random(7)
        picks = [rng.choice(own_ids) for _ in range(LOOKUPS)]

        scoped_ms = []
        with scoping.tenant_context(own.id):
            for entry_id in picks:
                start = time.perf_counter()
                db.session.execute(
                    select(AuditEntry.summary).where(AuditEntry.id == entry_id)
                ).scalar_one()
                scoped_ms.append((time.perf_counter() - start) * 1000)
            leaked = sum(
                1 for entry_id in other_ids[:500]
                if db.session.execute(
                    select(AuditEntry.id).where(AuditEntry.id == entry_id)
                ).first() is not None
            )
        db.session.commit()

        owner = create_engine(app.config["MIGRATION_DATABASE_URL"])
        plain_ms = []
        with owner.connect() as connection, Session(bind=connection) as session:
            connection.execute(text("ALTER TABLE audit_entries NO FORCE ROW LEVEL SECURITY"))
            with scoping.all_tenants():  # no ORM tenant filter either
                for entry_id in picks:
                    start = time.perf_counter()
                    session.execute(
                        select(AuditEntry.summary).where(AuditEntry.id == entry_id)
                    ).scalar_one()
                    plain_ms.append((time.perf_counter() - start) * 1000)
            connection.rollback()  # puts FORCE back
        owner.dispose()

    scoped, plain = percentiles(scoped_ms), percentiles(plain_ms)
    write_results("scoping", {
        "rows_per_tenant": ROWS,
        "lookups": LOOKUPS,
        "scoped_p50_ms": scoped["p50"],
        "scoped_p95_ms": scoped["p95"],
        "plain_p50_ms": plain["p50"],
        "plain_p95_ms": plain["p95"],
        "overhead_p50_ms": round(scoped["p50"] - plain["p50"], 3),
        "cross_tenant_rows_seen": leaked,
    })


if __name__ == "__main__":
    main()
