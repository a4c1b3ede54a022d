"""Which changes of the billing domain are domain events (saas.events), seen at flush.

Documents change state in many services (issuing, conversion, settlement, the portal's
quote answers), so rather than asking each to remember, one flush hook reads what the
flush wrote: new customers and received payments, documents that changed state, e-mails
that went out. The events are inserted in the same transaction, right after the rows they
describe. Set-wise writes that bypass the ORM (the bank booking) record their own with
``saas.events.services.record_many``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session

from saas import clock
from saas.billing.documents.models import Delivery, DeliveryStatus, Document
from saas.billing.documents.states import DocumentKind as K
from saas.billing.documents.states import DocumentStatus as S
from saas.billing.money import quantize_money
from saas.events.models import DomainEvent
from saas.events.services import record_many
from saas.queue import job

Row = tuple[str, str, int, dict[str, Any]]


def document_data(document: Document) -> dict[str, Any]:
    """What every document event says about its document."""
    return {"document_id": document.id, "kind": document.kind, "number": document.number,
            "customer_id": document.customer_id, "currency": document.currency,
            "gross_total": quantize_money(document.gross_total or 0, document.currency),
            "issue_date": document.issue_date, "due_date": document.due_date,
            "public_id": document.public_id}


def _document_rows(document: Document, before: S | None, after: S) -> list[Row]:
    data = document_data(document)
    rows: list[Row] = [("document.status_changed", "document", document.id,
                        {**data, "from": before, "to": after})]
    if before in (None, S.DRAFT) and after == document.kind.issued_status:
        rows.append(("document.issued", "document", document.id, data))
        if document.kind == K.CREDIT_NOTE and document.source_id is not None:
            rows.append(("document.credited", "document", document.source_id,
                         {"document_id": document.source_id, "credit_note_id": document.id,
                          "credit_note_number": document.number,
                          "customer_id": document.customer_id,
                          "amount": quantize_money(document.gross_total or 0,
                                                   document.currency),
                          "currency": document.currency}))
    if after == S.PAID:
        rows.append(("document.paid", "document", document.id, data))
    if document.kind == K.QUOTE and after == S.ACCEPTED:
        rows.append(("quote.accepted", "document", document.id, data))
    return rows


def _status_change(document: Document, is_new: bool) -> tuple[S | None, S] | None:
    if is_new:
        return (None, document.status) if document.status != S.DRAFT else None
    history = inspect(document).attrs.status.history
    if not history.added:
        return None
    before = history.deleted[0] if history.deleted else None
    after = history.added[0]
    return None if before == after else (before, after)


def rows_of_flush(session: Session) -> list[tuple[int, Row]]:
    """The events this flush's changes amount to, each with its tenant."""
    from saas.billing.customers.models import Customer
    from saas.billing.payments.models import Payment, PaymentKind

    rows: list[tuple[int, Row]] = []
    for obj in list(session.new) + list(session.dirty):
        is_new = obj in session.new
        if isinstance(obj, Document):
            change = _status_change(obj, is_new)
            if change is not None:
                rows += [(obj.tenant_id, row) for row in _document_rows(obj, *change)]
        elif isinstance(obj, Customer) and is_new:
            rows.append((obj.tenant_id, ("customer.created", "customer", obj.id, {
                "customer_id": obj.id, "number": obj.number, "name": obj.name,
                "email": getattr(obj, "email", None)})))
        elif isinstance(obj, Payment) and is_new and obj.kind == PaymentKind.RECEIVED:
            rows.append((obj.tenant_id, ("payment.received", "payment", obj.id, {
                "payment_id": obj.id, "customer_id": obj.customer_id,
                "amount": quantize_money(obj.amount, obj.currency),
                "currency": obj.currency, "method": obj.method,
                "received_on": obj.received_on, "reference": obj.reference})))
        elif isinstance(obj, Delivery) and not is_new:
            history = inspect(obj).attrs.status.history
            if history.added and history.added[0] == DeliveryStatus.SENT and (
                    not history.deleted or history.deleted[0] != DeliveryStatus.SENT):
                rows.append((obj.tenant_id, ("document.sent", "document", obj.document_id, {
                    "document_id": obj.document_id, "delivery_id": obj.id,
                    "channel": obj.channel, "recipient": obj.recipient})))
    return rows


@event.listens_for(Session, "after_flush")
def _record_flushed_events(session: Session, flush_context: object) -> None:
    by_tenant: dict[int, list[Row]] = {}
    for tenant_id, row in rows_of_flush(session):
        by_tenant.setdefault(tenant_id, []).append(row)
    for tenant_id, rows in by_tenant.items():
        record_many(rows, tenant_id=tenant_id, connection=session.connection())


@job
def run_overdue_sweep() -> int:
    """Scheduler job: record document.overdue for invoices that passed their due date."""
    return record_overdue()


def record_overdue(tenant_ids: Iterable[int] | None = None) -> int:
    """Record document.overdue once for each open invoice past its due date, in every tenant
    (or the ones given)."""
    from saas.extensions import db
    from saas.tenants import scoping
    from saas.tenants.services import tenants_and_zones

    recorded = 0
    for tenant_id, timezone in tenants_and_zones(tenant_ids):
        today = clock.today_in(timezone)
        with scoping.tenant_context(tenant_id):
            told = select(DomainEvent.subject_id).where(
                DomainEvent.name == "document.overdue", DomainEvent.subject_type == "document")
            invoices = db.session.scalars(
                select(Document).where(Document.kind == K.INVOICE,
                                       Document.status.in_((S.ISSUED, S.PARTLY_PAID)),
                                       Document.due_date < today,
                                       Document.id.not_in(told))
                .order_by(Document.id)).all()
            recorded += record_many(
                ("document.overdue", "document", invoice.id,
                 {**document_data(invoice),
                  "open_amount": quantize_money(invoice.open_amount, invoice.currency),
                  "days_overdue": (today - invoice.due_date).days})
                for invoice in invoices)
        db.session.commit()
    return recorded
