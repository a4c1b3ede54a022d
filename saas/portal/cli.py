"""`flask portal reconcile`: record Stripe payments whose webhook never came (issue 8).

The scheduler runs the same every hour (``rq cron saas.cron``); this runs it by hand,
optionally over more hours than STRIPE_RECONCILE_HOURS (to catch up after an outage).
"""

from __future__ import annotations

import click
from flask.cli import AppGroup

from saas.portal.reconcile import is_possible, reconcile

portal = AppGroup("portal", help="The customer portal.")


@portal.command("reconcile")
@click.option("--hours", type=click.IntRange(min=1), default=None,
              help="Sessions created in these last hours (default STRIPE_RECONCILE_HOURS).")
def reconcile_command(hours: int | None) -> None:
    """Record paid Stripe Checkout Sessions that have no payment yet."""
    if not is_possible():
        raise click.ClickException("Stripe is not configured (STRIPE_SECRET_KEY).")
    result = reconcile(hours)
    for line in result.recorded:
        click.echo(line)
    click.echo(f"{result.sessions} sessions, {result.paid} paid: {len(result.recorded)}"
               f" recorded, {result.failed} failed.")
    if result.failed:
        raise SystemExit(1)
