"""`flask contracts bill`: a billing run from the command line, with a progress bar."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from saas.billing.contracts import billing
from saas.billing.contracts.models import BillingRun, ContractType
from saas.cli_args import day_and_tenants, day_option
from saas.extensions import db
from saas.tenants import scoping
from saas.tenants.access import tenant_today_of

contracts = AppGroup("contracts", help="Contracts and billing runs.")


@contracts.command("bill")
@day_option
@click.option("--tenant", "slug", metavar="SLUG", required=True, help="The tenant to bill.")
@click.option("--type", "type_name", metavar="NAME", default=None,
              help="Only contracts of this type (default: all).")
@click.option("--per-contract", is_flag=True, help="One invoice per contract.")
@click.option("--issue", is_flag=True, help="Issue the invoices (default: drafts).")
def bill_command(day: str | None, slug: str, type_name: str | None, per_contract: bool,
                 issue: bool) -> None:
    """Invoice every contract period due as on the date (default: today), each once."""
    on, tenant_ids = day_and_tenants(day, slug)
    with scoping.tenant_context(tenant_ids[0]):
        type_id = None
        if type_name:
            type_id = db.session.scalar(select(ContractType.id).where(
                ContractType.name == type_name))
            if type_id is None:
                raise click.BadParameter(f"No contract type is called {type_name!r}.",
                                         param_hint="--type")
        run = billing.start_run(on or tenant_today_of(tenant_ids[0]), type_id,
                                consolidate=not per_contract, issue=issue, queued=False)
        run_id, total = run.id, run.total
        db.session.commit()
        with click.progressbar(length=total, label=f"Billing run {run_id}") as bar:
            billing.carry_out(run_id, progress=bar.update)
        run = db.session.get(BillingRun, run_id)
        db.session.refresh(run)
        click.echo(f"Run {run.id}: {run.status.value}, {run.done} of {run.total} contracts,"
                   f" {run.invoices} invoices." + (f" {run.error}" if run.error else ""))
        if run.error:
            raise SystemExit(1)
