"""Demo automations (seed 004): the course enrolment rule set at work in one company.

Nordlys runs safety courses for plumbers: the rule set is installed, and one student was
enrolled (a proforma issued and e-mailed), paid, and got the contract and the final
invoice by e-mail, so the run log shows two finished runs.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from saas.automations.enrolment import ENROLMENT_RULE, TAG, install_course_enrolment
from saas.automations.models import AutomationRule, AutomationRun, RunStatus
from saas.automations.runs import perform
from saas.billing.customers import services as customers
from saas.billing.customers.models import Customer
from saas.billing.documents.delivery import deliver
from saas.billing.documents.models import Delivery, DeliveryStatus, Document
from saas.billing.documents.services import today
from saas.billing.documents.states import DocumentKind, DocumentStatus
from saas.billing.payments.services import record_prepayment
from saas.events import dispatch_pending
from saas.extensions import db
from saas.tenants import scoping
from saas.tenants.models import Tenant

STUDENT = "Ingrid Solberg"
COURSE = "Course: safe work with gas installations (3 days)"


def seed_automations(tenant: Tenant) -> None:
    """Install the rule set, enrol a student once, and pay her proforma once it is there."""
    with scoping.tenant_context(tenant.id):
        if db.session.scalar(select(AutomationRule.id).where(
                AutomationRule.name == ENROLMENT_RULE)) is None:
            install_course_enrolment(course=COURSE, price=Decimal("4800.00"))
            db.session.commit()
        student = db.session.scalar(select(Customer).where(Customer.name == STUDENT))
        if student is None:
            student = customers.create_customer({
                "name": STUDENT, "country": "NO", "currency": "NOK", "language": "nb",
                "tags": TAG, "address_line1": "Thereses gate 14", "postal_code": "0452",
                "city": "Oslo"})
            customers.add_contact(student, {"name": STUDENT,
                                            "email": "ingrid.solberg@example.com",
                                            "receives_invoices": True})
            db.session.commit()  # the rule makes and e-mails her proforma (a job)
        student_id = student.id
    _work(tenant.id, student_id)
    with scoping.tenant_context(tenant.id):
        proforma = db.session.scalar(select(Document).where(
            Document.customer_id == student_id, Document.kind == DocumentKind.PROFORMA))
        if proforma is not None and proforma.status == DocumentStatus.ISSUED:
            record_prepayment(proforma, proforma.gross_total, today(),
                              reference="Course fee")
            db.session.commit()  # the second rule: contract, final invoice, e-mail (jobs)
    _work(tenant.id, student_id)


def _work(tenant_id: int, student_id: int) -> None:
    """Do now what the jobs do, so the demo shows the runs done even before a worker ran
    (with Redis); all of it is idempotent, so the jobs find nothing left to do."""
    with scoping.tenant_context(tenant_id):
        dispatch_pending()
        db.session.commit()
        for run_id in db.session.scalars(select(AutomationRun.id).where(
                AutomationRun.status != RunStatus.DONE).order_by(AutomationRun.id)).all():
            perform(run_id)
        queued = db.session.scalars(select(Delivery.id).join(Document).where(
            Document.customer_id == student_id, Delivery.status == DeliveryStatus.QUEUED)
            .order_by(Delivery.id)).all()
        if queued:
            deliver(queued)
        dispatch_pending()
        db.session.commit()
