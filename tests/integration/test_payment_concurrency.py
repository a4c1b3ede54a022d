"""Two payments for the same invoice at once, on two real connections (PostgreSQL).

The first transaction records a payment of the whole open amount and holds its locks
until the second is seen waiting for them (or has finished, which would mean it did not
wait: the test then fails on the double payment). The data is committed for real in a
tenant of its own and deleted afterwards as the database owner.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import create_engine, func, select, text

from saas.billing.customers.models import Customer
from saas.billing.documents.models import Document
from saas.billing.documents.states import DocumentStatus
from saas.billing.payments import services
from saas.billing.payments.models import Payment
from saas.extensions import db
from saas.tenants import scoping
from tests.books import issue_invoice
from tests.factories import CustomerFactory, TenantFactory, VatRateFactory
from tests.helpers import sessions_waiting_for_a_lock

DAY = date(2026, 11, 2)
WAIT = 20  # seconds at most for the other side; the test takes well under one


@pytest.fixture()
def shop(app, database_urls) -> Iterator[dict]:
    """A committed tenant with an issued invoice of 1,250.00; deleted afterwards."""
    shop: dict = {}
    try:
        with app.app_context():
            tenant = TenantFactory(name="Concurrent Payments AS")
            shop["tenant"] = tenant.id
            vat = VatRateFactory(tenant=tenant, code="S25", rate=Decimal("25.00")).id
            customer_id = CustomerFactory(tenant=tenant).id
            with scoping.tenant_context(tenant.id):
                customer = db.session.get(Customer, customer_id)
                shop["invoice"] = issue_invoice(customer, vat, "1000", DAY).id
                db.session.commit()
            db.session.remove()
        yield shop
    finally:
        if "tenant" in shop:
            _delete_tenant(database_urls["owner"], shop["tenant"])


def _delete_tenant(owner_url: str, tenant_id: int) -> None:
    owner = create_engine(owner_url)
    with owner.begin() as connection:
        connection.execute(text("SELECT set_config('app.tenant_id', :t, true)"),
                           {"t": str(tenant_id)})
        connection.execute(text("ALTER TABLE documents DISABLE TRIGGER documents_immutable"))
        for table in ("journal_entries", "allocations", "payments", "documents"):
            connection.execute(text(f"DELETE FROM {table} WHERE tenant_id = :t"),
                               {"t": tenant_id})
        connection.execute(text("DELETE FROM tenants WHERE id = :t"), {"t": tenant_id})
        connection.execute(text("ALTER TABLE documents ENABLE TRIGGER documents_immutable"))
    owner.dispose()


@pytest.mark.postgres
def test_two_payments_of_the_whole_invoice_at_once_record_one(app, shop):
    first_recorded, go_on = threading.Event(), threading.Event()
    outcomes: dict[str, str] = {}

    def record(name: str, hold: bool) -> None:
        with app.app_context(), scoping.tenant_context(shop["tenant"]):
            try:
                invoice = db.session.get(Document, shop["invoice"])
                services.record_payment(invoice.customer, Decimal("1250"), DAY,
                                        allocations=[(invoice, Decimal("1250"))])
                if hold:
                    first_recorded.set()
                    go_on.wait(WAIT)  # keep the locks until the other one waits for them
                db.session.commit()
                outcomes[name] = "recorded"
            except services.PaymentError as exc:
                db.session.rollback()
                outcomes[name] = str(exc)
            finally:
                first_recorded.set()
                db.session.remove()

    first = threading.Thread(target=record, args=("first", True))
    second = threading.Thread(target=record, args=("second", False))
    first.start()
    assert first_recorded.wait(WAIT)
    second.start()
    with app.app_context():
        deadline = time.monotonic() + WAIT
        while (second.is_alive() and not sessions_waiting_for_a_lock()
               and time.monotonic() < deadline):
            time.sleep(0.01)
        waited = second.is_alive()
    go_on.set()
    first.join(WAIT)
    second.join(WAIT)

    assert waited, f"the second payment did not wait for the first one's locks: {outcomes}"
    assert outcomes == {"first": "recorded",
                        "second": "Invoice INV-2026-00001 has only 0.00 NOK open."}
    with app.app_context(), scoping.tenant_context(shop["tenant"]):
        invoice = db.session.get(Document, shop["invoice"])
        assert (invoice.status, invoice.paid_total) == (DocumentStatus.PAID, Decimal(1250))
        assert db.session.scalar(select(func.count()).select_from(Payment)) == 1
        db.session.rollback()
