"""Factories for automations: rules, actions, runs, document templates, generated documents."""

from __future__ import annotations

import hashlib

import factory

from saas.automations.models import (
    ActionKind,
    AutomationAction,
    AutomationRule,
    AutomationRun,
    DeliveryAttachment,
    DocumentTemplate,
    GeneratedDocument,
    RunStatus,
    TemplateKind,
)
from saas.events.models import DomainEvent
from saas.tenants.models import Tenant
from tests.factories import CustomerFactory, DeliveryFactory, TenantScopedFactory

PDF = b"%PDF-1.4 contract"


class AutomationRuleFactory(TenantScopedFactory):
    class Meta:
        model = AutomationRule

    name = factory.Sequence(lambda n: f"Rule {n}")
    trigger = "customer.created"
    conditions = factory.LazyFunction(lambda: {"customer_tag": "enrolment"})


class AutomationActionFactory(TenantScopedFactory):
    class Meta:
        model = AutomationAction

    rule_id = factory.LazyAttribute(lambda o: AutomationRuleFactory(tenant=o.tenant).id)
    position = 1
    kind = ActionKind.SEND_DOCUMENTS
    settings = factory.LazyFunction(lambda: {"attach_generated": True})


class DomainEventFactory(TenantScopedFactory):
    class Meta:
        model = DomainEvent

    name = "customer.created"
    subject_type = "customer"
    subject_id = 1
    data = factory.LazyFunction(dict)


class AutomationRunFactory(TenantScopedFactory):
    class Meta:
        model = AutomationRun

    rule_id = factory.LazyAttribute(lambda o: AutomationRuleFactory(tenant=o.tenant).id)
    event_id = factory.LazyAttribute(lambda o: DomainEventFactory(tenant=o.tenant).id)
    event_name = "customer.created"
    status = RunStatus.FAILED
    error = "Action 1 (E-mail the documents made above): no e-mail address"


class DocumentTemplateFactory(TenantScopedFactory):
    class Meta:
        model = DocumentTemplate

    name = factory.Sequence(lambda n: f"Template {n}")
    kind = TemplateKind.CONTRACT
    title = "Contract {{ document.number }}"
    body = "Between {{ tenant.name }} and {{ customer.name }}."


class GeneratedDocumentFactory(TenantScopedFactory):
    class Meta:
        model = GeneratedDocument

    customer_id = factory.LazyAttribute(lambda o: CustomerFactory(tenant=o.tenant).id)
    kind = TemplateKind.CONTRACT
    title = "Contract"
    pdf = PDF
    pdf_sha256 = hashlib.sha256(PDF).hexdigest()


class DeliveryAttachmentFactory(TenantScopedFactory):
    class Meta:
        model = DeliveryAttachment

    delivery_id = factory.LazyAttribute(lambda o: DeliveryFactory(tenant=o.tenant).id)
    generated_document_id = factory.LazyAttribute(
        lambda o: GeneratedDocumentFactory(tenant=o.tenant).id)


def automation_rows(tenant: Tenant) -> int:
    """A row in every automation table: a rule with an action and a run, a template, a
    generated document attached to a delivery; the run's id."""
    AutomationActionFactory(tenant=tenant)
    DocumentTemplateFactory(tenant=tenant)
    DeliveryAttachmentFactory(tenant=tenant)
    return AutomationRunFactory(tenant=tenant).id
