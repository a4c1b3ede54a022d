"""Gapless, unique numbers under real concurrency: 8 processes issuing at once (PostgreSQL).

The data is committed for real (the workers are other processes on other connections,
which cannot see the db_session fixture's transaction) in a tenant of its own, and
deleted afterwards as the database owner: the immutability trigger refuses to delete
issued documents, so it is disabled inside that one transaction.
"""

from __future__ import annotations

import faulthandler
import json
import multiprocessing
import time
import traceback
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import selectinload

from saas import create_app
from saas.billing.customers.models import Customer
from saas.billing.documents import chain, issuing, numbering, services
from saas.billing.documents.models import DEFAULT_FORMATS, Document
from saas.billing.documents.states import DocumentKind
from saas.extensions import db
from saas.tenants import scoping
from saas.tenants.models import Tenant
from tests.conftest import _test_config
from tests.factories import CustomerFactory, TenantFactory, VatRateFactory

WORKERS, PER_WORKER = 8, 250
TOTAL = WORKERS * PER_WORKER
WORKER_TIMEOUT = 300  # seconds; the whole run takes well under that
ISSUE_DAY = date(2026, 11, 20)
K = DocumentKind

# fork: the children start at once with everything imported (spawn would re-import the app
# eight times); the parent's engines are disposed first so no child reuses its connections.
CONTEXT = multiprocessing.get_context("fork")


def issue_invoices(config: dict, shop: dict, count: int, barrier, report: Path) -> None:
    """A worker process: its own app and connection, one transaction per invoice.

    Writes the counters it drew (or its traceback) to the report file: no pipe or queue
    that could keep a finished worker waiting for a parent that stopped reading.
    """
    faulthandler.dump_traceback_later(WORKER_TIMEOUT, exit=True)  # a hung worker says where
    try:
        app = create_app(config)
        with app.app_context(), scoping.tenant_context(shop["tenant"]):
            # The drafts are written before the start signal: what runs at once is issuing.
            customer = db.session.get(Customer, shop["customer"])
            draft_ids = []
            for n in range(count):
                document = services.create_document(K.INVOICE, customer)
                services.add_line(document, {"description": f"Call-out {n}",
                                             "quantity": Decimal(1),
                                             "unit_price": Decimal("450.00"),
                                             "vat_rate_id": shop["vat"]})
                draft_ids.append(document.id)
            db.session.commit()
            db.session.expunge_all()
            counters = []
            barrier.wait(timeout=120)
            for document_id in draft_ids:
                document = db.session.get(Document, document_id)
                # No PDF: it does not take part in numbering (the number is drawn and
                # committed the same way with it), and rendering 2,000 would be slow.
                issuing.issue_document(document, on=ISSUE_DAY, render=False)
                counters.append(document.counter)
                db.session.commit()
            db.session.remove()
            db.engine.dispose()
        report.write_text(json.dumps({"counters": counters}))
    except BaseException:  # noqa: B036 - reported to the parent, which fails the test
        report.write_text(json.dumps({"error": traceback.format_exc()}))
        barrier.abort()  # the others stop waiting for this one
        raise
    finally:
        faulthandler.cancel_dump_traceback_later()


@pytest.fixture()
def shop(app, database_urls) -> Iterator[dict]:
    """A tenant of its own with a customer and a VAT rate, committed; deleted afterwards."""
    shop: dict = {}
    try:
        with app.app_context():
            tenant = TenantFactory(name="Concurrent Numbers AS")
            shop["tenant"] = tenant.id
            shop["vat"] = VatRateFactory(tenant=tenant, code="S25", rate=Decimal("25.00")).id
            shop["customer"] = CustomerFactory(tenant=tenant).id
            db.session.remove()
            db.engine.dispose()  # no pooled connection may be inherited by the forked workers
        yield shop
    finally:
        if "tenant" in shop:
            delete_tenant(app, database_urls["owner"], shop["tenant"])


def delete_tenant(app, owner_url: str, tenant_id: int) -> None:
    """Delete the tenant and all it has, as the owner, past the immutability trigger."""
    owner = create_engine(owner_url)
    with owner.begin() as connection:
        # Row-level security is forced on the owner too: enter the tenant.
        connection.execute(text("SELECT set_config('app.tenant_id', :t, true)"),
                           {"t": str(tenant_id)})
        # Inside this transaction only: nobody else ever sees the trigger off.
        connection.execute(text("ALTER TABLE documents DISABLE TRIGGER documents_immutable"))
        connection.execute(text("DELETE FROM journal_entries WHERE tenant_id = :t"),
                           {"t": tenant_id})
        connection.execute(text("DELETE FROM documents WHERE tenant_id = :t"), {"t": tenant_id})
        connection.execute(text("DELETE FROM tenants WHERE id = :t"), {"t": tenant_id})
        connection.execute(text("ALTER TABLE documents ENABLE TRIGGER documents_immutable"))
    owner.dispose()
    with app.app_context():
        assert db.session.get(Tenant, tenant_id) is None


@pytest.mark.postgres
def test_8_processes_issuing_250_invoices_each_get_1_to_2000_without_gaps(
    app, database_urls, shop, tmp_path
):
    config = _test_config(database_urls["owner"], database_urls["app"])
    barrier = CONTEXT.Barrier(WORKERS)
    reports = [tmp_path / f"worker-{n}.json" for n in range(WORKERS)]
    workers = [CONTEXT.Process(target=issue_invoices,
                               args=(config, shop, PER_WORKER, barrier, report))
               for report in reports]
    started = time.monotonic()
    for worker in workers:
        worker.start()
    try:
        for worker in workers:
            worker.join(timeout=max(1.0, started + WORKER_TIMEOUT + 10 - time.monotonic()))
    finally:
        for worker in workers:  # only when something went wrong: none is left otherwise
            if worker.is_alive():
                worker.kill()
    elapsed = time.monotonic() - started
    outcomes = [json.loads(report.read_text()) if report.exists() else {"error": "no report"}
                for report in reports]
    errors = sorted((outcome["error"] for outcome in outcomes if "error" in outcome),
                    key=lambda error: "BrokenBarrierError" in error)  # the cause first
    assert errors == [], errors[0]
    assert [worker.exitcode for worker in workers] == [0] * WORKERS
    outcomes = [outcome["counters"] for outcome in outcomes]

    drawn = [counter for counters in outcomes for counter in counters]
    # Each worker got its 250, and no counter was handed out twice.
    assert sorted(len(counters) for counters in outcomes) == [PER_WORKER] * WORKERS
    assert sorted(drawn) == list(range(1, TOTAL + 1))
    # They really ran at once: each worker's counters are interleaved with the others'
    # (its 250 spread over more than twice as many numbers), not handed out in one block.
    assert all(max(counters) - min(counters) + 1 > 2 * PER_WORKER for counters in outcomes), (
        "the workers did not overlap")

    with app.app_context(), scoping.tenant_context(shop["tenant"]):
        invoices = db.session.scalars(
            select(Document).where(Document.kind == K.INVOICE)
            .order_by(Document.chain_position)
            .options(selectinload(Document.lines))).all()
        assert len(invoices) == TOTAL
        assert all(invoice.number is not None for invoice in invoices)
        assert [invoice.counter for invoice in sorted(invoices, key=lambda i: i.counter)] == (
            list(range(1, TOTAL + 1)))
        assert [invoice.chain_position for invoice in invoices] == list(range(1, TOTAL + 1))
        numbers = [invoice.number for invoice in invoices]
        assert len(set(numbers)) == TOTAL
        expected = {
            invoice.id: numbering.format_number(DEFAULT_FORMATS[K.INVOICE], ISSUE_DAY,
                                                invoice.counter)
            for invoice in invoices
        }
        assert {invoice.id: invoice.number for invoice in invoices} == expected
        assert {invoice.number for invoice in invoices} >= {"INV-2026-00001", "INV-2026-02000"}
        assert chain.verify_series("invoice", invoices) == []
        series = issuing.series_for(K.INVOICE)
        assert (series.issued_count, series.last_hash) == (TOTAL, invoices[-1].chain_hash)
        assert db.session.scalar(select(func.count()).select_from(Document)) == TOTAL
        db.session.rollback()
    print(f"\n{TOTAL} invoices issued by {WORKERS} processes in {elapsed:.1f} s")
