"""The background import of a large statement file, with its progress on an ImportRun."""

from __future__ import annotations

from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from saas.billing.imports.models import ImportRun, ImportStatus
from saas.billing.payments.bank.services import BankImportError, import_statement
from saas.billing.payments.models import BankStatement
from saas.extensions import db
from saas.queue import job
from saas.tenants.models import BankAccount, utcnow

# An ImportRun has no link to what it made: a bank import's kind carries the start of the
# file's SHA-256, by which its page finds the statement (unique per tenant).
BANK_RUN_KIND = "bank:"


def statement_of_run(run: ImportRun) -> BankStatement | None:
    prefix = run.kind.removeprefix(BANK_RUN_KIND)
    if not prefix:
        return None
    return db.session.scalar(select(BankStatement).where(
        BankStatement.file_sha256.startswith(prefix)).order_by(BankStatement.id.desc()))


@job
def run_statement_import(run_id: int, data: bytes, file_name: str, bank_account_id: int,
                         fmt: str | None, user_id: int | None) -> None:
    """Import a statement file whole or not at all, reporting progress on the run."""
    run = db.session.get(ImportRun, run_id)
    if run is None or run.status is not ImportStatus.QUEUED:
        return  # done already, or running elsewhere: running twice changes nothing
    run.status = ImportStatus.RUNNING
    db.session.commit()
    tenant_id = run.tenant_id
    account = db.session.get(BankAccount, bank_account_id)
    failed, message = False, ""
    try:
        if account is None:
            raise BankImportError("The bank account was deleted.")
        result = import_statement(data, file_name, account, fmt, user_id=user_id,
                                  progress=lambda done: _report(tenant_id, run_id, done))
        message = result.summary
    except (BankImportError, IntegrityError) as exc:
        db.session.rollback()
        failed = True
        message = "Nothing was imported. " + (
            str(exc) if isinstance(exc, BankImportError) else "The file was imported meanwhile.")
    run = db.session.get(ImportRun, run_id)
    run.status = ImportStatus.FAILED if failed else ImportStatus.DONE
    run.message, run.finished_at = message[:500], utcnow()
    run.done = 0 if failed else run.total


def _report(tenant_id: int, run_id: int, done: int) -> None:
    # On a connection of its own: the import's transaction is committed only at the end,
    # but the page polling for progress must see it move. SQLite (the demo) has one
    # writer at a time, which the import is: there the page shows it running, then done.
    if db.engine.dialect.name != "postgresql":
        return
    with db.engine.begin() as connection:
        connection.execute(text("SELECT set_config('app.tenant_id', :t, true)"),
                           {"t": str(tenant_id)})
        connection.execute(
            text("UPDATE import_runs SET done = :done WHERE id = :id AND tenant_id = :t"),
            {"done": done, "id": run_id, "t": tenant_id})
