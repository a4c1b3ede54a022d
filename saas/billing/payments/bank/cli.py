"""`flask bank import FILE --tenant SLUG [--account ID]`: a statement from the command line."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy import select

from saas.billing.payments import statements
from saas.billing.payments.bank import services
from saas.billing.payments.bank.services import BankImportError
from saas.cli_args import day_and_tenants
from saas.extensions import db
from saas.tenants import scoping
from saas.tenants.models import BankAccount

bank = AppGroup("bank", help="Bank statements.")


@bank.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--tenant", "slug", metavar="SLUG", required=True,
              help="The tenant whose bank account the statement is of.")
@click.option("--account", "account_id", type=int, default=None, metavar="ID",
              help="The bank account's id (default: the tenant's account the file names,"
                   " else its default account).")
@click.option("--format", "fmt", type=click.Choice(statements.FORMATS), default=None,
              help="The file's format (default: detected; csv needs the account's mapping).")
def import_command(file: Path, slug: str, account_id: int | None, fmt: str | None) -> None:
    """Import a camt.053, MT940 or CSV statement; match and book its lines."""
    _, tenant_ids = day_and_tenants(None, slug)
    data = file.read_bytes()
    with scoping.tenant_context(tenant_ids[0]):
        account = _account(account_id, data, fmt)
        try:
            fmt, parsed = services.read_statement(data, account, fmt)
        except BankImportError as exc:
            raise click.ClickException(f"Nothing was imported. {exc}") from None
        total = sum(len(statement.lines) for statement in parsed)
        with click.progressbar(length=max(total, 1), label=f"Importing {file.name}") as bar:
            done = [0]

            def advance(lines: int) -> None:
                bar.update(lines - done[0])
                done[0] = lines

            try:
                result = services.import_statement(data, file.name, account, fmt,
                                                   progress=advance)
                db.session.commit()
            except BankImportError as exc:
                db.session.rollback()
                raise click.ClickException(f"Nothing was imported. {exc}") from None
        click.echo(f"Statement #{result.statement_id}: {result.summary}")
        for warning in result.warnings:
            click.echo(f"Warning: {warning}", err=True)


def _account(account_id: int | None, data: bytes, fmt: str | None) -> BankAccount:
    accounts = list(db.session.scalars(select(BankAccount).order_by(
        BankAccount.is_default.desc(), BankAccount.id)))
    if account_id is not None:
        found = next((a for a in accounts if a.id == account_id), None)
        if found is None:
            raise click.BadParameter(f"The tenant has no bank account {account_id}.",
                                     param_hint="--account")
        return found
    if not accounts:
        raise click.ClickException("The tenant has no bank account: add one first.")
    if (fmt or statements.detect_format(data)) in ("camt053", "mt940"):
        try:  # the account the file names, when the tenant has it
            named = {s.account for s in statements.parse(data, fmt)}  # type: ignore[arg-type]
        except statements.StatementParseError as exc:
            raise click.ClickException(f"Nothing was imported. {exc}") from None
        for account in accounts:
            if any(services.same_account(name, account) for name in named):
                return account
    return accounts[0]
