"""`flask contracts bill`: a billing run from the command line, with a progress bar;
`flask contracts resume-runs`: runs whose worker died, asked for again."""

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
from saas.tenants.models import Tenant

contracts = AppGroup("contracts", help="Contracts and billing runs.")


@contracts.command("bill")
@day_option
@click.option("--tenant", "slug", metavar="SLUG", required=True, help="The tenant to bill.")
@click.option("--type", "type_name", metavar="NAME", default=None,
              help="Only contracts of this type (default: all).")
@click.option("--per-contract/--per-customer", "per_contract", default=None,
              help="One invoice per contract, or per customer consolidating its contracts"
                   " (default: the tenant's setting).")
@click.option("--issue/--drafts", "issue", default=None,
              help="Issue the invoices, or leave drafts (default: the tenant's setting).")
def bill_command(day: str | None, slug: str, type_name: str | None, per_contract: bool | None,
                 issue: bool | None) -> None:
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
        tenant = db.session.get(Tenant, tenant_ids[0])
        run = billing.start_run(
            on or tenant_today_of(tenant_ids[0]), type_id,
            consolidate=tenant.runs_consolidate if per_contract is None else not per_contract,
            issue=tenant.runs_issue if issue is None else issue, queued=False)
        run_id = run.id
        db.session.commit()
        with click.progressbar(length=1, label=f"Billing run {run_id}") as bar:
            def advance(contracts: int, total: int) -> None:
                bar.length = max(total, 1)  # known once the run is planned
                bar.update(contracts)

            billing.carry_out(run_id, progress=advance)
        run = db.session.get(BillingRun, run_id)
        db.session.refresh(run)
        click.echo(f"Run {run.id}: {run.status.value}, {run.done} of {run.total} contracts,"
                   f" {run.invoices} invoices." + (f" {run.error}" if run.error else ""))
        if run.error:
            raise SystemExit(1)


@contracts.command("resume-runs")
def resume_runs_command() -> None:
    """Resume billing runs whose worker died and whose job will not be retried."""
    asked = billing.resume_stalled_runs()
    click.echo(f"{sum(asked.values())} billing runs resumed.")
