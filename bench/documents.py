"""Sales documents: PDF render time and issue throughput on PostgreSQL (PDF excluded).

Issuing, with ``render=False`` (the PDF is timed apart), on drafts of 5 manual lines
prepared first (not timed):

- ``issues_per_s``: 2,000 drafts issued 500 per transaction by ``issue_documents`` — how
  a billing run or the list's *Issue selected* issues a month's invoices: one draw of
  numbers, one write of the chain head, the documents and audit entries written in bulk.
- ``issues_per_s_one_per_transaction`` with ``issue_p50_ms``/``issue_p95_ms``: 2,000
  drafts issued one by one, each in its own transaction as a request does it (load the
  draft, snapshot the parties, freeze the totals, draw the number under the series lock,
  extend the hash chain, audit, commit).
- ``issues_per_s_8_workers``: 2,000 more issued one per transaction by 8 processes at once,
  started together: the series lock under contention.

Writes bench/results/documents.json with those, the SQL statements one issue sends, and
``render_ms_10``, ``render_ms_100``, ``render_ms_1000`` from bench/documents_render.py.
Target: at least 300 issues per second.

``python bench/documents.py --profile`` also issues 300 more drafts under cProfile, after
the timed run, and prints the most expensive functions by cumulative time (all, and the
application's own).
"""

from __future__ import annotations

import cProfile
import io
import multiprocessing
import pstats
import sys
import time
import uuid
from datetime import date
from decimal import Decimal

from harness import percentiles, throwaway_app, write_results
from sqlalchemy import event, insert, select
from sqlalchemy import inspect as sa_inspect

from saas import create_app
from saas.billing.catalog.models import VatCategory, VatRate
from saas.billing.customers.models import Contact, Customer
from saas.billing.documents import issuing, services
from saas.billing.documents.models import Document, DocumentLine
from saas.billing.documents.states import DocumentKind, DocumentStatus
from saas.extensions import db
from saas.tenants import scoping
from saas.tenants import services as tenant_services
from saas.tenants.models import BankAccount

DRAFTS = 2_000
LINES = 5
WORKERS = 8
BATCH = 500
ISSUE_DAY = date(2026, 11, 20)
TARGET_PER_S = 300
WARM_UP = 20
PROFILED = 300


def seed_shop() -> dict[str, int]:
    """A tenant with a bank account, a 25 % and a 12 % VAT rate and a customer."""
    tenant = tenant_services.create_tenant("Bench Invoicing AS", currency="NOK")
    with scoping.tenant_context(tenant.id):
        standard = VatRate(code="S25", name="Standard", rate=Decimal("25.00"),
                           category=VatCategory.STANDARD)
        reduced = VatRate(code="R12", name="Reduced", rate=Decimal("12.00"),
                          category=VatCategory.STANDARD)
        customer = Customer(number=10001, name="Fjord Bakeri AS", country="NO",
                            currency="NOK", address_line1="Kaia 2", postal_code="5003",
                            city="Bergen")
        db.session.add_all([standard, reduced, customer])
        db.session.add(BankAccount(label="Main", iban="NO9386011117947", bic="DNBANOKKXXX",
                                   currency="NOK", is_default=True))
        db.session.flush()
        db.session.add(Contact(customer_id=customer.id, name="Accounts",
                               email="faktura@fjordbakeri.example", receives_invoices=True))
        shop = {"tenant": tenant.id, "customer": customer.id, "standard": standard.id,
                "reduced": reduced.id}
    db.session.commit()
    return shop


def prepare_drafts(shop: dict[str, int], count: int) -> list[int]:
    """Make count draft invoices of LINES manual lines (bulk, not timed); return their ids.

    One draft is made through the services (pricing, VAT, totals); the others are copies
    of it inserted in bulk, each with its own public id and line descriptions.
    """
    with scoping.tenant_context(shop["tenant"]):
        customer = db.session.get(Customer, shop["customer"])
        template = services.create_document(DocumentKind.INVOICE, customer)
        for line in range(LINES):
            services.add_line(template, {
                "description": f"Service visit {line + 1}",
                "quantity": Decimal(line + 1),
                "unit_price": Decimal("450.00") + line,
                "discount_percent": Decimal(10) if line == 4 else Decimal(0),
                "vat_rate_id": shop["standard"] if line % 2 else shop["reduced"],
            })
        db.session.flush()
        header = _columns(template, skip={"id", "public_id", "pdf"})
        lines = [_columns(line, skip={"id", "document_id"}) for line in template.lines]
        ids = [template.id]
        for start in range(0, count - 1, 500):
            batch = min(500, count - 1 - start)
            new_ids = db.session.scalars(
                insert(Document).returning(Document.id, sort_by_parameter_order=True),
                [{**header, "public_id": uuid.uuid4().hex} for _ in range(batch)]).all()
            db.session.execute(insert(DocumentLine), [
                {**line, "document_id": document_id,
                 "description": f"{line['description']} ({document_id})"}
                for document_id in new_ids for line in lines])
            ids.extend(new_ids)
    db.session.commit()
    db.session.expunge_all()
    return ids


def _columns(obj: object, skip: set[str]) -> dict[str, object]:
    return {column.key: getattr(obj, column.key)
            for column in sa_inspect(obj).mapper.column_attrs
            if column.key not in skip and column.columns[0].computed is None}


def issue_all(tenant_id: int, ids: list[int]) -> list[float]:
    """Issue each draft in its own transaction; return each one's milliseconds."""
    timings = []
    with scoping.tenant_context(tenant_id):
        for document_id in ids:
            started = time.perf_counter()
            document = db.session.get(Document, document_id)
            issuing.issue_document(document, on=ISSUE_DAY, render=False)
            db.session.commit()
            timings.append((time.perf_counter() - started) * 1000)
    return timings


def issue_in_batches(tenant_id: int, ids: list[int], size: int) -> float:
    """Issue the drafts `size` at a time, one transaction per batch (a billing run)."""
    started = time.perf_counter()
    with scoping.tenant_context(tenant_id):
        for start in range(0, len(ids), size):
            batch = db.session.scalars(
                select(Document).where(Document.id.in_(ids[start:start + size]))
                .order_by(Document.id)).all()
            issuing.issue_documents(batch, on=ISSUE_DAY, render=False)
            db.session.commit()
    return time.perf_counter() - started


def _worker(config: dict, tenant_id: int, ids: list[int], barrier, results) -> None:
    try:
        app = create_app(config)
        with app.app_context(), scoping.tenant_context(tenant_id):
            db.session.get(Document, ids[0])  # connect before the start signal
            db.session.rollback()
            barrier.wait(timeout=120)
            started = time.monotonic()
            issue_all(tenant_id, ids)
            results.put(("ok", started, time.monotonic()))
            db.session.remove()
            db.engine.dispose()
    except BaseException as exc:  # noqa: B036 - reported to the parent
        results.put(("error", repr(exc), 0.0))


def issue_in_parallel(app, tenant_id: int, ids: list[int], workers: int) -> float:
    """Issue the drafts from several processes at once; return documents per second."""
    db.session.remove()
    db.engine.dispose()  # no pooled connection is inherited by the forked workers
    context = multiprocessing.get_context("fork")
    barrier, results = context.Barrier(workers), context.Queue()
    config = {key: app.config[key] for key in (
        "SQLALCHEMY_DATABASE_URI", "MIGRATION_DATABASE_URL", "APP_DB_ROLE", "REDIS_URL",
        "SECRET_KEY")}
    processes = [
        context.Process(target=_worker,
                        args=(config, tenant_id, ids[n::workers], barrier, results))
        for n in range(workers)
    ]
    for process in processes:
        process.start()
    try:
        outcomes = [results.get(timeout=600) for _ in processes]
    finally:
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
    failed = [detail for status, detail, _ in outcomes if status != "ok"]
    if failed:
        raise RuntimeError(f"a worker failed: {failed[0]}")
    elapsed = max(end for *_, end in outcomes) - min(start for _, start, _ in outcomes)
    return len(ids) / elapsed


def check_numbers(tenant_id: int, expected: int) -> None:
    """Every draft was issued, with the numbers 1..expected."""
    with scoping.tenant_context(tenant_id):
        counters = db.session.scalars(
            select(Document.counter).where(Document.status != DocumentStatus.DRAFT)
            .order_by(Document.counter)).all()
    db.session.rollback()
    assert counters == list(range(1, expected + 1)), "numbers are missing or repeated"


def render_figures() -> dict[str, float]:
    try:
        from documents_render import measure_render
    except ImportError:  # bench/documents_render.py is not there (yet)
        print("bench/documents_render.py not found: render times left out", file=sys.stderr)
        return {}
    return measure_render()


def main(profile: bool = False) -> None:
    results: dict[str, object] = {"drafts": DRAFTS, "lines_per_draft": LINES}
    with throwaway_app() as app:
        shop = seed_shop()
        started = time.perf_counter()
        single = prepare_drafts(shop, DRAFTS)
        parallel = prepare_drafts(shop, DRAFTS)
        batched = prepare_drafts(shop, DRAFTS)
        print(f"prepared {3 * DRAFTS} drafts in {time.perf_counter() - started:.1f} s")

        # Warm caches, prepared plans and the pool, counting the SQL statements an issue takes.
        statements = []
        listener = lambda *args: statements.append(1)  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        issue_all(shop["tenant"], single[:WARM_UP])
        event.remove(db.engine, "before_cursor_execute", listener)
        results["statements_per_issue"] = round(len(statements) / WARM_UP, 1)

        started = time.perf_counter()
        timings = issue_all(shop["tenant"], single[WARM_UP:])
        elapsed = time.perf_counter() - started
        results["issues_per_s_one_per_transaction"] = round(len(timings) / elapsed, 1)
        latency = percentiles(timings)
        results["issue_p50_ms"], results["issue_p95_ms"] = latency["p50"], latency["p95"]

        profiled = 0
        if profile:  # apart from the timed run: cProfile slows everything down
            drafts = prepare_drafts(shop, PROFILED)
            profiler = cProfile.Profile()
            profiler.runcall(issue_all, shop["tenant"], drafts)
            profiled = len(drafts)

        results["issues_per_s_8_workers"] = round(
            issue_in_parallel(app, shop["tenant"], parallel, WORKERS), 1)
        results["issues_per_s"] = round(
            DRAFTS / issue_in_batches(shop["tenant"], batched, BATCH), 1)
        check_numbers(shop["tenant"], 3 * DRAFTS + profiled)

    results.update(render_figures())
    results["issues_target_met"] = results["issues_per_s"] >= TARGET_PER_S
    write_results("documents", results)
    if profile:
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out).sort_stats("cumulative")
        stats.print_stats(30)
        stats.print_stats("saas/", 25)  # the application's own functions
        print(out.getvalue())


if __name__ == "__main__":
    main(profile="--profile" in sys.argv[1:])
