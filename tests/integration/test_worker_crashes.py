"""A worker killed half way through a billing run and a bank import, and started again
(PostgreSQL, Redis, real RQ worker processes; see tests/support/crashing_worker.py).

The work horse dies by SIGKILL where nothing can clean up. Either its parent worker lives
and sees it die, or (``whole``) the parent dies with it, as in a machine or container
restart: then the job is left started in Redis until the dead worker's heartbeat runs
out, and the next worker to start finds it abandoned. Both jobs are retried by RQ
(``saas.queue.job_retry``). A billing run commits an invoice chunk at a time and goes on
from its last commit; a bank import is one transaction and is imported again whole; the
booking of its sure matches, after it, commits a part at a time and goes on from its last
part. When RQ has lost the job for good (here: Redis emptied), the sweeps take over: a
billing run is asked for again, a bank import ends asking for the file again, what a
booking left pending is booked.
"""

from __future__ import annotations

import io
import time
from datetime import date, timedelta
from decimal import Decimal

import pytest
from flask.testing import FlaskClient
from rq.job import Job, JobStatus
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import OperationalError

from saas import clock
from saas.billing.catalog.models import VatRate
from saas.billing.contracts import billing
from saas.billing.contracts import services as contracts
from saas.billing.contracts.models import BilledPeriod, BillingRun, RunStatus
from saas.billing.customers.models import Customer
from saas.billing.documents import chain
from saas.billing.documents.models import Document
from saas.billing.imports.models import ImportRun, ImportStatus
from saas.billing.payments.bank import jobs
from saas.billing.payments.models import BankLine, BankLineStatus, BankStatement, Payment
from saas.extensions import db
from saas.queue import BILLING_QUEUE, DEFAULT_QUEUE, get_queue, redis_connection
from saas.tenants import scoping
from saas.tenants.models import Role
from tests.conftest import ON_POSTGRES
from tests.factories import (
    BankAccountFactory,
    CustomerFactory,
    TenantFactory,
    VatRateFactory,
    member,
)
from tests.factories_bank import camt, credit, open_invoice
from tests.helpers import heartbeat_runs_out, run_crashing_worker, run_jobs
from tests.integration.test_documents_cli import tamper

RUN_DAY = date(2026, 4, 15)

pytestmark = pytest.mark.postgres


@pytest.fixture()
def committed(app, database_urls, monkeypatch):
    """Make tenants committed for real (the worker is another process); delete them after."""
    if not ON_POSTGRES or not app.config["REDIS_URL"].startswith("redis://"):
        pytest.skip("a real worker process needs PostgreSQL and a Redis server")
    monkeypatch.setitem(app.config, "JOB_RETRY_INTERVALS", (0, 0))  # retried at once
    created: list[int] = []

    def tenant(name: str):
        made = TenantFactory(name=name, currency="NOK")
        created.append(made.id)
        return made

    try:
        with app.app_context():
            yield tenant
    finally:
        with app.app_context():
            for tenant_id in created:
                tamper(database_urls, tenant_id,
                       "DELETE FROM journal_entries WHERE tenant_id = :t",
                       "DELETE FROM allocations WHERE tenant_id = :t",
                       "DELETE FROM payments WHERE tenant_id = :t",
                       "DELETE FROM documents WHERE tenant_id = :t",
                       "DELETE FROM users WHERE id IN (SELECT user_id FROM memberships"
                       " WHERE tenant_id = :t)",
                       "DELETE FROM tenants WHERE id = :t")


def signed_in(app, user) -> FlaskClient:
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"], session["_fresh"] = str(user.id), True
    return client


def job_status(app, job_id: str) -> JobStatus:
    return Job.fetch(job_id, connection=redis_connection(app)).get_status()


# --- a billing run -------------------------------------------------------------------------


def contracts_to_bill(tenant) -> list[int]:
    """Three customers' contracts, each with a period due on RUN_DAY; their ids."""
    vat = VatRateFactory(tenant=tenant, rate=Decimal(25)).id
    made = []
    with scoping.tenant_context(tenant.id):
        for n, name in enumerate(("Storsenteret AS", "Byskolen", "Kaifronten AS"), start=1):
            customer = CustomerFactory(tenant=tenant, name=name)
            contract = contracts.create_contract(
                db.session.get(Customer, customer.id),
                {"start_date": date(2026, 1, 1), "billing_period": "monthly",
                 "in_advance": True, "number": f"C-{n}"})
            contracts.add_line(contract, {"description": "Vakthold", "quantity": Decimal(1),
                                          "unit_price": Decimal(1000 * n), "vat_rate_id": vat})
            made.append(contract.id)
        db.session.commit()
    return made


def vat_of(tenant) -> int:
    with scoping.tenant_context(tenant.id):
        return db.session.scalar(select(VatRate.id))


def start_run(tenant) -> int:
    with scoping.tenant_context(tenant.id):
        run = billing.start_run(RUN_DAY, None, consolidate=False, issue=True)
        db.session.commit()  # the job goes to Redis now
        return run.id


def billed(tenant, run_id: int) -> dict:
    with scoping.tenant_context(tenant.id):
        db.session.expire_all()  # the worker wrote on connections of its own
        run = db.session.get(BillingRun, run_id)
        invoices = db.session.scalars(select(Document).order_by(Document.chain_position)).all()
        return {
            "run": (run.status, run.done, run.total, run.invoices),
            "periods": sorted(db.session.execute(select(
                BilledPeriod.contract_id, BilledPeriod.period_start, BilledPeriod.run_id)).all()),
            "numbers": [invoice.number for invoice in invoices],
            "chain": chain.verify_series("invoice", invoices),
        }


def test_a_billing_run_whose_horse_is_killed_half_way_is_retried_from_its_last_commit(
    app, database_urls, committed
):
    tenant = committed("Vaktselskapet Krasj AS")
    contract_ids = contracts_to_bill(tenant)
    run_id = start_run(tenant)
    run_crashing_worker(app, database_urls, "billing-run-chunk")
    after = billed(tenant, run_id)
    assert after["run"] == (RunStatus.DONE, 3, 3, 3)
    # Each contract's April once; the second invoice's number, taken by the chunk that
    # died uncommitted, went back with it: no gap, no number twice, the chain unbroken.
    assert after["periods"] == [(contract_id, date(2026, 4, 1), run_id)
                                for contract_id in sorted(contract_ids)]
    assert after["numbers"] == ["INV-2026-00001", "INV-2026-00002", "INV-2026-00003"]
    assert after["chain"] == []
    assert job_status(app, f"billing-run-{run_id}") == JobStatus.FINISHED


def test_a_billing_run_whose_whole_worker_dies_is_finished_by_the_next_worker(
    app, database_urls, committed
):
    tenant = committed("Vaktselskapet Omstart AS")
    contract_ids = contracts_to_bill(tenant)
    owner = signed_in(app, member(tenant, Role.OWNER))
    db.session.commit()
    run_id = start_run(tenant)
    page = f"/t/{tenant.slug}/contracts/runs/{run_id}"
    run_crashing_worker(app, database_urls, "billing-run-chunk", whole=True)

    stopped = billed(tenant, run_id)
    assert stopped["run"] == (RunStatus.RUNNING, 1, 3, 1)  # the first chunk, committed
    assert stopped["numbers"] == ["INV-2026-00001"]
    shown = owner.get(page, headers={"HX-Request": "true"}).text
    assert "1 of 3 contracts · 1 invoices issued" in shown and "every 1s" in shown
    assert job_status(app, f"billing-run-{run_id}") == JobStatus.STARTED  # nobody at it

    heartbeat_runs_out(app, BILLING_QUEUE)
    run_crashing_worker(app, database_urls, "billing-run-chunk", crash=False)
    assert job_status(app, f"billing-run-{run_id}") == JobStatus.FINISHED
    after = billed(tenant, run_id)
    assert after["run"] == (RunStatus.DONE, 3, 3, 3)
    assert after["periods"] == [(contract_id, date(2026, 4, 1), run_id)
                                for contract_id in sorted(contract_ids)]
    assert after["numbers"] == ["INV-2026-00001", "INV-2026-00002", "INV-2026-00003"]
    assert after["chain"] == []
    shown = owner.get(page, headers={"HX-Request": "true"}).text
    assert "3 of 3 contracts · 3 invoices issued" in shown and "every 1s" not in shown


def test_a_billing_run_whose_job_redis_lost_is_resumed_by_the_sweep(
    app, database_urls, committed
):
    tenant = committed("Vaktselskapet Tapt AS")
    contracts_to_bill(tenant)
    run_id = start_run(tenant)
    run_crashing_worker(app, database_urls, "billing-run-chunk", whole=True)
    assert billed(tenant, run_id)["run"] == (RunStatus.RUNNING, 1, 3, 1)
    resume = app.test_cli_runner()
    assert resume.invoke(args=["contracts", "resume-runs"]).output == "0 billing runs resumed.\n"
    later = clock.now() + billing.STALLED_AFTER + timedelta(minutes=1)
    with clock.frozen(later):
        assert billing.resume_stalled_runs() == {}  # quiet, but its job is RQ's to retry
        redis_connection(app).flushdb()  # Redis restarted with nothing: the job is lost
        assert resume.invoke(args=["contracts", "resume-runs"]).output == (
            "1 billing runs resumed.\n")
        assert billing.resume_stalled_runs() == {}  # asked for once: the job is queued
    run_crashing_worker(app, database_urls, "billing-run-chunk", crash=False)
    after = billed(tenant, run_id)
    assert after["run"] == (RunStatus.DONE, 3, 3, 3)
    assert after["numbers"] == ["INV-2026-00001", "INV-2026-00002", "INV-2026-00003"]
    assert after["chain"] == []
    with clock.frozen(later):
        assert billing.resume_stalled_runs() == {}


def test_a_billing_run_retried_after_it_ended_makes_nothing(app, committed):
    """Killed after the run's last commit, before RQ knew: the retry finds the run done."""
    tenant = committed("Vaktselskapet Etterpå AS")
    contracts_to_bill(tenant)
    run_id = start_run(tenant)
    run_jobs(app)  # no crash: a worker in this process will do
    assert billed(tenant, run_id)["run"] == (RunStatus.DONE, 3, 3, 3)
    with scoping.tenant_context(tenant.id):  # another contract is due meanwhile
        customer = db.session.scalar(select(Customer).where(Customer.name == "Byskolen"))
        late = contracts.create_contract(customer, {"start_date": date(2026, 1, 1),
                                                    "billing_period": "monthly", "number": "C-4"})
        contracts.add_line(late, {"description": "Alarm", "quantity": Decimal(1),
                                  "unit_price": Decimal(500), "vat_rate_id": vat_of(tenant)})
        db.session.commit()
        assert len(billing.plan(RUN_DAY)) == 1  # a run now would bill it
    assert billing.execute_run(run_id, tenant_id=tenant.id) == 0  # the retried job
    after = billed(tenant, run_id)
    assert after["run"] == (RunStatus.DONE, 3, 3, 3) and len(after["numbers"]) == 3


# --- a bank import -------------------------------------------------------------------------

KIDS = ("12345678903", "00000000018")


def bank_shop(app, tenant) -> dict:
    """Two open invoices paid by KID, a staff member and the bank account."""
    account_id = BankAccountFactory(tenant=tenant).id
    fjord = CustomerFactory(tenant=tenant, name="Fjord Bakeri AS").id
    invoices = [open_invoice(tenant, fjord, amount, reference=kid)
                for amount, kid in zip(("1000.00", "250.00"), KIDS, strict=True)]
    user = member(tenant, Role.STAFF)
    db.session.commit()
    return {"tenant": tenant, "account": account_id, "invoices": invoices,
            "client": signed_in(app, user), "base": f"/t/{tenant.slug}/bank"}


def upload_large(app, shop, monkeypatch) -> str:
    """Upload a statement too large for the request: its import run's page."""
    monkeypatch.setitem(app.config, "BANK_IMPORT_INLINE_LINES", 1)
    data = camt(credit("1000.00", reference=KIDS[0]), credit("250.00", reference=KIDS[1]),
                credit("77.00", name="Ukjent"))
    response = shop["client"].post(f"{shop['base']}/upload", data={
        "bank_account_id": str(shop["account"]), "format": "",
        "file": (io.BytesIO(data), "november.xml")}, content_type="multipart/form-data")
    assert response.status_code == 302, response.text
    return response.headers["Location"]


def imported(shop) -> dict:
    with scoping.tenant_context(shop["tenant"].id):
        db.session.expire_all()
        def count(model: type) -> int:
            return db.session.scalar(select(func.count()).select_from(model))

        return {
            "statements": count(BankStatement), "payments": count(Payment),
            "lines": sorted(db.session.execute(select(BankLine.position, BankLine.status)).all()),
            "run": db.session.scalar(select(ImportRun.status).order_by(ImportRun.id.desc())
                                     .limit(1)),  # the latest
            "invoices": [db.session.get(Document, i).status.value for i in shop["invoices"]],
        }


IMPORTED = "Imported 3 lines: 2 matched surely, booked after the import, 1 waiting"
BOOKED_ONCE = {"statements": 1, "payments": 2, "run": ImportStatus.DONE,
               "lines": [(1, BankLineStatus.MATCHED), (2, BankLineStatus.MATCHED),
                         (3, BankLineStatus.UNMATCHED)],
               "invoices": ["paid", "paid"]}


def test_a_bank_import_whose_horse_is_killed_while_importing_is_imported_once(
    app, database_urls, committed, monkeypatch
):
    shop = bank_shop(app, committed("Bank Krasj AS"))
    page = upload_large(app, shop, monkeypatch)
    run_crashing_worker(app, database_urls, "bank-import-part")
    assert imported(shop) == BOOKED_ONCE
    shown = shop["client"].get(page, headers={"HX-Request": "true"}).text
    assert IMPORTED in shown
    assert "every 1s" not in shown


def test_a_bank_import_whose_whole_worker_dies_is_imported_once_by_the_next_worker(
    app, database_urls, committed, monkeypatch
):
    shop = bank_shop(app, committed("Bank Omstart AS"))
    page = upload_large(app, shop, monkeypatch)
    run_crashing_worker(app, database_urls, "bank-import-part", whole=True)

    # Nothing half saved: the statement, its lines and payments went with the transaction.
    assert imported(shop) == {"statements": 0, "payments": 0, "lines": [],
                              "run": ImportStatus.RUNNING, "invoices": ["issued", "issued"]}
    shown = shop["client"].get(page, headers={"HX-Request": "true"}).text
    assert "lines…" in shown and "every 1s" in shown  # still to be imported, it says so

    heartbeat_runs_out(app, DEFAULT_QUEUE)
    run_crashing_worker(app, database_urls, "bank-import-part", crash=False)
    assert imported(shop) == BOOKED_ONCE
    shown = shop["client"].get(page, headers={"HX-Request": "true"}).text
    assert IMPORTED in shown
    assert "every 1s" not in shown
    assert not get_queue(DEFAULT_QUEUE, app).count  # nothing left to run


def test_a_bank_import_whose_job_redis_lost_ends_and_the_file_uploaded_again_books_once(
    app, database_urls, committed, monkeypatch
):
    shop = bank_shop(app, committed("Bank Tapt AS"))
    page = upload_large(app, shop, monkeypatch)
    run_crashing_worker(app, database_urls, "bank-import-part", whole=True)
    later = clock.now() + jobs.LOST_AFTER + timedelta(minutes=1)
    with clock.frozen(later):
        assert jobs.end_lost_imports() == {}  # its job is RQ's to retry
        redis_connection(app).flushdb()  # Redis restarted with nothing: the job is lost
        assert jobs.end_lost_imports() == {shop["tenant"].id: 1}
    shown = shop["client"].get(page, headers={"HX-Request": "true"}).text
    assert "The import failed." in shown and "every 1s" not in shown
    assert "Nothing was imported: the import stopped before it ended. Upload the file again." \
        in shown
    assert imported(shop) == {"statements": 0, "payments": 0, "lines": [],
                              "run": ImportStatus.FAILED, "invoices": ["issued", "issued"]}

    again = upload_large(app, shop, monkeypatch)  # not refused as imported before
    run_crashing_worker(app, database_urls, "bank-import-part", crash=False)
    assert imported(shop) == BOOKED_ONCE
    assert IMPORTED in shop["client"].get(
        again, headers={"HX-Request": "true"}).text


def test_a_bank_import_job_finds_a_live_job_at_its_run_and_leaves_it(
    app, committed, monkeypatch
):
    """Two jobs for one run at once (a retry while the first still runs): one imports."""
    shop = bank_shop(app, committed("Bank Samtidig AS"))
    queued = []

    def keep(func, *args, **kwargs):
        queued.append((func, args, kwargs))

    monkeypatch.setattr("saas.billing.payments.bank.views.enqueue", keep)
    monkeypatch.setattr("saas.billing.payments.bank.booking.enqueue", keep)
    upload_large(app, shop, monkeypatch)
    [(job, args, kwargs)] = queued
    imported_inside = []
    real_import = jobs.import_statement

    def import_while_another_job_comes(*a, **k):
        result = real_import(*a, **k)
        # The first job holds the run (its transaction is open): the second leaves it.
        with app.app_context():
            job(*args, tenant_id=kwargs["tenant_id"])
            imported_inside.append(imported(shop))
        return result

    monkeypatch.setattr(jobs, "import_statement", import_while_another_job_comes)
    with app.app_context():
        job(*args, tenant_id=kwargs["tenant_id"])
    assert imported_inside == [{"statements": 0, "payments": 0, "lines": [],
                                "run": ImportStatus.RUNNING,
                                "invoices": ["issued", "issued"]}]
    # Imported once, and the booking of its sure matches asked for once.
    [_, (book, book_args, book_kwargs)] = queued
    assert imported(shop) == {**BOOKED_ONCE, "payments": 0, "invoices": ["issued", "issued"],
                              "lines": [(1, BankLineStatus.PENDING),
                                        (2, BankLineStatus.PENDING),
                                        (3, BankLineStatus.UNMATCHED)]}
    with app.app_context():
        assert book(*book_args, tenant_id=book_kwargs["tenant_id"]) == 2
    assert imported(shop) == BOOKED_ONCE


def test_a_booking_whose_horse_is_killed_after_its_first_part_goes_on_from_there(
    app, database_urls, committed, monkeypatch
):
    """The import committed; its sure matches are booked a part (here one line) at a time:
    killed after the first part's commit, the retried job books the rest, each once."""
    shop = bank_shop(app, committed("Bank Bokføring AS"))
    page = upload_large(app, shop, monkeypatch)
    run_crashing_worker(app, database_urls, "bank-book-part")
    assert imported(shop) == BOOKED_ONCE
    shown = shop["client"].get(page, headers={"HX-Request": "true"}).text
    assert IMPORTED in shown and "every 1s" not in shown


def pending_lines_free(database_urls, tenant_id: int) -> None:
    """Wait (up to 10 s) until no session holds the tenant's pending lines: PostgreSQL
    ends a killed worker's transaction once it sees its connection closed, and until then
    a booking skips the lines it locked."""
    engine = create_engine(database_urls["owner"])
    try:
        for _ in range(100):
            try:
                with engine.begin() as connection:  # rolled back when a lock is held
                    connection.execute(text("SELECT set_config('app.tenant_id', :t, true)"),
                                       {"t": str(tenant_id)})
                    connection.execute(text("SELECT id FROM bank_lines WHERE status ="
                                            " 'pending' FOR UPDATE NOWAIT")).all()
                return
            except OperationalError:  # lock not available
                time.sleep(0.1)
        raise AssertionError("a killed worker's transaction still holds pending lines")
    finally:
        engine.dispose()


def test_a_booking_whose_job_is_lost_is_finished_by_the_imports_sweep(
    app, database_urls, committed, monkeypatch
):
    shop = bank_shop(app, committed("Bank Halvveis AS"))
    page = upload_large(app, shop, monkeypatch)
    run_crashing_worker(app, database_urls, "bank-book-part", whole=True)
    redis_connection(app).flushdb()  # Redis restarted with nothing: the job is lost
    half = {**BOOKED_ONCE, "payments": 1, "invoices": ["paid", "issued"],
            "lines": [(1, BankLineStatus.MATCHED), (2, BankLineStatus.PENDING),
                      (3, BankLineStatus.UNMATCHED)]}
    assert imported(shop) == half  # the first part stays booked, the second is left
    shown = shop["client"].get(page, headers={"HX-Request": "true"}).text
    assert "Booking the sure matches: 1 line left" in shown and "every 1s" in shown
    assert jobs.book_left_pending() == {}  # not before LOST_AFTER: a job may be at it
    pending_lines_free(database_urls, shop["tenant"].id)
    with clock.frozen(clock.now() + jobs.LOST_AFTER + timedelta(minutes=1)):
        assert jobs.book_left_pending() == {shop["tenant"].id: 1}
        assert jobs.book_left_pending() == {}
    assert imported(shop) == BOOKED_ONCE
    shown = shop["client"].get(page, headers={"HX-Request": "true"}).text
    assert IMPORTED in shown and "every 1s" not in shown
