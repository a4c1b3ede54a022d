"""The course enrolment rule set of seed 004, as data: install it for a tenant.

Rule 1: a customer created with the tag "enrolment" gets a proforma for the course at
once, issued and e-mailed. Rule 2: when such a proforma is paid, the contract is generated
from the "Course contract" template, the proforma becomes the final invoice, and the
invoice goes out by e-mail with the contract attached.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from saas.automations import rules, templates
from saas.automations.models import ActionKind, AutomationRule, DocumentTemplate
from saas.billing.catalog.models import VatRate
from saas.extensions import db

TAG = "enrolment"
ENROLMENT_RULE = "Course enrolment: proforma"
PAYMENT_RULE = "Course paid: contract and invoice"
CONTRACT_TEMPLATE = "Course contract"
CONTRACT_TITLE = "Training contract {{ document.number }}"
CONTRACT_BODY = """\
Between {{ tenant.name }} ({{ tenant.address }}, organisation number {{ tenant.org_number }}), \
the provider, and {{ customer.name }} ({{ customer.address }}), the student, customer number \
{{ customer.number }}.

1. The provider teaches the student the course below; the student takes part in it.
{% for line in document.lines %}
   – {{ line.description }}: {{ line.quantity }} × {{ line.unit_price }} {{ document.currency }}
{% endfor %}

2. The fee is {{ document.gross_total }} {{ document.currency }} including VAT, paid in full \
with proforma invoice {{ document.number }}. The final invoice comes with this contract.

3. The student may withdraw within 14 days of enrolment and is then refunded in full.

Signed on {{ today }}.

{{ tenant.name }}
{{ customer.name }}
"""


def install_course_enrolment(*, course: str = "Professional qualification course",
                             price: Decimal = Decimal("1500.00"),
                             vat_code: str | None = None) -> list[AutomationRule]:
    """Install (once) the enrolment rule set and its contract template; return the rules."""
    found = db.session.scalars(select(AutomationRule).where(
        AutomationRule.name.in_([ENROLMENT_RULE, PAYMENT_RULE]))
        .order_by(AutomationRule.position)).all()
    if found:
        return list(found)
    if vat_code is None:
        vat_code = db.session.scalar(select(VatRate.code).order_by(VatRate.rate.desc()))
        if vat_code is None:
            raise rules.RuleError("Add a VAT rate first: the course line needs one.")
    template = db.session.scalar(select(DocumentTemplate).where(
        DocumentTemplate.name == CONTRACT_TEMPLATE)) or templates.create_template(
        {"name": CONTRACT_TEMPLATE, "kind": "contract", "title": CONTRACT_TITLE,
         "body": CONTRACT_BODY})
    enrolment = rules.create_rule({"name": ENROLMENT_RULE, "trigger": "customer.created",
                                   "conditions": {"customer_tag": TAG}})
    rules.add_action(enrolment, ActionKind.CREATE_DOCUMENT, {
        "document_kind": "proforma", "issue": True,
        "lines": f"1; {course}; {price}; {vat_code}"})
    rules.add_action(enrolment, ActionKind.SEND_DOCUMENTS, {"attach_generated": True})
    payment = rules.create_rule({"name": PAYMENT_RULE, "trigger": "document.paid",
                                 "conditions": {"customer_tag": TAG,
                                                "document_kind": "proforma"}})
    rules.add_action(payment, ActionKind.GENERATE_FROM_TEMPLATE, {"template_id": template.id})
    rules.add_action(payment, ActionKind.CONVERT_PROFORMA, {})
    rules.add_action(payment, ActionKind.SEND_DOCUMENTS, {"attach_generated": True})
    return [enrolment, payment]
