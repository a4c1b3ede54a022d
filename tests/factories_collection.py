"""Factories for debt collection: cases, notes, legal paths and stages, stage documents."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from decimal import Decimal

import factory

from saas.billing.dunning.models import (
    CaseDocument,
    CaseEvent,
    CaseInvoice,
    Channel,
    CollectionCase,
    CollectionSettings,
    ContactNote,
    LegalPath,
    LegalStage,
    OpenReason,
    Outcome,
    StageDocument,
)
from saas.tenants.models import Tenant
from tests.factories import CustomerFactory, DocumentFactory, TenantScopedFactory


class CollectionCaseFactory(TenantScopedFactory):
    class Meta:
        model = CollectionCase

    number = factory.Sequence(lambda n: n + 1)
    customer_id = factory.LazyAttribute(lambda o: CustomerFactory(tenant=o.tenant).id)
    open_reason = OpenReason.MANUAL
    opened_on = date(2026, 11, 20)


class LegalPathFactory(TenantScopedFactory):
    class Meta:
        model = LegalPath

    name = "Standard"


class LegalStageFactory(TenantScopedFactory):
    class Meta:
        model = LegalStage

    path_id = factory.LazyAttribute(lambda o: LegalPathFactory(tenant=o.tenant).id)
    position = 1
    name = "Pre-legal demand"
    document = StageDocument.DEMAND


class CaseDocumentFactory(TenantScopedFactory):
    class Meta:
        model = CaseDocument

    case_id = factory.LazyAttribute(lambda o: CollectionCaseFactory(tenant=o.tenant).id)
    kind = StageDocument.DEMAND
    title = "Payment demand letter"
    generated_on = date(2026, 11, 25)
    currency = "NOK"
    principal = Decimal("100.00")
    interest = Decimal("1.00")
    fees = Decimal(0)
    total = Decimal("101.00")
    pdf = b"%PDF-1.4 test"
    pdf_sha256 = hashlib.sha256(b"%PDF-1.4 test").hexdigest()


class CollectionSettingsFactory(TenantScopedFactory):
    class Meta:
        model = CollectionSettings

    open_after_reminders = True
    interest_rate = Decimal(0)


class CaseInvoiceFactory(TenantScopedFactory):
    class Meta:
        model = CaseInvoice

    case_id = factory.LazyAttribute(lambda o: CollectionCaseFactory(tenant=o.tenant).id)
    document_id = factory.LazyAttribute(lambda o: DocumentFactory(tenant=o.tenant).id)
    added_on = date(2026, 11, 20)
    open_amount = Decimal("100.00")


class ContactNoteFactory(TenantScopedFactory):
    class Meta:
        model = ContactNote

    case_id = factory.LazyAttribute(lambda o: CollectionCaseFactory(tenant=o.tenant).id)
    customer_id = factory.LazyAttribute(lambda o: CustomerFactory(tenant=o.tenant).id)
    contacted_at = datetime(2026, 11, 21, 9, tzinfo=UTC)
    channel = Channel.CALL
    outcome = Outcome.REACHED
    next_contact_on = date(2026, 11, 28)
    currency = "NOK"
    balance = Decimal("100.00")
    overdue = Decimal("100.00")
    amounts = factory.LazyFunction(dict)


class CaseEventFactory(TenantScopedFactory):
    class Meta:
        model = CaseEvent

    case_id = factory.LazyAttribute(lambda o: CollectionCaseFactory(tenant=o.tenant).id)
    kind = "opened"
    text = "Opened"
    happened_on = date(2026, 11, 20)


def collection_rows(tenant: Tenant) -> int:
    """A row in every collection table: settings, a path with a stage, a case with an
    invoice, a note, an event and a document; the case's id."""
    CollectionSettingsFactory(tenant=tenant)
    stage = LegalStageFactory(tenant=tenant)
    stage_id, path_id = stage.id, stage.path_id
    case = CollectionCaseFactory(tenant=tenant, legal_path_id=path_id)
    case_id, customer_id = case.id, case.customer_id
    CaseInvoiceFactory(tenant=tenant, case_id=case_id)
    ContactNoteFactory(tenant=tenant, case_id=case_id, customer_id=customer_id)
    CaseEventFactory(tenant=tenant, case_id=case_id)
    CaseDocumentFactory(tenant=tenant, case_id=case_id, stage_id=stage_id)
    return case_id
