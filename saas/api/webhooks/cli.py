"""`flask webhooks retry`: send the webhook deliveries whose next try is due, now.

The scheduler queues the same every minute (``rq cron saas.cron``); this sends them here,
one by one, and says how they went.
"""

from __future__ import annotations

import click
from flask.cli import AppGroup

from saas.api.webhooks.services import send_due_retries
from saas.cli_args import day_and_tenants, tenant_option

webhooks = AppGroup("webhooks", help="Outbound webhooks: deliveries to tenants' endpoints.")


@webhooks.command("retry")
@tenant_option
def retry_command(slug: str | None) -> None:
    """Send every delivery whose next try is due (in every tenant, or --tenant SLUG)."""
    _, tenant_ids = day_and_tenants(None, slug)
    done = send_due_retries(tenant_ids)
    if not done:
        click.echo("Webhooks: no delivery is due.")
        return
    summary = ", ".join(f"{count} {status.replace('_', ' ')}"
                        for status, count in sorted(done.items()))
    click.echo(f"Webhooks: {sum(done.values())} deliveries tried: {summary}.")
