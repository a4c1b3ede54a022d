"""The background import of a large statement file, with its progress on an ImportRun.

The import is one transaction: a worker killed half way leaves nothing of the statement.
Its job is retried by RQ (``job_retry``), and the retry imports the file whole. Which job
imports a run is settled by a PostgreSQL advisory lock held by the import's transaction:
it ends with the transaction, so a run marked running whose lock is free is one whose job
died, and the next job takes it over; a run whose lock is held is being imported, and a
second job for it does nothing. The run's status and progress are written on connections
of their own, so the page polling it sees them while the import's transaction is open.
An import whose job is lost for good is ended by a sweep, its page asking for the file
again (``end_lost_imports``).

The import saves the sure matches pending and asks for their booking job
(``booking.book_statement``), which books them part by part once the import commits.
The same sweep books what such a job left pending when it was lost
(``book_left_pending``).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, text, update
from sqlalchemy.exc import IntegrityError

from saas import clock
from saas.billing.imports.models import ImportRun, ImportStatus
from saas.billing.payments.bank.booking import book_pending
from saas.billing.payments.bank.services import BankImportError, import_statement
from saas.billing.payments.models import BankLine, BankLineStatus, BankStatement
from saas.extensions import db
from saas.queue import job, job_is_lost
from saas.rows import on_postgresql
from saas.tenants import scoping
from saas.tenants.models import BankAccount, utcnow
from saas.tenants.services import tenants_and_zones

# An ImportRun has no link to what it made: a bank import's kind carries the start of the
# file's SHA-256, by which its page finds the statement (unique per tenant).
BANK_RUN_KIND = "bank:"
# A bank import queued or running this long with no job left to run it is over.
LOST_AFTER = timedelta(minutes=15)
# The first key of the runs' advisory locks (the second is the run's id): "bank" in ASCII.
LOCK_SPACE = 0x62616E6B


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
    run = _claim(run_id)
    if run is None:
        return  # done already, or being imported by a live job: running twice changes nothing
    tenant_id = run.tenant_id
    account = db.session.get(BankAccount, bank_account_id)
    failed, message = False, ""
    try:
        if account is None:
            raise BankImportError("The bank account was deleted.")
        result = import_statement(data, file_name, account, fmt, user_id=user_id,
                                  progress=lambda done: _update(tenant_id, run_id, done=done),
                                  book_now=False)
        message = result.summary
    except (BankImportError, IntegrityError) as exc:
        db.session.rollback()
        _locked(run_id)  # the rollback let go of the run: hold it again to end it
        failed = True
        message = "Nothing was imported. " + (
            str(exc) if isinstance(exc, BankImportError) else "The file was imported meanwhile.")
    run = db.session.get(ImportRun, run_id)
    run.status = ImportStatus.FAILED if failed else ImportStatus.DONE
    run.message, run.finished_at = message[:500], utcnow()
    run.done = 0 if failed else run.total


def end_lost_imports() -> dict[int, int]:
    """End the imports no job will carry out any more, saying so on their page.

    An import queued or running for ``LOST_AFTER`` whose job RQ will not run again (its
    worker died each time it was tried, or Redis lost it) and that no job holds is over:
    nothing of it was saved, and the user is asked to upload the file again (the file
    was only in the job). How many ended, per tenant.
    """
    since, ended = clock.now() - LOST_AFTER, {}
    for tenant_id, _ in tenants_and_zones():
        with scoping.tenant_context(tenant_id):
            waiting = db.session.scalars(select(ImportRun).where(
                ImportRun.kind.startswith(BANK_RUN_KIND), ImportRun.created_at < since,
                ImportRun.status.in_((ImportStatus.QUEUED, ImportStatus.RUNNING)))).all()
            lost = [run for run in waiting
                    if job_is_lost(f"bank-import-{run.id}") and _locked(run.id)]
            for run in lost:
                run.status, run.done, run.finished_at = ImportStatus.FAILED, 0, utcnow()
                run.message = ("Nothing was imported: the import stopped before it ended."
                               " Upload the file again.")
            if lost:
                ended[tenant_id] = len(lost)
            db.session.commit()
    return ended


def book_left_pending() -> dict[int, int]:
    """Book the sure matches left pending for ``LOST_AFTER`` by a booking job that was
    lost (its worker died each time it was tried, or Redis lost it); how many lines, per
    tenant. A job still at work keeps the lines it holds (``book_pending`` skips them)."""
    since, booked = clock.now() - LOST_AFTER, {}
    for tenant_id, _ in tenants_and_zones():
        with scoping.tenant_context(tenant_id):
            left = db.session.scalars(select(BankStatement.id).where(
                BankStatement.imported_at < since,
                BankStatement.id.in_(select(BankLine.statement_id).where(
                    BankLine.status == BankLineStatus.PENDING)))
                .order_by(BankStatement.id)).all()
            count = sum(book_pending(statement_id) for statement_id in left)
            db.session.commit()
        if count:
            booked[tenant_id] = count
    return booked


@job
def run_lost_imports_sweep() -> int:
    """Scheduler job: end bank imports no job will carry out, and book what a lost
    booking job left; how many imports ended."""
    ended = sum(end_lost_imports().values())
    book_left_pending()
    return ended


def _claim(run_id: int) -> ImportRun | None:
    """The run, marked running, when this job is to import it; None when it is not.

    A queued run is this job's; so is a running one no live job holds (its job died, and
    its transaction with it). On SQLite (the demo, one worker) a running run is left be.
    """
    if not _locked(run_id):
        return None
    run = db.session.get(ImportRun, run_id)
    if run is None or run.finished:
        return None
    if run.status is ImportStatus.RUNNING and not on_postgresql():
        return None
    if on_postgresql():  # seen at once by the page, while this transaction stays open
        _update(run.tenant_id, run_id, status=ImportStatus.RUNNING, done=0)
    else:
        run.status = ImportStatus.RUNNING
        db.session.commit()
    return run


def _locked(run_id: int) -> bool:
    """Take the run's advisory lock for this transaction; False if another one holds it."""
    if not on_postgresql():
        return True
    return bool(db.session.scalar(select(func.pg_try_advisory_xact_lock(LOCK_SPACE, run_id))))


def _update(tenant_id: int, run_id: int, **values: object) -> None:
    # On a connection of its own: the import's transaction is committed only at the end,
    # but the page polling for progress must see it move. SQLite (the demo) has one
    # writer at a time, which the import is: there the page shows it running, then done.
    if db.engine.dialect.name != "postgresql":
        return
    runs = ImportRun.__table__
    with db.engine.begin() as connection:
        connection.execute(text("SELECT set_config('app.tenant_id', :t, true)"),
                           {"t": str(tenant_id)})
        connection.execute(update(runs).where(runs.c.id == run_id, runs.c.tenant_id == tenant_id)
                           .values(**values))
