"""`flask collection sweep`: open the collection cases that are due, close the paid ones.

The scheduler runs the same sweep every hour (``rq cron saas.cron``); this command runs it
by hand, for one tenant or all, on today's date or a date given.
"""

from __future__ import annotations

import click
from flask.cli import AppGroup

from saas.billing.dunning.sweep import sweep
from saas.cli_args import day_and_tenants, day_option, tenant_option

collection = AppGroup("collection", help="Debt collection cases.")


@collection.command("sweep")
@day_option
@tenant_option
def sweep_command(day: str | None, slug: str | None) -> None:
    """Open the cases that are due, add newly overdue invoices, close the paid cases."""
    on, tenant_ids = day_and_tenants(day, slug)
    result = sweep(on, tenant_ids)
    click.echo(
        f"Collection: {result.opened} cases opened, {result.added} invoices added,"
        f" {result.closed} cases closed as paid."
    )
