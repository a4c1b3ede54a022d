"""`flask recurring run`: make the recurring invoices that are due (R4.5).

The scheduler runs the same every hour (``rq cron saas.cron``); this runs it by hand, for
one tenant or all, on today's date or a date given (to catch up).
"""

from __future__ import annotations

import click
from flask.cli import AppGroup

from saas.billing.recurring.services import run
from saas.cli_args import day_and_tenants, day_option, tenant_option

recurring = AppGroup("recurring", help="Recurring invoices.")


@recurring.command("run")
@day_option
@tenant_option
def run_command(day: str | None, slug: str | None) -> None:
    """Make every occurrence due by the day that was not made yet."""
    on, tenant_ids = day_and_tenants(day, slug)
    result = run(on, tenant_ids)
    click.echo(f"{result.schedules} schedules due: {result.made} invoices made,"
               f" {result.failed} failed.")
