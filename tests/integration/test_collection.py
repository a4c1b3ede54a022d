"""Debt collection end to end (R6.6–R6.8, R9.2), with the injectable clock: an invoice goes
overdue, the real reminder sweep sends every level, the collection sweep opens a case, a
collector logs contacts and sees the to-dos, the case moves along its legal path, and a
camt.053 statement imported through the real import service pays the invoice and closes
the case."""

from __future__ import annotations

import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from saas import clock
from saas.billing.customers.models import Customer
from saas.billing.documents.models import Document
from saas.billing.dunning import legal, services
from saas.billing.dunning.models import (
    CaseDocument,
    CaseStatus,
    CloseReason,
    CollectionCase,
    ContactNote,
    OpenReason,
)
from saas.billing.dunning.sweep import sweep as collection_sweep
from saas.billing.payments import services as payments
from saas.billing.payments.bank import services as bank
from saas.billing.reminders import services as reminders
from saas.billing.reminders.models import Reminder, ReminderPause, ReminderStatus
from saas.billing.reminders.sweep import sweep as reminder_sweep
from saas.billing.todos.models import Todo
from saas.extensions import db
from saas.tenants import scoping
from saas.tenants.models import AuditEntry, BankAccount, Role
from tests.factories import (
    BankAccountFactory,
    ContactFactory,
    CustomerFactory,
    TenantFactory,
    member,
)
from tests.factories_bank import camt, credit, open_invoice
from tests.helpers import errors_in, run_jobs

ISSUED = date(2026, 10, 1)


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


@pytest.fixture()
def firm(db_session):
    """A NOK tenant with the suggested reminder policy, a collector, a bank account and a
    customer with one issued invoice of 1,000.00."""
    tenant = TenantFactory(name="Nordlys Inkasso AS")
    owner = member(tenant, Role.OWNER)
    collector = member(tenant, Role.COLLECTOR, name="Cora Collector")
    account_id = BankAccountFactory(tenant=tenant).id
    with scoping.tenant_context(tenant.id):
        customer = CustomerFactory(tenant=tenant, name="Fjord Bakeri AS", currency="NOK")
        ContactFactory(
            tenant=tenant, customer=customer, email="bakeri@fjord.example", receives_invoices=True
        )
        reminders.adopt_suggested_policy()
        reminders.policy().interest_rate = Decimal("12.00")
        customer_id = customer.id
        db.session.commit()
    invoice_id = open_invoice(tenant, customer_id, "1000.00", on=ISSUED)
    with scoping.tenant_context(tenant.id):
        due = db.session.get(Document, invoice_id).due_date
    return {
        "tenant": tenant,
        "owner": owner,
        "collector": collector,
        "account": account_id,
        "customer": customer_id,
        "invoice": invoice_id,
        "due": due,
    }


def in_tenant(firm):
    return scoping.tenant_context(firm["tenant"].id)


def cases(firm) -> list[CollectionCase]:
    with in_tenant(firm):
        found = db.session.scalars(select(CollectionCase).order_by(CollectionCase.id)).all()
        for case in found:
            db.session.refresh(case)
        return found


def remind_until(app, firm, last: date) -> None:
    """The real reminder sweep, day by day from before the due date."""
    day = firm["due"] - timedelta(days=4)
    while day <= last:
        reminder_sweep(day, [firm["tenant"].id])
        run_jobs(app)
        collection_sweep(day, [firm["tenant"].id])
        day += timedelta(days=1)


def test_overdue_reminders_case_notes_todos_legal_path_and_a_bank_payment_closing_it(
    app, firm, smtp, make_client
):
    due, slug = firm["due"], firm["tenant"].slug
    # Until the last level (21 days) has gone out and its week passed, no case.
    remind_until(app, firm, due + timedelta(days=27))
    with in_tenant(firm):
        sent = db.session.scalars(
            select(Reminder.level_day)
            .where(Reminder.status == ReminderStatus.SENT)
            .order_by(Reminder.level_day)
        ).all()
    assert sent == [-3, 7, 21]
    assert cases(firm) == []

    opened_on = due + timedelta(days=28)
    remind_until(app, firm, opened_on)
    collection_sweep(opened_on, [firm["tenant"].id])  # again: still one case
    [case] = cases(firm)
    assert (case.status, case.open_reason, case.opened_on, case.collector_id) == (
        CaseStatus.OPEN,
        OpenReason.REMINDERS_EXHAUSTED,
        opened_on,
        firm["collector"].id,
    )
    case_id = case.id
    with in_tenant(firm):
        # The reminders' unpaid notice is done: the case follows the invoice up now.
        [todo] = db.session.scalars(select(Todo)).all()
        assert todo.done_at is not None and todo.details == "Handed to collection: Case 1"
        [row] = db.session.get(CollectionCase, case_id).invoices
        assert (row.document_id, row.open_amount) == (firm["invoice"], Decimal("1000.00"))
        assert db.session.get(ReminderPause, row.pause_id).document_id == firm["invoice"]

    # The collector calls: a promise of 400 by two days later. The account goes in the note.
    client = make_client(firm["collector"])
    with clock.frozen(opened_on):
        response = client.post(
            f"/t/{slug}/collection/cases/{case_id}/notes",
            data={
                "channel": "call",
                "outcome": "promised",
                "text": "Pays 400 on Friday.",
                "next_contact_on": str(opened_on + timedelta(days=5)),
                "promise_amount": "400.00",
                "promise_on": str(opened_on + timedelta(days=2)),
            },
        )
        assert response.status_code == 302
        # A promise without its date is refused, naming the field, with nothing saved.
        refused = client.post(
            f"/t/{slug}/collection/cases/{case_id}/notes",
            data={
                "channel": "call",
                "outcome": "promised",
                "promise_amount": "100",
                "next_contact_on": str(opened_on + timedelta(days=5)),
            },
        )
        assert refused.status_code == 422
        assert errors_in(refused.text) == ["A promise to pay needs both the amount and the date."]
    with in_tenant(firm):
        [note] = db.session.scalars(select(ContactNote)).all()
        assert (note.balance, note.overdue, note.currency) == (
            Decimal("1000.00"),
            Decimal("1000.00"),
            "NOK",
        )
        # The next contact is brought forward to the promised day.
        assert note.next_contact_on == opened_on + timedelta(days=2)

    # Nothing due the day after; three days later the promise is broken and the call late.
    with clock.frozen(opened_on + timedelta(days=1)):
        page = client.get(f"/t/{slug}/collection/work").text
        assert "Nothing is due today." in page
    with clock.frozen(opened_on + timedelta(days=3)):
        page = client.get(f"/t/{slug}/collection/work").text
    assert "Broken promise" in page and "Contact due" in page and "1 day late" in page
    assert 'class="overdue"' in page
    with clock.frozen(opened_on + timedelta(days=3)):
        dashboard = client.get(f"/t/{slug}/").text
    assert "My collection work" in dashboard and "Broken promise: Fjord Bakeri AS" in dashboard

    # The legal path of every category: a demand, then a summons with a court fee.
    with in_tenant(firm):
        path = legal.save_path(None, {"name": "Standard"})
        demand = legal.add_stage(
            path, {"name": "Pre-legal demand", "document": "demand", "days_to_pay": 14}
        )
        summons = legal.add_stage(
            path,
            {
                "name": "Court filing",
                "document": "summons",
                "fee": Decimal("500.00"),
                "days_to_pay": 14,
            },
        )
        db.session.get(CollectionCase, case_id).legal_path_id = path.id
        db.session.commit()
        stage_ids = (demand.id, summons.id)
    owner = make_client(firm["owner"])
    moved_on = opened_on + timedelta(days=4)
    with clock.frozen(moved_on):
        skipped = owner.post(
            f"/t/{slug}/collection/cases/{case_id}/stage",
            data={"stage_id": stage_ids[1]},
            follow_redirects=True,
        )
        assert "enters its legal path at the first stage" in skipped.text
        for stage_id in stage_ids:
            assert (
                owner.post(
                    f"/t/{slug}/collection/cases/{case_id}/stage", data={"stage_id": stage_id}
                ).status_code
                == 302
            )
    with in_tenant(firm):
        documents = db.session.scalars(select(CaseDocument).order_by(CaseDocument.id)).all()
        assert [d.kind.value for d in documents] == ["demand", "summons"]
        summons_doc = documents[1]
        days = (moved_on - due).days
        interest = (Decimal("1000.00") * Decimal("0.12") * days / 365).quantize(Decimal("0.01"))
        assert (summons_doc.principal, summons_doc.interest, summons_doc.fees) == (
            Decimal("1000.00"),
            interest,
            Decimal("540.00"),
        )  # reminder fee 40 + court fee
        text = pdf_text(summons_doc.pdf)
        assert "Statement of claim" in text and "Court filing" in text
        moves = db.session.scalars(
            select(AuditEntry.summary)
            .where(AuditEntry.action == "collection.stage")
            .order_by(AuditEntry.id)
        ).all()
        assert moves == [
            "Case 1: Stage: no stage → Pre-legal demand",
            "Case 1: Stage: Pre-legal demand → Court filing",
        ]
    page = owner.get(f"/t/{slug}/collection/cases/{case_id}").text
    assert "Stage: Pre-legal demand → Court filing" in page

    # The customer pays: a camt.053 line naming the invoice, imported as staff would.
    paid_on = opened_on + timedelta(days=6)
    with in_tenant(firm):
        number = db.session.get(Document, firm["invoice"]).number
    statement = camt(
        credit("1000.00", text=f"Faktura {number}", name="Fjord Bakeri AS", on=paid_on)
    )
    with clock.frozen(paid_on), in_tenant(firm):
        result = bank.import_statement(
            statement, "statement.xml", db.session.get(BankAccount, firm["account"])
        )
        db.session.commit()
    assert result.booked == 1
    [case] = cases(firm)
    assert (case.status, case.close_reason, case.closed_on) == (
        CaseStatus.CLOSED,
        CloseReason.PAID,
        paid_on,
    )
    assert "1000.00 NOK by payment" in case.close_note and str(paid_on) in case.close_note
    with in_tenant(firm):
        assert db.session.scalar(select(func.count()).select_from(ReminderPause)) == 0
    # The report counts what was recovered while the case was open.
    with clock.frozen(paid_on):
        report = owner.get(f"/t/{slug}/collection/reports").text
        csv = owner.get(f"/t/{slug}/collection/reports/recovered.csv").text
    assert "No open case." in report
    assert f"{paid_on:%Y-%m},1000.00" in csv


def test_undoing_the_payment_reopens_the_case_and_a_second_sweep_opens_nothing(app, firm):
    due = firm["due"]
    with in_tenant(firm):
        customer = db.session.get(Customer, firm["customer"])
        case = services.open_case(customer, OpenReason.MANUAL, due + timedelta(days=3))
        db.session.commit()
        invoice = db.session.get(Document, firm["invoice"])
        with clock.frozen(due + timedelta(days=5)):
            payment = payments.record_payment(
                customer,
                Decimal("1000.00"),
                due + timedelta(days=5),
                allocations=[(invoice, Decimal("1000.00"))],
            )
            db.session.commit()
            db.session.refresh(case)
            assert case.status == CaseStatus.CLOSED
            payments.reverse_payment(payment)
            db.session.commit()
        db.session.refresh(case)
        assert case.status == CaseStatus.OPEN
        assert collection_sweep(due + timedelta(days=6), [firm["tenant"].id]).opened == 0
        assert db.session.scalar(select(func.count()).select_from(CollectionCase)) == 1


def test_a_threshold_opens_a_case_and_a_disputed_invoice_does_not_count(app, firm):
    due = firm["due"]
    with in_tenant(firm):
        services.save_settings(
            {
                "open_after_reminders": False,
                "threshold": Decimal("500.00"),
                "interest_rate": Decimal(0),
            }
        )
        reminders.pause(document=db.session.get(Document, firm["invoice"]), reason="Dispute")
        db.session.commit()
    assert collection_sweep(due + timedelta(days=1), [firm["tenant"].id]).opened == 0
    open_invoice(firm["tenant"], firm["customer"], "600.00", on=ISSUED)
    result = collection_sweep(due + timedelta(days=1), [firm["tenant"].id])
    assert result.opened == 1
    [case] = cases(firm)
    assert case.open_reason == OpenReason.THRESHOLD
    with in_tenant(firm):
        assert len(db.session.get(CollectionCase, case.id).invoices) == 2  # both are overdue


def test_opening_by_hand_needs_something_overdue_and_a_collector_role(app, firm, make_client):
    slug = firm["tenant"].slug
    viewer = make_client(member(firm["tenant"], Role.VIEWER))
    assert viewer.post(f"/t/{slug}/collection/open/{firm['customer']}").status_code == 403
    collector = make_client(firm["collector"])
    with clock.frozen(firm["due"]):  # due today: not overdue yet
        refused = collector.post(
            f"/t/{slug}/collection/open/{firm['customer']}", follow_redirects=True
        )
    assert "has no overdue invoice to collect" in refused.text
    assert cases(firm) == []
    with clock.frozen(firm["due"] + timedelta(days=1)):
        assert collector.post(f"/t/{slug}/collection/open/{firm['customer']}").status_code == 302
        page = collector.get(f"/t/{slug}/customers/{firm['customer']}").text
        listing = collector.get(f"/t/{slug}/collection/")
        closed = collector.get(f"/t/{slug}/collection/", query_string={"status": "closed"})
    assert "Case 1</a> is open" in page
    # The case list: open cases by default, the filter marked; no closed case yet.
    assert listing.status_code == 200 and closed.status_code == 200
    assert f"/collection/cases/{cases(firm)[0].id}" in listing.text
    assert f"/collection/cases/{cases(firm)[0].id}" not in closed.text
    assert 'status=closed" aria-current="page"' in closed.text


def test_settings_and_legal_path_pages_refuse_bad_input_naming_the_field(app, firm, make_client):
    slug = firm["tenant"].slug
    owner = make_client(firm["owner"])
    assert owner.get(f"/t/{slug}/collection/settings").status_code == 200
    refused = owner.post(
        f"/t/{slug}/collection/settings",
        data={"open_after_reminders": "y", "threshold": "-5", "interest_rate": "8"},
    )
    assert refused.status_code == 422
    assert errors_in(refused.text) == ["A price cannot be negative."]
    saved = owner.post(
        f"/t/{slug}/collection/settings", data={"threshold": "2500.00", "interest_rate": "8.5"}
    )
    assert saved.status_code == 302
    with in_tenant(firm):
        assert (services.settings().threshold, services.settings().open_after_reminders) == (
            Decimal("2500.00"),
            False,
        )
    assert owner.post(f"/t/{slug}/collection/paths", data={"name": "Business"}).status_code == 302
    with in_tenant(firm):
        [path_id] = db.session.scalars(select(legal.LegalPath.id)).all()
    bad_stage = owner.post(
        f"/t/{slug}/collection/paths/{path_id}",
        data={"name": "", "document": "summons", "days_to_pay": "14"},
    )
    assert bad_stage.status_code == 422 and "This field is required." in bad_stage.text
    collector = make_client(firm["collector"])
    assert collector.get(f"/t/{slug}/collection/settings").status_code == 403
    assert collector.get(f"/t/{slug}/collection/reports/cases.csv").text.startswith(
        "case,customer number"
    )


@pytest.mark.postgres
def test_a_statement_booked_set_wise_closes_the_case_too(app, firm, monkeypatch):
    from saas.billing.payments.bank import booking

    monkeypatch.setattr(booking, "BULK_FROM", 1)  # the path of large statements
    paid_on = firm["due"] + timedelta(days=9)
    with in_tenant(firm):
        customer = db.session.get(Customer, firm["customer"])
        services.open_case(customer, OpenReason.MANUAL, firm["due"] + timedelta(days=1))
        number = db.session.get(Document, firm["invoice"]).number
        db.session.commit()
    statement = camt(credit("1000.00", text=f"Faktura {number}", on=paid_on))
    with clock.frozen(paid_on), in_tenant(firm):
        account = db.session.get(BankAccount, firm["account"])
        assert bank.import_statement(statement, "big.xml", account).booked == 1
        db.session.commit()
    [case] = cases(firm)
    assert (case.status, case.close_reason, case.closed_on) == (
        CaseStatus.CLOSED,
        CloseReason.PAID,
        paid_on,
    )
    assert "1000.00 NOK by payment" in case.close_note


def test_the_sweep_command_opens_due_cases_once(app, firm):
    with in_tenant(firm):
        services.save_settings({"open_after_reminders": True, "threshold": Decimal("999.99")})
        db.session.commit()
    day = str(firm["due"] + timedelta(days=1))
    args = ["collection", "sweep", "--date", day, "--tenant", firm["tenant"].slug]
    first = app.test_cli_runner().invoke(args=args)
    again = app.test_cli_runner().invoke(args=args)
    assert first.output.strip() == (
        "Collection: 1 cases opened, 0 invoices added, 0 cases closed as paid."
    )
    assert again.output.startswith("Collection: 0 cases opened")
    unknown = app.test_cli_runner().invoke(args=["collection", "sweep", "--tenant", "nope"])
    assert unknown.exit_code != 0 and "No tenant is called 'nope'" in unknown.output
