"""`flask reminders sweep`: claim and queue the reminders that are due (R6.4).

The scheduler runs the same sweep every hour (``rq cron saas.cron``); this command runs it
by hand, for one tenant or all, on today's date or a date given (to catch up or replay).
Without REDIS_URL the e-mails go out in this process, into SMTP or the outbox folder.
"""

from __future__ import annotations

import click
from flask.cli import AppGroup

from saas.billing.reminders.sweep import sweep
from saas.cli_args import day_and_tenants, day_option, tenant_option

reminders = AppGroup("reminders", help="Payment reminders.")


@reminders.command("sweep")
@day_option
@tenant_option
def sweep_command(day: str | None, slug: str | None) -> None:
    """Claim the due reminders, queue their e-mails and file unpaid notices."""
    on, tenant_ids = day_and_tenants(day, slug)
    result = sweep(on, tenant_ids)
    click.echo(f"{result.tenants} tenants with a policy: {result.claimed} reminders claimed,"
               f" {result.requeued} queued again, {result.jobs} mail jobs,"
               f" {result.notices} unpaid notices filed.")
