"""Billing runs (R4.2, R4.4): invoice every contract period that is due, exactly once.

A run on a date bills, for each contract of the chosen type, the period its terms say that
date bills (``proration.period_to_bill``: in advance the current period, in arrears the
previous one) once the contract's billing day has come in it; prorated for starts, ends,
terminations and annexes inside the period (``services.period_lines``). A contract's
period goes on an invoice once: the invoice is made in one transaction together with a
``BilledPeriod`` row under a unique (contract, period start) key, so a run repeated, or
killed half way and started again, makes nothing twice and misses nothing. Invoices are
one per customer and currency (consolidating its contracts) or one per contract, as
drafts or issued, as the run says; each line names its contract and period (R3.10).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from saas import clock
from saas.billing.catalog.models import VatRate
from saas.billing.catalog.prices import quote_price
from saas.billing.contracts import bulk, services, volumes
from saas.billing.contracts.models import BilledPeriod, BillingRun, Contract, RunStatus
from saas.billing.contracts.proration import Period, period_to_bill
from saas.billing.customers.models import Customer
from saas.billing.documents import issuing
from saas.billing.documents.models import Document, DocumentLine
from saas.billing.documents.printing import store_pdfs
from saas.billing.documents.services import DocumentError, create_document, recalculate
from saas.billing.documents.states import DocumentKind as K
from saas.billing.tax import line_net
from saas.extensions import db
from saas.queue import BILLING_QUEUE, enqueue, job, job_is_lost, job_retry
from saas.tenants import audit, scoping
from saas.tenants.services import tenants_and_zones

# Invoices per commit of a run: fewer commits, and a commit expires every loaded object.
COMMIT_EVERY = 200
# A running run with no commit for this long lost its worker (a chunk takes seconds).
STALLED_AFTER = timedelta(minutes=15)


@dataclass(frozen=True)
class ExtraLine:
    """Work beyond a flat fee's included volume in a period (R4.6), priced to bill."""

    overage: volumes.OverageLine
    unit_price: Decimal
    amount: Decimal  # net: quantity × unit price, rounded once


@dataclass(frozen=True)
class PlannedContract:
    contract: Contract
    period: Period
    lines: list[services.PeriodLine]
    extras: tuple[ExtraLine, ...] = ()  # the previous period's excess, billed in arrears

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in (*self.lines, *self.extras)), Decimal(0))


@dataclass
class PlannedInvoice:
    customer: Customer
    currency: str
    contracts: list[PlannedContract] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        return sum((planned.total for planned in self.contracts), Decimal(0))


def billing_day_reached(contract: Contract, run_date: date) -> bool:
    """The run date is on or after the contract's billing day in its month."""
    return run_date.day >= contract.billing_day


def periods_due(contracts: list[Contract], run_date: date) -> dict[int, Period]:
    """The period each contract bills on the date, for those no invoice carries yet."""
    billed = set(db.session.execute(
        select(BilledPeriod.contract_id, BilledPeriod.period_start)
        .where(BilledPeriod.contract_id.in_([c.id for c in contracts]))).all())
    periods = {}
    for contract in contracts:
        if not billing_day_reached(contract, run_date):
            continue
        period = period_to_bill(run_date, contract.billing_period, in_advance=contract.in_advance)
        if (contract.id, period.start) in billed or period.end <= contract.start_date:
            continue
        if contract.last_day is not None and contract.last_day < period.start:
            continue
        periods[contract.id] = period
    return periods


def due_count(run_date: date) -> int:
    """How many contracts have a period to bill on the date (two queries, nothing priced)."""
    contracts = db.session.scalars(select(Contract).where(Contract.start_date <= run_date)).all()
    return len(periods_due(contracts, run_date))


def due(run_date: date, contract_type_id: int | None = None,
        contract_ids: list[int] | None = None, *,
        with_contacts: bool = False) -> Iterator[PlannedContract]:
    """Each contract with a period to bill on the date that no invoice carries yet."""
    customer = joinedload(Contract.customer)
    if with_contacts:
        customer = customer.selectinload(Customer.contacts)
    statement = select(Contract).options(customer).where(
        Contract.start_date <= run_date).order_by(
        Contract.customer_id, Contract.currency, Contract.number)
    if contract_type_id:
        statement = statement.where(Contract.contract_type_id == contract_type_id)
    if contract_ids is not None:
        statement = statement.where(Contract.id.in_(contract_ids))
    contracts = db.session.scalars(statement).all()
    periods = periods_due(contracts, run_date)
    lines = services.versions_of([c.id for c in contracts])
    # The excess over flat fees' volumes, of the period before the current one (R4.6),
    # goes on the same invoice, so it is billed exactly when that contract period is.
    billing_now = [contract for contract in contracts if contract.id in periods]
    overage = volumes.overage_for(billing_now, {
        contract.id: volumes.overage_period(run_date, contract.billing_period)
        for contract in billing_now}, lines)
    for contract in billing_now:
        period = periods[contract.id]
        amounts = services.period_lines(contract, period, _price_list_price(contract, period),
                                        lines.get(contract.id, {}))
        extras = tuple(_priced(contract, excess) for excess in overage.get(contract.id, ()))
        if amounts or extras:
            yield PlannedContract(contract, period, amounts, extras)


def _priced(contract: Contract, excess: volumes.OverageLine) -> ExtraLine:
    """The excess at the price list's price of its product for that quantity."""
    unit_price = excess.unit_price
    if unit_price is None:
        try:
            unit_price = quote_price(contract.customer_id, excess.product_id, excess.quantity,
                                     excess.period.start, contract.currency).list_unit_price
        except Exception as exc:  # no price terms, no exchange rate: named in the run
            raise services.ContractError(f"{contract.number}, {excess.description}: {exc}"
                                         ) from None
    return ExtraLine(excess, unit_price, line_net(excess.quantity, unit_price,
                                                  contract.currency))


def _price_list_price(contract: Contract, period: Period) -> Callable:
    def price(line) -> Decimal:  # noqa: ANN001 - a ContractLine without a fixed price
        if line.product_id is None:
            raise services.ContractError(f"{line.description}: give a price or a product.")
        try:
            quote = quote_price(contract.customer_id, line.product_id, line.quantity,
                                period.start, contract.currency)
        except Exception as exc:  # no price terms, no exchange rate: named in the run
            raise services.ContractError(f"{contract.number}, {line.description}: {exc}"
                                         ) from None
        return quote.list_unit_price
    return price


def plan(run_date: date, contract_type_id: int | None = None, *, consolidate: bool = True,
         contract_ids: list[int] | None = None,
         with_contacts: bool = False) -> list[PlannedInvoice]:
    """The invoices a run would make: per customer and currency, or per contract.

    ``with_contacts`` loads the customers' contacts too (issuing snapshots the buyer).
    """
    invoices: list[PlannedInvoice] = []
    for planned in due(run_date, contract_type_id, contract_ids, with_contacts=with_contacts):
        contract = planned.contract
        last = invoices[-1] if invoices else None
        if (consolidate and last is not None and last.customer.id == contract.customer_id
                and last.currency == contract.currency):
            last.contracts.append(planned)
        else:
            invoices.append(PlannedInvoice(contract.customer, contract.currency, [planned]))
    return invoices


def make_invoice(planned: PlannedInvoice, run: BillingRun | None = None,
                 user_id: int | None = None,
                 vats: dict[int, VatRate] | None = None) -> Document | None:
    """One invoice for the planned contracts, with their billed periods; None if taken.

    Runs in its own transaction (savepoint): when another run billed one of these periods
    meanwhile, the unique key refuses it and nothing of this invoice is kept. A run makes
    its invoices a chunk at a time (``bulk.write_chunk``); this is its way through a chunk
    that met a period billed meanwhile, one invoice at a time.
    """
    try:
        with db.session.begin_nested():
            draft = create_document(K.INVOICE, planned.customer,
                                    {"currency": planned.currency,
                                     "payment_terms_days": bulk.payment_terms(planned)},
                                    user_id=user_id)
            vats = vats or _vat_rates()
            # Lines and periods are written by one flush: one INSERT each for all of them.
            with db.session.no_autoflush:
                position = 0
                for item in planned.contracts:
                    for values in bulk.contract_lines(item, position + 1, vats):
                        draft.lines.append(DocumentLine(**values))
                        position += 1
                    db.session.add(BilledPeriod(
                        contract_id=item.contract.id, period_start=item.period.start,
                        period_end=item.period.end, run_id=run.id if run else None,
                        document_id=draft.id, amount=item.total))
                recalculate(draft)
            db.session.flush()
    except IntegrityError:
        return None
    if run is not None and run.issue:
        issuing.issue_document(draft, on=run.run_date, render=False, user_id=user_id)
    return draft


def _vat_rates() -> dict[int, VatRate]:
    return {rate.id: rate for rate in db.session.scalars(select(VatRate))}


# --- runs --------------------------------------------------------------------------------


def start_run(run_date: date, contract_type_id: int | None, *, consolidate: bool,
              issue: bool, user_id: int | None = None, queued: bool = True) -> BillingRun:
    """Record a run and queue it on the billing queue (in-process without a worker).

    The run is planned where it is carried out (its ``total`` is set then, and its page
    shows it being planned until), so a run is planned once. ``queued=False`` leaves it to
    the caller (the CLI runs it here, with a progress bar).
    """
    run = BillingRun(run_date=run_date, contract_type_id=contract_type_id,
                     consolidate=consolidate, issue=issue, created_by_id=user_id)
    db.session.add(run)
    db.session.flush()
    audit.record("contracts.billing_run", run,
                 f"Billing run {run.id} as on {run_date}"
                 f"{' (issued)' if issue else ' (drafts)'}", user_id=user_id)
    if queued:
        ask_for_run(run)
    return run


def ask_for_run(run: BillingRun) -> None:
    """Ask for the run's job after commit, on the billing queue.

    Retried by RQ when its worker dies: the run goes on from its last commit (carry_out).
    """
    enqueue(execute_run, run.id, tenant_id=scoping.require_tenant_id(),
            queue=BILLING_QUEUE, job_id=f"billing-run-{run.id}", retry=job_retry())


def resume_stalled_runs() -> dict[int, int]:
    """Ask again for the job of every run its worker left running and RQ will not retry.

    A run is stalled when it has shown no sign of life (``heartbeat_at``, set at each
    commit) for ``STALLED_AFTER`` and RQ has no job of it to run: its retries were used
    up (a worker killed each time), or Redis lost it. A run carried out by the CLI has no
    job but commits often, so it is not taken for stalled while it lives. How many runs
    were asked for, per tenant.
    """
    since, asked = clock.now() - STALLED_AFTER, {}
    for tenant_id, _ in tenants_and_zones():
        with scoping.tenant_context(tenant_id):
            quiet = db.session.scalars(select(BillingRun).where(
                BillingRun.status == RunStatus.RUNNING,
                func.coalesce(BillingRun.heartbeat_at, BillingRun.created_at) < since)).all()
            stalled = [run for run in quiet if job_is_lost(f"billing-run-{run.id}")]
            for run in stalled:
                ask_for_run(run)
            if stalled:
                asked[tenant_id] = len(stalled)
            db.session.commit()
    return asked


@job
def run_stalled_runs_sweep() -> int:
    """Scheduler job: resume billing runs whose worker died for good; how many."""
    return sum(resume_stalled_runs().values())


@job
def execute_run(run_id: int) -> int:
    """Billing-queue job: carry out a run."""
    return carry_out(run_id)


def carry_out(run_id: int, progress: Callable[[int, int], None] | None = None) -> int:
    """Make the run's invoices and count progress; how many were made.

    The run is planned, then made ``COMMIT_EVERY`` invoices at a time, each chunk in one
    savepoint by a few set-wise statements (``bulk.write_chunk``) and committed with the
    progress. A chunk that meets a period billed meanwhile (another run) is made invoice
    by invoice instead, each skipping what is taken. A run killed between two commits
    loses the uncommitted chunk, and carried out again (its job retried by RQ) makes
    exactly that and what follows; a run that ended (done or failed) is not carried out
    again, so a retry of a job that died after the run's last commit does nothing.
    ``progress`` is told (contracts done in the chunk, contracts in all) after each commit.
    """
    with _loaded_across_commits():
        return _carry_out(run_id, progress)


@contextmanager
def _loaded_across_commits() -> Iterator[None]:
    """Keep what the plan loaded after each commit (else every contract, line version and
    customer would be read again, one SELECT each, by the next chunk). The plan is made
    once at the start, so nothing read later is expected to be fresher."""
    session = db.session()
    before = session.expire_on_commit
    session.expire_on_commit = False
    try:
        yield
    finally:
        session.expire_on_commit = before


def _carry_out(run_id: int, progress: Callable[[int, int], None] | None) -> int:
    run = db.session.get(BillingRun, run_id)
    if run is None or run.status != RunStatus.RUNNING:
        return 0
    run.heartbeat_at = clock.now()
    db.session.commit()  # alive, before the plan (which may take a while)
    made = 0
    try:
        planned = plan(run.run_date, run.contract_type_id, consolidate=run.consolidate,
                       with_contacts=run.issue)
        run.total = run.done + sum(len(p.contracts) for p in planned)
        context = bulk.RunContext.load(run.run_date, issue=run.issue,
                                       user_id=run.created_by_id, run_id=run.id)
        for start in range(0, len(planned), COMMIT_EVERY):
            chunk = planned[start:start + COMMIT_EVERY]
            try:
                ids = bulk.write_chunk(chunk, context)
            except bulk.PeriodTaken:
                made_here = [make_invoice(p, run, user_id=run.created_by_id,
                                          vats=context.vats) for p in chunk]
                ids = [document.id for document in made_here if document is not None]
            contracts = sum(len(p.contracts) for p in chunk)
            run.done += contracts
            run.invoices += len(ids)
            run.heartbeat_at = clock.now()
            made += len(ids)
            if run.issue and ids:
                enqueue(store_pdfs, ids, tenant_id=scoping.require_tenant_id(),
                        job_id=f"billing-run-{run.id}-pdfs-{ids[0]}")
            db.session.commit()  # invoices, billed periods and progress together
            if progress is not None:
                progress(contracts, run.total)
    except (services.ContractError, DocumentError) as exc:
        db.session.rollback()
        run = db.session.get(BillingRun, run_id)
        run.status, run.error, run.finished_at = RunStatus.FAILED, str(exc), clock.now()
        db.session.commit()
        return made
    run.status, run.finished_at = RunStatus.DONE, clock.now()
    db.session.commit()
    return made


def completeness(period_start: date, period_end: date) -> list[dict[str, object]]:
    """Every contract active in the period, each site, and the invoice that billed it (R4.4)."""
    contracts = db.session.scalars(
        select(Contract).where(
            Contract.start_date < period_end,
            or_(Contract.termination_date.is_(None), Contract.termination_date >= period_start),
            or_(Contract.end_date.is_(None), Contract.end_date >= period_start))
        .order_by(Contract.number)).all()
    billed = {row.contract_id: row for row in db.session.scalars(
        select(BilledPeriod).where(BilledPeriod.period_start < period_end,
                                   BilledPeriod.period_end > period_start))}
    return [{"contract": contract, "sites": contract.sites,
             "billed": billed.get(contract.id)} for contract in contracts]
