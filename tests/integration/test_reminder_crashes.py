"""A worker killed half way through sending reminders (PostgreSQL, Redis, a real RQ worker).

The data is committed for real: the worker is another process on its own connection.
Delivery is at least once (see saas/billing/documents/delivery.py): killed between the
claim and the send, the retried job sends the message once; killed after the server took
the message and before the outcome was recorded, it sends it again with the same
Message-ID, so the customer's mail program shows one.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from saas.billing.documents.models import Delivery, DeliveryStatus, Document
from saas.billing.reminders import services as reminders
from saas.billing.reminders.models import Reminder, ReminderStatus
from saas.billing.reminders.sweep import sweep
from saas.extensions import db
from saas.queue import MAIL_QUEUE, redis_connection
from saas.tenants import scoping
from tests.factories import ContactFactory, CustomerFactory, TenantFactory, VatRateFactory
from tests.helpers import heartbeat_runs_out, run_crashing_worker
from tests.integration.test_documents_cli import delete_tenant
from tests.integration.test_reminders import DUE, make_invoice


@pytest.fixture()
def committed_shops(app, database_urls):
    """Make tenants, each with the suggested policy and an invoice, committed for real."""
    created: list[int] = []

    def make(count: int) -> list[dict]:
        shops = []
        with app.app_context():
            for n in range(count):
                tenant = TenantFactory(name=f"Krasj Vakt {n} AS", currency="NOK")
                created.append(tenant.id)
                with scoping.tenant_context(tenant.id):
                    customer = CustomerFactory(tenant=tenant, name="Bergen Bygg",
                                               language="nb", currency="NOK")
                    ContactFactory(tenant=tenant, customer=customer,
                                   email="faktura@bygg.example", receives_invoices=True)
                    vat_id = VatRateFactory(tenant=tenant, rate=Decimal(25)).id
                    reminders.adopt_suggested_policy()
                    invoice_id = make_invoice(customer.id, vat_id, Decimal("800"))
                db.session.commit()
                shops.append({"tenant": tenant.id, "invoice": invoice_id})
        return shops

    try:
        yield make
    finally:
        with app.app_context():
            for tenant_id in created:
                delete_tenant(database_urls, tenant_id)


@pytest.fixture()
def committed_invoice(committed_shops):
    return committed_shops(1)[0]


def sweep_and_crash(app, database_urls, committed_invoice, monkeypatch, crash_at: str, *,
                    whole: bool = False):
    monkeypatch.setitem(app.config, "JOB_RETRY_INTERVALS", (0, 0))
    with app.app_context():
        assert sweep(DUE + timedelta(days=7), [committed_invoice["tenant"]]).claimed == 1
    run_crashing_worker(app, database_urls, crash_at, whole=whole,
                        SMTP_URL=app.config["SMTP_URL"])
    if whole:  # the next worker to start finds the job abandoned once its heartbeat ran out
        heartbeat_runs_out(app, MAIL_QUEUE)
        run_crashing_worker(app, database_urls, crash_at, crash=False,
                            SMTP_URL=app.config["SMTP_URL"])
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


@pytest.mark.postgres
def test_killed_with_its_whole_worker_the_next_worker_sends_one_message(
    app, database_urls, committed_invoice, smtp, monkeypatch
):
    delivery, reminder, _ = sweep_and_crash(app, database_urls, committed_invoice,
                                            monkeypatch, "before-send", whole=True)
    [message] = smtp.messages
    assert delivery == {"status": DeliveryStatus.SENT, "attempts": 2,
                        "message_id": message["Message-ID"]}
    assert reminder == ReminderStatus.SENT


@pytest.mark.postgres
def test_tenants_are_swept_in_threads_each_with_its_own_session(
    app, database_urls, committed_shops, monkeypatch
):
    shops = committed_shops(5)
    monkeypatch.setitem(app.config, "SWEEP_THREADS", 3)
    with app.app_context():
        result = sweep(DUE + timedelta(days=7), [shop["tenant"] for shop in shops])
        again = sweep(DUE + timedelta(days=7), [shop["tenant"] for shop in shops])
    assert (result.tenants, result.claimed, result.jobs) == (5, 5, 5)
    assert again.claimed == 0
    for shop in shops:
        with app.app_context(), scoping.tenant_context(shop["tenant"]):
            [reminder] = db.session.scalars(select(Reminder)).all()
            assert (reminder.document_id, reminder.level_day) == (shop["invoice"], 7)
    redis_connection(app).delete("rq:queue:mail")  # no worker here: drop the queued jobs
