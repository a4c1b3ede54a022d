"""The bureau's cross-client work queue (R8): per client, what waits to be done.

Each client's counts are read inside its own tenant (row-level security allows nothing
else), with a fixed number of statements whatever the client's volume: one SELECT of
scalar subqueries for the counts, two for the contracts whose period is due (their
periods are worked out in Python, nothing is priced), and the settings that enter and
leave the tenant. The definitions are billing's own (``post``, ``documents.queries``,
``dunning.queries``, ``contracts.billing``), so the queue says what the client's pages say.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import ScalarSelect, Select, func, select

from saas import clock
from saas.billing.contracts.billing import due_count
from saas.billing.customers.models import Customer
from saas.billing.documents import post
from saas.billing.documents.models import Document, PostBatch
from saas.billing.documents.queries import failed_delivery_condition, undelivered_condition
from saas.billing.documents.states import DocumentKind, DocumentStatus
from saas.billing.dunning.queries import cases_with_todos
from saas.billing.payments.models import BankLine, BankLineStatus
from saas.billing.recurring.models import RecurringInvoice, RecurringStatus
from saas.extensions import db
from saas.outsourced_service.clients import ServedClient
from saas.tenants import scoping

K, S = DocumentKind, DocumentStatus


@dataclass(frozen=True)
class WorkQueue:
    """What waits in one client company, as counts."""

    drafts: dict[DocumentKind, int] = field(default_factory=dict)  # kinds with drafts
    orders_to_invoice: int = 0
    contracts_due: int = 0  # contracts with a period a billing run would bill today
    recurring_due: int = 0  # recurring invoices due or stuck (their last run failed)
    undelivered: int = 0  # open documents of e-mail customers no e-mail carried
    failed: int = 0  # of those, ones whose e-mail failed
    post_waiting: int = 0  # documents and reminders no print batch carries yet
    post_unprinted: int = 0  # batches made, not marked printed
    bank_lines: int = 0  # money in that waits to be matched
    collection_todos: int = 0  # open cases with a contact due or a broken promise

    @property
    def total(self) -> int:
        return (sum(self.drafts.values()) + self.orders_to_invoice + self.contracts_due
                + self.recurring_due + self.undelivered + self.post_waiting
                + self.post_unprinted + self.bank_lines + self.collection_todos)


def _count(statement: Select) -> ScalarSelect:
    return select(func.count()).select_from(statement.subquery()).scalar_subquery()


def work_queue(today: date) -> WorkQueue:
    """The current tenant's queue on the day: three statements."""
    counts = {
        **{f"draft_{kind.value}": _count(select(Document.id).where(
            Document.kind == kind, Document.status == S.DRAFT)) for kind in K},
        "orders": _count(select(Document.id).where(
            Document.kind == K.ORDER, Document.status.in_([S.CONFIRMED, S.PARTLY_INVOICED]))),
        "recurring": _count(select(RecurringInvoice.id).where(
            RecurringInvoice.status == RecurringStatus.ACTIVE,
            RecurringInvoice.next_date <= today)),
        "undelivered": _count(select(Document.id).join(Customer).where(
            *undelivered_condition())),
        "failed": _count(select(Document.id).join(Customer).where(
            *undelivered_condition(), failed_delivery_condition())),
        "post_documents": _count(post.pending_documents_query()),
        "post_reminders": _count(post.pending_reminders_query()),
        "post_unprinted": _count(select(PostBatch.id).where(PostBatch.printed_at.is_(None))),
        "bank_lines": _count(select(BankLine.id).where(
            BankLine.status == BankLineStatus.UNMATCHED, BankLine.amount > 0)),
        "collection": _count(cases_with_todos(today)),
    }
    row = db.session.execute(
        select(*(value.label(key) for key, value in counts.items()))).one()._mapping
    return WorkQueue(
        drafts={kind: row[f"draft_{kind.value}"] for kind in K if row[f"draft_{kind.value}"]},
        orders_to_invoice=row["orders"],
        contracts_due=due_count(today),
        recurring_due=row["recurring"],
        undelivered=row["undelivered"],
        failed=row["failed"],
        post_waiting=row["post_documents"] + row["post_reminders"],
        post_unprinted=row["post_unprinted"],
        bank_lines=row["bank_lines"],
        collection_todos=row["collection"],
    )


def queues_of(clients: list[ServedClient]) -> dict[int, WorkQueue]:
    """Each client's queue on its own today, read inside its tenant."""
    queues = {}
    for served in clients:
        with scoping.tenant_context(served.client.id):
            queues[served.client.id] = work_queue(clock.today_in(served.client.timezone))
    return queues
