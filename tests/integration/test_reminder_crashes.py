"""A worker killed half way through sending reminders (PostgreSQL, Redis, a real RQ worker).

The data is committed for real: the worker is another process on its own connection.
Delivery is at least once (see saas/billing/documents/delivery.py): killed between the
claim and the send, the retried job sends the message once; killed after the server took
the message and before the outcome was recorded, it sends it again with the same
Message-ID, so the customer's mail program shows one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from saas.billing.documents.models import Delivery, DeliveryStatus, Document
from saas.billing.reminders import services as reminders
from saas.billing.reminders.models import Reminder, ReminderStatus
from saas.billing.reminders.sweep import sweep
from saas.extensions import db
from saas.queue import redis_connection
from saas.tenants import scoping
from tests.conftest import _test_config
from tests.factories import ContactFactory, CustomerFactory, TenantFactory, VatRateFactory
from tests.integration.test_documents_cli import delete_tenant
from tests.integration.test_reminders import DUE, make_invoice

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def committed_invoice(app, database_urls):
    with app.app_context():
        tenant = TenantFactory(name="Krasj Vakt AS", currency="NOK")
        tenant_id = tenant.id
        try:
            with scoping.tenant_context(tenant_id):
                customer = CustomerFactory(tenant=tenant, name="Bergen Bygg", language="nb",
                                           currency="NOK")
                ContactFactory(tenant=tenant, customer=customer, email="faktura@bygg.example",
                               receives_invoices=True)
                vat_id = VatRateFactory(tenant=tenant, rate=Decimal(25)).id
                reminders.adopt_suggested_policy()
                invoice_id = make_invoice(customer.id, vat_id, Decimal("800"))
            db.session.commit()
            yield {"tenant": tenant_id, "invoice": invoice_id}
        finally:
            db.session.rollback()
            delete_tenant(database_urls, tenant_id)


def run_crashing_worker(app, database_urls, crash_at: str) -> None:
    config = _test_config(database_urls["owner"], database_urls["app"],
                          REDIS_URL=app.config["REDIS_URL"], SMTP_URL=app.config["SMTP_URL"],
                          JOB_RETRY_INTERVALS=[0, 0], OUTBOX_DIR=app.config["OUTBOX_DIR"])
    redis_connection(app).set("crash-once", "1")
    env = {**os.environ, "TEST_APP_CONFIG": json.dumps(config), "CRASH_AT": crash_at,
           "PYTHONPATH": str(ROOT)}
    finished = subprocess.run([sys.executable, "tests/support/crashing_worker.py"], cwd=ROOT,
                              env=env, capture_output=True, text=True, timeout=120)
    assert finished.returncode == 0, finished.stderr[-3000:]
    assert "Work-horse terminated unexpectedly" in finished.stdout  # it did die
    assert not redis_connection(app).exists("crash-once")


def sweep_and_crash(app, database_urls, committed_invoice, monkeypatch, crash_at: str):
    monkeypatch.setitem(app.config, "JOB_RETRY_INTERVALS", (0, 0))
    with app.app_context():
        assert sweep(DUE + timedelta(days=7), [committed_invoice["tenant"]]).claimed == 1
    run_crashing_worker(app, database_urls, crash_at)
    with app.app_context(), scoping.tenant_context(committed_invoice["tenant"]):
        delivery = db.session.scalar(select(Delivery))
        reminder = db.session.scalar(select(Reminder))
        number = db.session.get(Document, committed_invoice["invoice"]).number
        return ({"status": delivery.status, "attempts": delivery.attempts,
                 "message_id": delivery.message_id}, reminder.status, number)


@pytest.mark.postgres
def test_killed_between_claim_and_send_the_retry_sends_one_message(
    app, database_urls, committed_invoice, smtp, monkeypatch
):
    delivery, reminder, number = sweep_and_crash(app, database_urls, committed_invoice,
                                                 monkeypatch, "before-send")
    [message] = smtp.messages
    assert message["To"] == "faktura@bygg.example" and number in message["Subject"]
    assert delivery == {"status": DeliveryStatus.SENT, "attempts": 2,
                        "message_id": message["Message-ID"]}
    assert reminder == ReminderStatus.SENT


@pytest.mark.postgres
def test_killed_after_the_server_took_it_the_retry_resends_the_same_message_id(
    app, database_urls, committed_invoice, smtp, monkeypatch
):
    delivery, reminder, _ = sweep_and_crash(app, database_urls, committed_invoice,
                                            monkeypatch, "after-send")
    first, second = smtp.messages  # at least once: the outcome was never recorded
    assert first["Message-ID"] == second["Message-ID"] == delivery["message_id"]
    assert delivery["status"] == DeliveryStatus.SENT and delivery["attempts"] == 2
    assert reminder == ReminderStatus.SENT
