"""`flask reports pack --tenant SLUG --month YYYY-MM [--send]`: the monthly report pack."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from saas.billing.reports.pack import build_report_pack, send_report_pack
from saas.billing.reports.tables import month_period
from saas.cli_args import tenants_of
from saas.extensions import db

reports = AppGroup("reports", help="Reports.")


@reports.command("pack")
@click.option("--tenant", "slug", metavar="SLUG", required=True, help="The company.")
@click.option("--month", metavar="YYYY-MM", required=True, help="The month reported.")
@click.option("--send", is_flag=True, help="E-mail it to the company's owners.")
@click.option(
    "--output",
    type=click.Path(dir_okay=False),
    default=None,
    help="Where to write the PDF (default: reports-SLUG-MONTH.pdf).",
)
def pack_command(slug: str, month: str, send: bool, output: str | None) -> None:
    """Write the month's report pack as a PDF, and with --send e-mail it."""
    try:
        month_period(month)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--month") from None
    [(tenant_id, _)] = tenants_of(slug)
    path = Path(output or f"reports-{slug}-{month}.pdf")
    path.write_bytes(build_report_pack(tenant_id, month))
    click.echo(f"Wrote {path}.")
    if send:
        sent_to = send_report_pack(tenant_id, month)
        db.session.commit()
        click.echo(f"Sent to {', '.join(sent_to) or 'nobody (no owner has an e-mail)'}.")
