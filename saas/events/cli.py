"""`flask events sweep`: hand over domain events a lost job left behind, record overdue ones.

The scheduler runs the same sweep every five minutes (``rq cron saas.cron``).
"""

from __future__ import annotations

from datetime import timedelta

import click
from flask.cli import AppGroup

from saas.billing.events import record_overdue
from saas.events.services import sweep_pending

events = AppGroup("events", help="Domain events (webhooks and automations read them).")


@events.command("sweep")
def sweep_command() -> None:
    """Hand over every pending event now and record invoices that became overdue."""
    overdue = record_overdue()
    handed = sweep_pending(older_than=timedelta(0))
    click.echo(f"Events: {overdue} invoices newly overdue, {sum(handed.values())} events"
               f" handed over in {len(handed)} companies.")
