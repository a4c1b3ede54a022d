"""Automations (R7.1, R7.2): the course enrolment of seed 004 end to end, with the real
worker and a real SMTP server, and the rules' conditions, failures and tenancy."""

from __future__ import annotations

import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select, update

from saas import clock
from saas.automations import rules, runs
from saas.automations.enrolment import PAYMENT_RULE, install_course_enrolment
from saas.automations.models import (
    ActionKind,
    AutomationRule,
    AutomationRun,
    GeneratedDocument,
    RunStatus,
)
from saas.billing.customers import services as customers
from saas.billing.customers.models import Customer
from saas.billing.documents.models import Document
from saas.billing.documents.states import DocumentKind, DocumentStatus
from saas.billing.payments import services as payments
from saas.events import services as events
from saas.events.models import DomainEvent
from saas.extensions import db
from saas.queue import QUEUES, enqueue, get_queue
from saas.tenants import scoping
from saas.tenants.models import Role
from tests.factories import TenantFactory, VatRateFactory, member
from tests.helpers import run_jobs

K, S, D = DocumentKind, DocumentStatus, Decimal


def work(app) -> None:
    """Run the real worker until no job is left (jobs ask for more jobs); the test goes on
    in the tenant it was in, seeing what the jobs committed."""
    tenant_id = scoping.current_tenant_id()
    for _ in range(20):
        run_jobs(app)
        if all(get_queue(name, app).count == 0 for name in QUEUES):
            db.session.expire_all()
            if tenant_id is not None:
                scoping.set_current_tenant(tenant_id)
            return
    raise AssertionError("the queues never emptied")


def school_with_rules(name: str = "Diana Cursuri SRL"):
    """A training company with the course enrolment rule set installed."""
    tenant = TenantFactory(name=name)
    with scoping.tenant_context(tenant.id):
        VatRateFactory(tenant=tenant, code="S25", rate=D("25.00"))
        install_course_enrolment(course="Accounting course", price=D("1000.00"),
                                 vat_code="S25")
        db.session.commit()
    return tenant


@pytest.fixture()
def school(app, db_session):
    for name in QUEUES:  # what other tests left behind is not this test's work
        get_queue(name, app).empty()
    tenant = school_with_rules()
    scoping.set_current_tenant(tenant.id)  # the test looks at the school's rows
    return tenant


def enrol(tenant, name: str = "Ana Popescu", *, tags: str = "enrolment",
          email: str | None = "ana@example.com") -> int:
    """Register a student (as the customer form does) and commit; the customer's id."""
    with scoping.tenant_context(tenant.id):
        customer = customers.create_customer({
            "name": name, "country": "NO", "currency": "NOK", "tags": tags,
            "address_line1": "Strada Lalelelor 5", "postal_code": "0150", "city": "Oslo"})
        if email:
            customers.add_contact(customer, {"name": name, "email": email,
                                             "receives_invoices": True})
        db.session.commit()
        return customer.id


def documents_of(tenant, customer_id: int, kind: DocumentKind) -> list[Document]:
    with scoping.tenant_context(tenant.id):
        return list(db.session.scalars(select(Document).where(
            Document.customer_id == customer_id, Document.kind == kind).order_by(Document.id)))


def runs_of(tenant) -> list[AutomationRun]:
    with scoping.tenant_context(tenant.id):
        return list(db.session.scalars(select(AutomationRun).order_by(AutomationRun.id)))


def pay(tenant, proforma_id: int) -> None:
    with scoping.tenant_context(tenant.id):
        proforma = db.session.get(Document, proforma_id)
        payments.record_prepayment(proforma, proforma.gross_total, date.today(),
                                   reference="Ana's transfer")
        db.session.commit()


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_an_enrolment_is_proforma_then_contract_and_invoice_by_email(app, school, smtp):
    student = enrol(school)
    work(app)
    [proforma] = documents_of(school, student, K.PROFORMA)
    assert proforma.status == S.ISSUED and proforma.gross_total == D("1250.00")
    [mail] = smtp.messages
    assert mail["To"] == "ana@example.com" and proforma.number in mail["Subject"]
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_content() == proforma.pdf  # the proforma as issued

    pay(school, proforma.id)
    work(app)
    [invoice] = documents_of(school, student, K.INVOICE)
    assert invoice.is_issued and invoice.source_id == proforma.id
    assert db.session.get(Document, proforma.id).status == S.CONVERTED
    with scoping.tenant_context(school.id):
        [contract] = db.session.scalars(select(GeneratedDocument).where(
            GeneratedDocument.customer_id == student)).all()
        assert contract.title == f"Training contract {proforma.number}"
        text = pdf_text(contract.pdf)
    assert "Ana Popescu" in text and "Accounting course" in text and "1250.00" in text
    first, second = smtp.messages
    assert second["To"] == "ana@example.com" and invoice.number in second["Subject"]
    attached = {part.get_filename(): part.get_content() for part in second.iter_attachments()}
    assert attached == {f"{invoice.number}.pdf": invoice.pdf, contract.filename: contract.pdf}
    assert [run.status for run in runs_of(school)] == [RunStatus.DONE, RunStatus.DONE]


def test_the_worker_again_or_events_handed_over_again_make_nothing_twice(app, school, smtp):
    student = enrol(school)
    work(app)
    pay(school, documents_of(school, student, K.PROFORMA)[0].id)
    work(app)
    work(app)
    with scoping.tenant_context(school.id):
        db.session.execute(update(DomainEvent).values(dispatched_at=None))
        events.dispatch_pending()
        db.session.commit()
    for run in runs_of(school):  # and the run jobs once more, as a retried job would
        runs.run_automation(run.id, tenant_id=school.id)
    work(app)
    assert len(smtp.messages) == 2
    assert len(runs_of(school)) == 2
    assert len(documents_of(school, student, K.PROFORMA)) == 1
    assert len(documents_of(school, student, K.INVOICE)) == 1
    with scoping.tenant_context(school.id):
        assert db.session.scalar(select(func.count(GeneratedDocument.id))) == 1


def test_a_customer_without_the_tag_sets_nothing_off(app, school, smtp):
    student = enrol(school, "Ion Ionescu", tags="newsletter")
    work(app)
    assert runs_of(school) == []
    assert documents_of(school, student, K.PROFORMA) == [] and smtp.messages == []


def test_an_inactive_rule_does_nothing(app, school, smtp):
    with scoping.tenant_context(school.id):
        db.session.execute(update(AutomationRule).values(active=False))
        db.session.commit()
    enrol(school)
    work(app)
    assert runs_of(school) == [] and smtp.messages == []


def test_a_failed_action_is_told_and_the_run_resumes_after_the_fix(app, school, smtp):
    student = enrol(school, "Mara Pop", email=None)
    work(app)
    [run] = runs_of(school)
    assert run.status == RunStatus.FAILED
    assert run.error == ("Action 2 (E-mail the documents made above): Mara Pop has no"
                         " e-mail address for invoices: enter one.")
    [proforma] = documents_of(school, student, K.PROFORMA)  # action 1 was done, and kept
    assert [step["kind"] for step in run.steps] == ["create_document"]
    with scoping.tenant_context(school.id):
        customers.add_contact(db.session.get(Customer, student),
                              {"name": "Mara Pop", "email": "mara@example.com",
                               "receives_invoices": True})
        runs.retry(db.session.get(AutomationRun, run.id))
        db.session.commit()
    work(app)
    [run] = runs_of(school)
    assert run.status == RunStatus.DONE and run.attempts == 2
    assert documents_of(school, student, K.PROFORMA) == [proforma]  # not made again
    [mail] = smtp.messages
    assert mail["To"] == "mara@example.com" and proforma.number in mail["Subject"]


def test_another_tenants_event_never_sets_this_tenants_rules_off(app, school, smtp):
    other = TenantFactory(name="Other Training AS")
    enrol(other, "Theirs", tags="enrolment", email="theirs@example.com")
    work(app)
    assert runs_of(school) == [] and runs_of(other) == [] and smtp.messages == []


def test_a_proforma_paid_by_a_customer_without_the_tag_is_left_alone(app, school, smtp):
    student = enrol(school)
    work(app)
    with scoping.tenant_context(school.id):
        db.session.get(Customer, student).tags = ""
        db.session.commit()
    pay(school, documents_of(school, student, K.PROFORMA)[0].id)
    work(app)
    with scoping.tenant_context(school.id):
        rule_ids = {run.rule.name for run in runs_of(school)}
    assert PAYMENT_RULE not in rule_ids
    assert documents_of(school, student, K.INVOICE) == []


def test_a_student_registered_on_the_customer_form_gets_the_proforma(app, school, smtp,
                                                                      make_client):
    client = make_client(member(school, Role.STAFF))
    answer = client.post(f"/t/{school.slug}/customers/new", data={
        "name": "Elena Radu", "country": "NO", "currency": "NOK", "language": "en",
        "payment_terms_days": "14", "discount_percent": "0", "delivery_preference": "email",
        "delivery_country": "", "category_id": "", "price_list_id": "",
        "tags": " Enrolment , evening,enrolment"})
    assert answer.status_code == 302
    scoping.set_current_tenant(school.id)  # the request ended in no tenant
    student = db.session.scalar(select(Customer).where(Customer.name == "Elena Radu"))
    assert student.tags == "enrolment, evening"  # lower case, each once
    customers.add_contact(student, {"name": "Elena Radu", "email": "elena@example.com",
                                    "receives_invoices": True})
    db.session.commit()  # the contact is there before the worker looks
    work(app)
    [proforma] = documents_of(school, student.id, K.PROFORMA)
    [mail] = smtp.messages
    assert mail["To"] == "elena@example.com" and proforma.number in mail["Subject"]


def test_a_plain_email_goes_to_the_customer_from_its_text_template(app, school, smtp):
    with scoping.tenant_context(school.id):
        rule = rules.create_rule({"name": "Welcome", "trigger": "customer.created",
                                  "conditions": {"customer_tag": "newsletter"}})
        rules.add_action(rule, ActionKind.SEND_EMAIL, {
            "subject": "Welcome, {{ customer.name }}",
            "body": "Dear {{ customer.name }},\n\nwelcome to {{ tenant.name }}."})
        db.session.commit()
    enrol(school, "Ion Ionescu", tags="newsletter", email="ion@example.com")
    work(app)
    [mail] = smtp.messages
    assert (mail["To"], mail["Subject"]) == ("ion@example.com", "Welcome, Ion Ionescu")
    assert "welcome to Diana Cursuri SRL." in mail.get_body(("plain",)).get_content()
    [run] = runs_of(school)
    assert run.status == RunStatus.DONE and run.steps[0]["message_id"] == mail["Message-ID"]


def test_an_email_template_with_an_unknown_field_is_refused(school):
    with scoping.tenant_context(school.id):
        rule = rules.create_rule({"name": "Welcome", "trigger": "customer.created"})
        with pytest.raises(rules.RuleError, match=r"Unknown field: customer.frist_name"):
            rules.add_action(rule, ActionKind.SEND_EMAIL, {
                "subject": "Hi", "body": "Dear {{ customer.frist_name }}"})


def test_a_run_whose_job_was_lost_is_taken_up_by_the_sweep(app, school, smtp):
    enrol(school)
    events.dispatch_pending()  # the hand-over writes the run and asks for its job ...
    db.session.commit()
    for name in QUEUES:  # ... which Redis loses
        get_queue(name, app).empty()
    [run] = runs_of(school)
    assert run.status == RunStatus.PENDING
    assert runs.sweep_runs() == {}  # a young run's job may still be on its way
    with clock.frozen(clock.now() + timedelta(minutes=11)):
        assert runs.sweep_runs() == {school.id: 1}
    scoping.set_current_tenant(school.id)
    work(app)
    assert [run.status for run in runs_of(school)] == [RunStatus.DONE]
    assert [mail["To"] for mail in smtp.messages] == ["ana@example.com"]


def test_jobs_asked_for_in_a_savepoint_go_out_with_the_commit_and_not_before(app, school):
    def count() -> int:
        return get_queue("default", app).count

    with db.session.begin_nested():
        enqueue(runs.run_automation, 0, job_id="kept-job")
    assert count() == 0  # the savepoint is released, nothing is committed yet
    try:
        with db.session.begin_nested():
            enqueue(runs.run_automation, 0, job_id="undone-job")
            raise RuntimeError("the consumer failed")
    except RuntimeError:
        pass
    db.session.commit()
    assert [job.id for job in get_queue("default", app).jobs] == ["kept-job"]
