"""Automatic payment reminders (R6.4, R6.5): the sweep, the e-mails, charges, pauses, notices.

Time moves by the day the sweep is given (the injectable clock), never by sleeping. Jobs
run through a real Redis (a SimpleWorker in burst mode) into a real SMTP server on
loopback (aiosmtpd), and the tests assert what arrives.
"""

from __future__ import annotations

import io
import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from saas.billing.customers.models import Customer, DeliveryPreference
from saas.billing.documents import issuing, services
from saas.billing.documents.models import Delivery, DeliveryStatus, Document, PostBatch
from saas.billing.documents.states import DocumentKind, DocumentStatus
from saas.billing.payments import services as payments
from saas.billing.reminders import services as reminders
from saas.billing.reminders.models import (
    FeeKind,
    Reminder,
    ReminderLevel,
    ReminderPolicy,
    ReminderStatus,
    Tone,
)
from saas.billing.reminders.sweep import sweep
from saas.billing.todos.models import Todo
from saas.extensions import db
from saas.tenants import scoping
from saas.tenants.models import Role
from tests.factories import ContactFactory, CustomerFactory, TenantFactory, VatRateFactory, member
from tests.helpers import errors_in, run_jobs

ISSUED = date(2026, 11, 2)
DUE = ISSUED + timedelta(days=14)  # 2026-11-16


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


@pytest.fixture()
def shop(db_session):
    """A Polish tenant with the suggested policy (fee 40 zł, 11.25 % interest) and an invoice."""
    tenant = TenantFactory(name="Ochrona Kasia Sp. z o.o.", country="PL", currency="PLN")
    owner = member(tenant, Role.OWNER)
    with scoping.tenant_context(tenant.id):
        customer = CustomerFactory(tenant=tenant, name="Łódź Serwis", language="pl",
                                   currency="PLN")
        ContactFactory(tenant=tenant, customer=customer, email="faktury@lodz.example",
                       receives_invoices=True)
        vat_id = VatRateFactory(tenant=tenant, rate=Decimal(23)).id
        reminders.adopt_suggested_policy()
        db.session.scalar(select(ReminderPolicy)).interest_rate = Decimal("11.25")
        customer_id = customer.id
        invoice_id = make_invoice(customer_id, vat_id, Decimal("1000"))
        db.session.commit()
    return {"tenant": tenant, "owner": owner, "customer": customer_id, "vat": vat_id,
            "invoice": invoice_id}


def make_invoice(customer_id: int, vat_id: int, net: Decimal, on: date = ISSUED) -> int:
    customer = db.session.get(Customer, customer_id)
    document = services.create_document(DocumentKind.INVOICE, customer)
    services.add_line(document, {"description": "Ochrona obiektu", "quantity": Decimal(1),
                                 "unit_price": net, "vat_rate_id": vat_id})
    issuing.issue_document(document, on=on)
    return document.id


def pay_in_full(document_id: int) -> None:
    invoice = db.session.get(Document, document_id)
    payments.record_payment(invoice.customer, invoice.open_amount, invoice.issue_date,
                            allocations=[(invoice, invoice.open_amount)])
    assert invoice.status == DocumentStatus.PAID


def sweep_on(app, shop, day: date):
    result = sweep(day, [shop["tenant"].id])
    run_jobs(app)
    return result


def reminders_of(shop) -> list[Reminder]:
    with scoping.tenant_context(shop["tenant"].id):
        found = db.session.scalars(select(Reminder).order_by(Reminder.level_day)).all()
        for reminder in found:
            db.session.refresh(reminder)
        return found


def to_customer(smtp) -> list:
    return [m for m in smtp.messages if m["To"] == "faktury@lodz.example"]


def test_each_level_goes_out_once_on_its_day_and_the_owner_hears_after_the_last(
    app, shop, smtp
):
    assert sweep_on(app, shop, DUE - timedelta(days=4)).claimed == 0
    # The friendly note, 3 days before the due date; a second sweep that day sends nothing.
    assert sweep_on(app, shop, DUE - timedelta(days=3)).claimed == 1
    assert sweep_on(app, shop, DUE - timedelta(days=3)).claimed == 0
    [friendly] = to_customer(smtp)
    assert friendly["Subject"].startswith("Przypomnienie o płatności")
    attachments = [a.get_filename() for a in friendly.iter_attachments()]
    assert attachments == [f"{invoice_number(shop)}.pdf"]  # no letter with a courtesy note

    for day in range(-2, 7):  # nothing until the first reminder is due
        assert sweep_on(app, shop, DUE + timedelta(days=day)).claimed == 0
    assert sweep_on(app, shop, DUE + timedelta(days=7)).claimed == 1
    assert sweep_on(app, shop, DUE + timedelta(days=7)).claimed == 0
    first = to_customer(smtp)[1]
    letter, copy = list(first.iter_attachments())
    assert letter.get_filename() == f"reminder-{invoice_number(shop)}-2026-11-23.pdf"
    assert invoice_number(shop) in pdf_text(letter.get_content())
    assert copy.get_content() == stored_pdf(shop)  # the issued PDF, not a new one
    text = first.get_body(("plain",)).get_content()
    assert "1\xa0230,00\xa0zł" in text
    # A link that opens the invoice in the customer portal, and it does.
    [link] = re.findall(r"http\S+/p/[^/\s]+/d/\S+", text)
    path = link.split("localhost", 1)[-1]
    opened = app.test_client().get(path)
    assert opened.status_code in (302, 303) and "/documents/" in opened.location

    assert sweep_on(app, shop, DUE + timedelta(days=21)).claimed == 1
    demand = to_customer(smtp)[2]
    assert demand["Subject"].startswith("Wezwanie do zapłaty")
    text = pdf_text(next(demand.iter_attachments()).get_content())
    assert "Wezwanie do zapłaty" in text and "40,00" in text
    # 1,230.00 × 11.25 % × 21 / 365 = 7.96 zł, billed apart from the invoice.
    assert "7,96" in text

    assert [(r.level_day, r.status, r.fee, r.interest, r.interest_days) for r in
            reminders_of(shop)] == [
        (-3, ReminderStatus.SENT, Decimal("0.0000"), Decimal("0.0000"), 0),
        (7, ReminderStatus.SENT, Decimal("0.0000"), Decimal("0.0000"), 0),
        (21, ReminderStatus.SENT, Decimal("40.0000"), Decimal("7.9600"), 21),
    ]
    assert len(to_customer(smtp)) == 3

    # After the last level: a week later, still unpaid → one to-do and one e-mail, once.
    assert sweep_on(app, shop, DUE + timedelta(days=27)).notices == 0
    assert sweep_on(app, shop, DUE + timedelta(days=28)).notices == 1
    assert sweep_on(app, shop, DUE + timedelta(days=29)).notices == 0
    [notice] = [m for m in smtp.messages if m["To"] == shop["owner"].email]
    assert invoice_number(shop) in notice.get_body(("plain",)).get_content()
    with scoping.tenant_context(shop["tenant"].id):
        [todo] = db.session.scalars(select(Todo)).all()
        assert todo.notified_at is not None and invoice_number(shop) in todo.title
    assert len(to_customer(smtp)) == 3  # never a fourth reminder


def invoice_number(shop) -> str:
    with scoping.tenant_context(shop["tenant"].id):
        return db.session.get(Document, shop["invoice"]).number


def stored_pdf(shop) -> bytes:
    with scoping.tenant_context(shop["tenant"].id):
        return db.session.get(Document, shop["invoice"]).pdf


def test_an_invoice_found_late_gets_the_next_level_not_the_courtesy_note_nor_the_last(
    app, shop, smtp
):
    # Reminders switched on when the invoice is already 30 days overdue.
    assert sweep_on(app, shop, DUE + timedelta(days=30)).claimed == 1
    [reminder] = reminders_of(shop)
    assert reminder.level_day == 7 and reminder.fee == 0
    # The demand waits for the gap between two reminders (7 days).
    assert sweep_on(app, shop, DUE + timedelta(days=36)).claimed == 0
    assert sweep_on(app, shop, DUE + timedelta(days=37)).claimed == 1
    # Interest covers every day since the due date, once.
    assert reminders_of(shop)[-1].interest_days == 37


def test_paid_invoices_are_not_reminded_and_a_payment_before_sending_cancels(
    app, shop, smtp
):
    with scoping.tenant_context(shop["tenant"].id):
        other = make_invoice(shop["customer"], shop["vat"], Decimal("50"))
        pay_in_full(other)
        db.session.commit()
    assert sweep(DUE + timedelta(days=7), [shop["tenant"].id]).claimed == 1  # the unpaid one
    with scoping.tenant_context(shop["tenant"].id):  # paid before the worker got to it
        pay_in_full(shop["invoice"])
        db.session.commit()
    run_jobs(app)
    assert to_customer(smtp) == []
    [reminder] = reminders_of(shop)
    assert reminder.status == ReminderStatus.CANCELLED


def test_pausing_an_invoice_or_its_customer_holds_reminders_until_resumed(
    app, shop, smtp, make_client
):
    client = make_client(shop["owner"])
    base = f"/t/{shop['tenant'].slug}"
    page = client.post(f"{base}/reminders/pause/customer/{shop['customer']}",
                       data={"reason": "Disputed: the guard did not show up"},
                       follow_redirects=True)
    assert "Reminders are paused" in page.text and "Disputed" in page.text
    assert sweep_on(app, shop, DUE + timedelta(days=7)).claimed == 0
    invoice_page = client.get(f"{base}/documents/{shop['invoice']}").text
    assert "Reminders paused" in invoice_page
    assert "for every invoice of this customer" in invoice_page

    with scoping.tenant_context(shop["tenant"].id):
        pause_id = reminders.pause_of(customer=db.session.get(Customer, shop["customer"])).id
    client.post(f"{base}/reminders/pauses/{pause_id}/resume")
    client.post(f"{base}/reminders/pause/invoice/{shop['invoice']}", data={"reason": ""})
    assert sweep_on(app, shop, DUE + timedelta(days=8)).claimed == 0
    with scoping.tenant_context(shop["tenant"].id):
        pause_id = reminders.pause_of(document=db.session.get(Document, shop["invoice"])).id
    client.post(f"{base}/reminders/pauses/{pause_id}/resume")
    assert sweep_on(app, shop, DUE + timedelta(days=9)).claimed == 1
    assert len(to_customer(smtp)) == 1

    viewer = make_client(member(shop["tenant"], Role.VIEWER))
    assert viewer.post(f"{base}/reminders/pause/invoice/{shop['invoice']}").status_code == 403


def test_a_refused_reminder_is_logged_failed_retried_shown_and_resent(
    app, shop, smtp, make_client, monkeypatch
):
    monkeypatch.setitem(app.config, "JOB_RETRY_INTERVALS", (0, 0))  # retries at once
    smtp.refuse = "550 5.7.1 Message rejected: mailbox full"
    sweep_on(app, shop, DUE + timedelta(days=7))
    [reminder] = reminders_of(shop)
    assert reminder.status == ReminderStatus.FAILED and "mailbox full" in reminder.note
    with scoping.tenant_context(shop["tenant"].id):
        delivery = db.session.scalar(select(Delivery))
        assert delivery.status == DeliveryStatus.FAILED
        assert delivery.attempts == 3  # the first try and two retries, one claim each
        assert "550" in delivery.last_error and "mailbox full" in delivery.last_error
        delivery_id = delivery.id
    client = make_client(shop["owner"])
    base = f"/t/{shop['tenant'].slug}"
    page = client.get(f"{base}/documents/{shop['invoice']}").text
    assert "mailbox full" in page and "Retry now" in page
    assert "mailbox full" in client.get(f"{base}/reminders/?status=failed").text

    smtp.refuse = None
    client.post(f"{base}/documents/{shop['invoice']}/deliveries/{delivery_id}/resend")
    run_jobs(app)
    [message] = to_customer(smtp)
    assert message["Subject"].startswith("Przypomnienie o płatności")
    assert reminders_of(shop)[0].status == ReminderStatus.SENT


def test_charges_are_billed_on_a_new_draft_once_never_on_the_reminded_invoice(
    app, shop, smtp, make_client
):
    sweep_on(app, shop, DUE + timedelta(days=14))  # first reminder (catching up)
    sweep_on(app, shop, DUE + timedelta(days=21))  # the demand: 40 zł + interest
    client = make_client(shop["owner"])
    base = f"/t/{shop['tenant'].slug}"
    listing = client.get(f"{base}/reminders/").text
    assert "Fees and interest to bill" in listing and "Łódź Serwis" in listing
    page = client.post(f"{base}/reminders/bill/{shop['customer']}", follow_redirects=True)
    assert "review and issue the invoice" in page.text
    with scoping.tenant_context(shop["tenant"].id):
        draft = db.session.scalar(select(Document).where(Document.status == DocumentStatus.DRAFT))
        lines = sorted((line.description, line.unit_price) for line in draft.lines)
        assert lines[0][0].startswith("Interest on invoice") and lines[0][1] == Decimal("7.96")
        assert lines[1][0].startswith("Reminder fee: Payment demand")
        assert lines[1][1] == Decimal("40.00")
        assert draft.vat_total == 0  # compensation, outside the scope of VAT
        invoice = db.session.get(Document, shop["invoice"])
        assert invoice.gross_total == Decimal("1230.00")  # the reminded invoice is untouched
    again = client.post(f"{base}/reminders/bill/{shop['customer']}", follow_redirects=True)
    assert "no reminder fees or interest to bill" in again.text


def test_the_policy_pages_adopt_edit_and_refuse_bad_levels(app, db_session, make_client):
    tenant = TenantFactory(currency="EUR")
    owner = member(tenant, Role.OWNER)
    client = make_client(owner)
    base = f"/t/{tenant.slug}/reminders"
    assert "Use the suggested policy" in client.get(f"{base}/policy").text
    page = client.post(f"{base}/policy/suggested", follow_redirects=True)
    assert "Friendly note" in page.text and "21 days after the due date" in page.text

    refused = client.post(f"{base}/levels/new", data={
        "name": "Final", "days_after_due": "21", "tone": "demand", "fee_kind": "none"})
    assert refused.status_code == 422
    assert errors_in(refused.text) == [
        "Another level already goes out 21 days after the due date."]
    refused = client.post(f"{base}/levels/new", data={
        "name": "Final", "days_after_due": "35", "tone": "demand", "fee_kind": "fixed"})
    assert errors_in(refused.text) == ["Enter the fixed fee, or choose no fee."]
    client.post(f"{base}/levels/new", data={
        "name": "Final notice", "days_after_due": "35", "tone": "demand", "fee_kind": "percent",
        "fee_percent": "5", "fee_cap": "25.00", "charge_interest": "y"})
    client.post(f"{base}/levels/new", data={
        "name": "Early", "days_after_due": "3", "tone": "reminder", "fee_kind": "none"})
    with scoping.tenant_context(tenant.id):
        levels = db.session.scalars(select(ReminderLevel).order_by(ReminderLevel.position)).all()
        assert [(lv.position, lv.name) for lv in levels] == [
            (1, "Friendly note"), (2, "Early"), (3, "First reminder"), (4, "Payment demand"),
            (5, "Final notice")]
        assert levels[4].fee_kind == FeeKind.PERCENT and levels[4].fee_cap == Decimal("25")
        assert levels[4].tone == Tone.DEMAND
    page = client.post(f"{base}/policy", data={
        "enabled": "y", "interest_rate": "8.15", "min_days_between": "10",
        "notify_after_days": "5", "attach_invoice": "y"}, follow_redirects=True)
    assert "Reminder policy saved" in page.text
    bad = client.post(f"{base}/policy", data={
        "enabled": "y", "interest_rate": "abc", "min_days_between": "0",
        "notify_after_days": "5"})
    assert bad.status_code == 422 and len(errors_in(bad.text)) == 2
    with scoping.tenant_context(tenant.id):
        policy = db.session.scalar(select(ReminderPolicy))
        assert policy.interest_rate == Decimal("8.15") and policy.min_days_between == 10
    staff = make_client(member(tenant, Role.STAFF))
    assert staff.get(f"{base}/policy").status_code == 403


def test_a_payment_demand_prints_with_the_invoice(app, shop, make_client):
    client = make_client(member(shop["tenant"], Role.VIEWER))
    response = client.get(f"/t/{shop['tenant'].slug}/reminders/invoice/{shop['invoice']}"
                          "/demand.pdf")
    assert response.mimetype == "application/pdf"
    reader = PdfReader(io.BytesIO(response.data))
    letter, invoice = reader.pages[0].extract_text(), reader.pages[-1].extract_text()
    assert "Wezwanie do zapłaty" in letter and invoice_number(shop) in letter
    assert invoice_number(shop) in invoice and len(reader.pages) == 1 + len(
        PdfReader(io.BytesIO(stored_pdf(shop))).pages)


def test_the_sweep_command_reports_and_refuses_bad_input(app, shop, smtp):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["reminders", "sweep", "--date", str(DUE + timedelta(days=7)),
                                 "--tenant", shop["tenant"].slug])
    assert result.exit_code == 0, result.output
    assert "1 tenants with a policy: 1 reminders claimed" in result.output
    run_jobs(app)
    assert len(to_customer(smtp)) == 1
    assert runner.invoke(args=["reminders", "sweep", "--date", "30.11.2026"]).exit_code == 2
    assert runner.invoke(args=["reminders", "sweep", "--tenant", "nobody"]).exit_code == 2


def test_staff_run_the_sweep_from_the_page(app, shop, smtp, make_client):
    from saas import clock

    client = make_client(member(shop["tenant"], Role.ACCOUNTANT))
    with clock.frozen(DUE + timedelta(days=7)):
        page = client.post(f"/t/{shop['tenant'].slug}/reminders/sweep", follow_redirects=True)
    assert "reminders that were due are on their way" in page.text
    run_jobs(app)
    assert len(to_customer(smtp)) == 1
    with scoping.tenant_context(shop["tenant"].id):
        assert db.session.scalar(select(func.count()).select_from(Reminder)) == 1


def test_the_scheduler_enqueues_the_hourly_sweep_which_a_worker_runs(app, shop, smtp):
    from rq.cron import CronScheduler

    from saas import clock
    from saas.billing.reminders.sweep import run_sweep
    from saas.queue import BILLING_QUEUE, EVENTS_QUEUE, redis_connection

    scheduler = CronScheduler(connection=redis_connection(app))
    scheduler.load_config_from_file("saas.cron")
    from saas.api.idempotency import sweep_idempotency_keys
    from saas.api.webhooks.services import run_webhook_retries
    from saas.automations.runs import run_runs_sweep
    from saas.billing.contracts.billing import run_stalled_runs_sweep
    from saas.billing.dunning.sweep import run_collection_sweep
    from saas.billing.events import run_overdue_sweep
    from saas.billing.payments.bank.jobs import run_lost_imports_sweep
    from saas.billing.recurring.services import run_recurring
    from saas.events.services import run_event_sweep
    from saas.outsourced_service.fees import record_last_month
    from saas.portal.reconcile import reconcile_checkouts
    from saas.portal.stripe_events import retry_stripe_events

    jobs = {job.name: job for job in scheduler.get_jobs()}
    assert {name: (job.queue_name, job.cron, job.func) for name, job in jobs.items()} == {
        "reminder-sweep": (BILLING_QUEUE, "5 * * * *", run_sweep),
        "recurring-invoices": (BILLING_QUEUE, "15 * * * *", run_recurring),
        "stripe-reconcile": (BILLING_QUEUE, "35 * * * *", reconcile_checkouts),
        "stripe-event-retries": (BILLING_QUEUE, "*/10 * * * *", retry_stripe_events),
        "collection-sweep": (BILLING_QUEUE, "25 * * * *", run_collection_sweep),
        "bureau-fees": (BILLING_QUEUE, "45 3 1 * *", record_last_month),
        "event-sweep": (EVENTS_QUEUE, "*/5 * * * *", run_event_sweep),
        "overdue-events": (EVENTS_QUEUE, "50 * * * *", run_overdue_sweep),
        "webhook-retries": (EVENTS_QUEUE, "* * * * *", run_webhook_retries),
        "api-idempotency-keys": (BILLING_QUEUE, "50 * * * *", sweep_idempotency_keys),
        "automation-runs-sweep": ("default", "*/10 * * * *", run_runs_sweep),
        "billing-runs-sweep": (BILLING_QUEUE, "*/10 * * * *", run_stalled_runs_sweep),
        "bank-imports-sweep": ("default", "*/10 * * * *", run_lost_imports_sweep)}
    cron_job = jobs["reminder-sweep"]
    cron_job.enqueue(redis_connection(app))  # what the scheduler does at five past
    with clock.frozen(DUE + timedelta(days=7)):  # each tenant's own today
        run_jobs(app)
    assert [m["Subject"].split(":")[0] for m in to_customer(smtp)] == [
        "Przypomnienie o płatności"]


def test_done_to_dos_go_back_only_to_pages_of_this_site(app, shop, make_client):
    with scoping.tenant_context(shop["tenant"].id):
        todo = Todo(kind="unpaid_reminded", title="Call Łódź Serwis", document_id=shop["invoice"])
        db.session.add(todo)
        db.session.commit()
        todo_id = todo.id
    client = make_client(shop["owner"])
    base = f"/t/{shop['tenant'].slug}"
    assert "Call Łódź Serwis</a>" in client.get(f"{base}/").text  # on the dashboard
    response = client.post(f"{base}/todos/{todo_id}/done", data={"next": "//evil.example/"})
    assert response.headers["Location"] == f"{base}/todos/"
    with scoping.tenant_context(shop["tenant"].id):
        assert db.session.get(Todo, todo_id).done_at is not None
    assert "Call Łódź Serwis</a>" not in client.get(f"{base}/").text  # the audit log has it


def test_levels_added_or_removed_later_never_shift_what_an_invoice_has_had(
    app, shop, smtp, make_client
):
    assert sweep_on(app, shop, DUE + timedelta(days=7)).claimed == 1  # the first reminder
    client = make_client(shop["owner"])
    base = f"/t/{shop['tenant'].slug}/reminders"
    with scoping.tenant_context(shop["tenant"].id):
        levels = {lv.days_after_due: lv.id for lv in db.session.scalars(select(ReminderLevel))}
    # The friendly note goes; a level at 14 days comes in between.
    client.post(f"{base}/levels/{levels[-3]}/delete")
    client.post(f"{base}/levels/new", data={"name": "Second reminder", "days_after_due": "14",
                                            "tone": "reminder", "fee_kind": "none"})
    refused = client.post(f"{base}/levels/{levels[7]}", data={
        "name": "First reminder", "days_after_due": "10", "tone": "reminder",
        "fee_kind": "none"})
    assert "add a new level for another day" in " ".join(errors_in(refused.text))
    assert sweep_on(app, shop, DUE + timedelta(days=14)).claimed == 1
    assert sweep_on(app, shop, DUE + timedelta(days=21)).claimed == 1
    assert [(r.level_day, r.level_name) for r in reminders_of(shop)] == [
        (7, "First reminder"), (14, "Second reminder"), (21, "Payment demand")]


def test_a_customer_who_wants_post_gets_the_letter_in_the_print_batch(
    app, shop, smtp, make_client
):
    with scoping.tenant_context(shop["tenant"].id):
        db.session.get(Customer, shop["customer"]).delivery_preference = DeliveryPreference.POST
        db.session.commit()
    sweep_on(app, shop, DUE + timedelta(days=7))
    assert to_customer(smtp) == []  # no e-mail: the letter goes by post
    [reminder] = reminders_of(shop)
    assert reminder.status == ReminderStatus.TO_PRINT
    client = make_client(member(shop["tenant"], Role.STAFF))
    post = f"/t/{shop['tenant'].slug}/documents/post"
    assert f"First reminder: {invoice_number(shop)}" in client.get(post).text
    made = client.post(post, follow_redirects=True)
    assert "Post batch" in made.text
    with scoping.tenant_context(shop["tenant"].id):
        batch = db.session.scalar(select(PostBatch))
        pages = [page.extract_text() for page in PdfReader(io.BytesIO(batch.pdf)).pages]
        batch_id = batch.id
    invoice_pages = len(PdfReader(io.BytesIO(stored_pdf(shop))).pages)
    # The cover lists the invoice (its own address sheet and copy) and the reminder (letter
    # addressed for the window, then a copy of the invoice).
    assert f"2. First reminder: Invoice {invoice_number(shop)}" in pages[0]
    assert len(pages) == 1 + (1 + invoice_pages) + (1 + invoice_pages)
    letter = pages[2 + invoice_pages]
    assert "Przypomnienie o płatności" in letter and "Łódź Serwis" in letter
    client.post(f"{post}/{batch_id}/printed")
    assert reminders_of(shop)[0].status == ReminderStatus.SENT
    assert "First reminder: " not in client.get(post).text.split("Batches")[0]
