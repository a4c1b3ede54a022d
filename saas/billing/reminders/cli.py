"""`flask reminders sweep`: claim and queue the reminders that are due (R6.4).

The scheduler runs the same sweep every hour (``rq cron saas.cron``); this command runs it
by hand, for one tenant or all, on today's date or a date given (to catch up or replay).
Without REDIS_URL the e-mails go out in this process, into SMTP or the outbox folder.
"""

from __future__ import annotations

from datetime import date

import click
from flask.cli import AppGroup
from sqlalchemy import select

from saas.billing.reminders.sweep import sweep
from saas.extensions import db
from saas.tenants import scoping
from saas.tenants.models import Tenant

reminders = AppGroup("reminders", help="Payment reminders.")


@reminders.command("sweep")
@click.option("--date", "day", metavar="YYYY-MM-DD", default=None,
              help="Sweep as on this day (default: each tenant's own today).")
@click.option("--tenant", "slug", metavar="SLUG", default=None,
              help="Sweep only this tenant (default: every tenant).")
def sweep_command(day: str | None, slug: str | None) -> None:
    """Claim the due reminders, queue their e-mails and file unpaid notices."""
    try:
        on = date.fromisoformat(day) if day else None
    except ValueError:
        raise click.BadParameter(f"{day!r} is not a date like 2026-11-30.",
                                 param_hint="--date") from None
    tenant_ids = None
    if slug:
        with scoping.all_tenants():
            tenant_id = db.session.scalar(select(Tenant.id).where(Tenant.slug == slug))
        if tenant_id is None:
            raise click.BadParameter(f"No tenant is called {slug!r}.", param_hint="--tenant")
        tenant_ids = [tenant_id]
    result = sweep(on, tenant_ids)
    click.echo(f"{result.tenants} tenants with a policy: {result.claimed} reminders claimed,"
               f" {result.requeued} queued again, {result.jobs} mail jobs,"
               f" {result.notices} unpaid notices filed.")
