"""The portal's commands (issue 8), run by the scheduler too (``rq cron saas.cron``):

- `flask portal reconcile`: record Stripe payments whose webhook never came, optionally
  over more hours than STRIPE_RECONCILE_HOURS (to catch up after an outage);
- `flask portal retry-events`: process again the Stripe events whose processing failed
  (due ones, or every failed one with --all-failed, e.g. after a fix is deployed).
"""

from __future__ import annotations

import click
from flask.cli import AppGroup

from saas.cli_args import tenants_of
from saas.portal.models import EventStatus
from saas.portal.reconcile import is_possible, reconcile
from saas.portal.stripe_events import retry_due_events

portal = AppGroup("portal", help="The customer portal.")


@portal.command("reconcile")
@click.option(
    "--hours",
    type=click.IntRange(min=1),
    default=None,
    help="Sessions created in these last hours (default STRIPE_RECONCILE_HOURS).",
)
def reconcile_command(hours: int | None) -> None:
    """Record paid Stripe Checkout Sessions that have no payment yet."""
    if not is_possible():
        raise click.ClickException("The demo checkout (STRIPE_DEMO) has no Stripe to ask.")
    result = reconcile(hours)
    for line in result.recorded:
        click.echo(line)
    click.echo(
        f"{result.sessions} sessions, {result.paid} paid: {len(result.recorded)}"
        f" recorded, {result.failed} failed."
    )
    if result.failed:
        raise SystemExit(1)


@portal.command("retry-events")
@click.option(
    "--all-failed", is_flag=True, help="Every failed event, not only those whose next try is due."
)
@click.option("--tenant", "slug", default=None, help="Only this tenant (its slug).")
def retry_events_command(all_failed: bool, slug: str | None) -> None:
    """Process again Stripe events whose processing failed (or whose job got lost)."""
    tenant_ids = [tenant_id for tenant_id, _ in tenants_of(slug)] if slug else None
    done = retry_due_events(every_failed=all_failed, tenant_ids=tenant_ids)
    for item in done:
        click.echo(
            f"tenant {item.tenant_id}: {item.event_id} ({item.type}) {item.status}: {item.outcome}"
        )
    failed = sum(1 for item in done if item.status != EventStatus.PROCESSED)
    click.echo(f"{len(done)} events retried: {len(done) - failed} processed, {failed} failed.")
    if failed:
        raise SystemExit(1)
