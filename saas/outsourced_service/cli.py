"""`flask bureau record-fees`: record a month's activity of a bureau's clients as fees.

The scheduler records every bureau's month before on the 1st (``rq cron saas.cron``); this
records any month by hand, for one bureau or all, and can invoice it too. Safe to repeat:
a month recorded again updates its open fee items and leaves invoiced ones alone.
"""

from __future__ import annotations

from datetime import date

import click
from flask.cli import AppGroup

from saas.cli_args import day_and_tenants, tenant_option
from saas.outsourced_service.fees import record_bureaus

bureau = AppGroup("bureau", help="The invoicing bureau.")


@bureau.command("record-fees")
@click.option("--month", metavar="YYYY-MM", default=None,
              help="The month (default: each bureau's month before its today).")
@tenant_option
@click.option("--invoice", is_flag=True, help="Also put each client's open fees on a draft"
              " invoice.")
def record_fees_command(month: str | None, slug: str | None, invoice: bool) -> None:
    """Count what each bureau did for its clients in a month and capture its fees."""
    try:
        first = date.fromisoformat(f"{month}-01") if month else None
    except ValueError:
        raise click.BadParameter(f"{month!r} is not a month like 2026-11.",
                                 param_hint="--month") from None
    _, tenant_ids = day_and_tenants(None, slug)
    result = record_bureaus(first, tenant_ids, invoice=invoice)
    click.echo(f"Bureau fees: {result.clients} client months recorded in {result.bureaus}"
               f" bureaus, {result.invoices} invoices made.")
