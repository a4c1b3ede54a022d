"""The run command's demo data shows the sales chain working."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select

from saas import clock, demo
from saas.automations.models import AutomationRun, GeneratedDocument, RunStatus
from saas.billing.contracts import services as contracts
from saas.billing.contracts import volumes
from saas.billing.contracts.models import BilledPeriod, Contract
from saas.billing.documents.chain import verify_series
from saas.billing.documents.models import Document
from saas.billing.documents.states import DocumentKind, DocumentStatus
from saas.billing.exports.models import AccountantExport, ExportStatus
from saas.billing.payments import references
from saas.billing.payments import services as payments
from saas.billing.recurring.models import RecurringOccurrence
from saas.billing.reminders.models import Reminder, ReminderPause, ReminderStatus
from saas.extensions import db
from saas.tenants import scoping
from saas.tenants.models import Tenant
from tests.books import assert_books_balance


def test_demo_seed_shows_every_document_kind_with_a_sound_chain(db_session):
    tenant = db.session.scalar(select(Tenant).where(Tenant.slug == demo.NORDLYS.slug))
    with scoping.tenant_context(tenant.id):
        documents = db.session.scalars(select(Document)).all()
        kinds = {document.kind for document in documents}
        states = {(document.kind, document.status) for document in documents}
        assert kinds == set(DocumentKind)
        assert {(DocumentKind.QUOTE, DocumentStatus.CONVERTED),
                (DocumentKind.ORDER, DocumentStatus.PARTLY_INVOICED),
                (DocumentKind.INVOICE, DocumentStatus.DRAFT)} <= states
        # With the overdue invoice of the reminders demo, and the recurring invoice's template
        # and its three monthly occurrences (caught up since it started two months ago), and
        # the draft invoice of this quarter's contract billing run, and the three invoices
        # the bank statement demo pays, and last month's invoice a customer of the reports demo,
        # and the enrolled student's proforma and final invoice (the automations demo).
        assert len(documents) == 21
        # Seed 004: the student went through both enrolment rules, each once.
        runs = db.session.scalars(select(AutomationRun).order_by(AutomationRun.id)).all()
        assert [(run.event_name, run.status) for run in runs] == [
            ("customer.created", RunStatus.DONE), ("document.paid", RunStatus.DONE)]
        [contract_pdf] = db.session.scalars(select(GeneratedDocument)).all()
        assert contract_pdf.customer.name == "Ingrid Solberg"
        occurrences = db.session.scalars(select(RecurringOccurrence)).all()
        assert len(occurrences) == 3 and all(o.document.number for o in occurrences)
        [contract, support] = db.session.scalars(select(Contract).order_by(Contract.number))
        lines = contracts.version_at(contract, date.today())
        assert [line.description for line in lines] == ["Monitoring, per month",
                                                        "Quarterly inspection"]
        # R4.6: the support flat fee's 10 included hours are 85 % used this month.
        [volume] = volumes.current_volumes([support], date.today())[support.id]
        assert volume.status.percent_used == Decimal("85.0")
        assert volume.status.level.value == "almost_used"
        [billed] = db.session.scalars(select(BilledPeriod)).all()
        assert billed.contract_id == contract.id and billed.period_start.month in (1, 4, 7, 10)
        for kind in DocumentKind:
            issued = sorted((d for d in documents if d.kind == kind and d.number),
                            key=lambda d: d.chain_position)
            assert verify_series(kind.value, issued) == []
        # The accountant export of last month is there, finished, to download (R7.3).
        [export] = db.session.scalars(select(AccountantExport)).all()
        assert export.status == ExportStatus.DONE and export.total > 0
        # Last month where the company is (past midnight in Oslo it is already tomorrow).
        today = clock.today_in(tenant.timezone)
        assert export.date_to == today.replace(day=1) - timedelta(days=1)
        # Payments: invoices paid in full and one in part, a customer with credit, the
        # credit note applied to its invoice; the books agree with them.
        invoices = [d for d in documents if d.kind == DocumentKind.INVOICE and d.number]
        assert {DocumentStatus.PAID, DocumentStatus.PARTLY_PAID} <= {
            d.status for d in invoices}
        [note] = [d for d in documents if d.kind == DocumentKind.CREDIT_NOTE]
        assert note.paid_total == note.gross_total  # applied in full
        customers = {d.customer_id for d in invoices}
        assert any(payments.customer_credit(c, "NOK") > 0 for c in customers)
        assert_books_balance()


def test_demo_companies_show_kid_and_rf_payment_references(db_session):
    made = {}
    for company in (demo.NORDLYS, *demo.CLIENTS):
        tenant = db.session.scalar(select(Tenant).where(Tenant.slug == company.slug))
        with scoping.tenant_context(tenant.id):
            made[company.slug] = (tenant.reference_scheme, db.session.scalars(
                select(Document.payment_reference).where(
                    Document.kind.in_([DocumentKind.INVOICE, DocumentKind.PROFORMA]),
                    Document.number.is_not(None))).all())
    scheme, kids = made["nordlys"]
    assert scheme == references.KID_MOD10 and kids
    assert all(references.is_valid_kid(kid, "MOD10") and len(kid) == 10 for kid in kids)
    scheme, rfs = made["vltava"]
    assert scheme == references.RF and rfs and all(references.is_valid_rf(rf) for rf in rfs)
    assert made["sokol"][0] == references.INVOICE_NUMBER


def test_demo_seed_replays_reminders_into_the_outbox(seeded, db_session):
    tenant = db.session.scalar(select(Tenant).where(Tenant.slug == demo.NORDLYS.slug))
    with scoping.tenant_context(tenant.id):
        sent = db.session.execute(select(Reminder.level_day, Reminder.status, Reminder.fee)
                                  .order_by(Reminder.document_id, Reminder.level_day)).all()
        assert sent[-3:] == [(-3, ReminderStatus.SENT, 0), (7, ReminderStatus.SENT, 0),
                             (21, ReminderStatus.SENT, Decimal("40"))]
        # The disputed invoice is paused by hand; the one past the last level went to
        # collection, which pauses its reminders (the e-mails went out as the sweeps ran).
        reasons = db.session.scalars(select(ReminderPause.reason).order_by(ReminderPause.id))
        assert [reason.split(":")[0] for reason in reasons] == [
            "The customer disputes the hours on site 2; checking logs.", "In collection"]
    subjects = [mail["Subject"] for mail in seeded.mails]
    assert any(subject.startswith("Betalingsoppfordring") for subject in subjects)
