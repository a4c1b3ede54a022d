"""Closing cases as payments arrive (R6.7): the listener payments call (``payments.
settlement``) whenever allocations settle or unsettle a customer's invoices.

In the same transaction as the payment (a bank statement import, a payment entered, a
Stripe payment, a credit note): the customer's open case closes when nothing of theirs is
overdue any more, noting the payments and credit notes that settled it. When an allocation
is undone (a bank line booked wrongly) and an invoice of the customer's last case closed as
paid is overdue again, that case reopens. The hourly collection sweep does the same for
whatever this missed (a transaction without a tenant set, for one).
"""

from __future__ import annotations

from sqlalchemy import Integer, select

from saas.billing.documents.models import Document
from saas.billing.dunning import queries, services
from saas.billing.dunning.models import (
    CaseInvoice,
    CaseStatus,
    CloseReason,
    CollectionCase,
)
from saas.billing.payments import settlement
from saas.extensions import db
from saas.rows import one_of
from saas.tenants import scoping
from saas.tenants.access import tenant_today_of


def close_or_reopen(customer_ids: set[int]) -> None:
    """Close the customers' open cases that are paid; reopen a paid case gone unpaid."""
    tenant_id = scoping.current_tenant_id()
    if tenant_id is None:
        return  # the sweep catches up
    today = tenant_today_of(tenant_id)
    ids = sorted(customer_ids)
    cases = db.session.scalars(
        select(CollectionCase).where(
            one_of(CollectionCase.customer_id, ids, Integer),
            CollectionCase.status == CaseStatus.OPEN,
        )
    ).all()
    if cases:
        overdue = queries.overdue_in_tenant_currency([c.customer_id for c in cases], today)
        for case in cases:
            if overdue.get(case.customer_id, 0) <= 0:
                services.close_paid(case, today)
    with_open = {case.customer_id for case in cases if case.is_open}
    unpaid_again = (
        db.session.scalars(
            select(CollectionCase)
            .join(CaseInvoice, CaseInvoice.case_id == CollectionCase.id)
            .join(Document, Document.id == CaseInvoice.document_id)
            .where(
                one_of(CollectionCase.customer_id, ids, Integer),
                CollectionCase.status == CaseStatus.CLOSED,
                CollectionCase.close_reason == CloseReason.PAID,
                *queries.overdue_condition(today),
            )
            .order_by(CollectionCase.closed_on.desc(), CollectionCase.id.desc())
        )
        .unique()
        .all()
    )
    for case in unpaid_again:
        if case.customer_id in with_open or _later_case(case):
            continue
        services.reopen(case, "a payment that settled it was undone", today)
        with_open.add(case.customer_id)
    db.session.flush()


def _later_case(case: CollectionCase) -> bool:
    return (
        db.session.scalar(
            select(CollectionCase.id)
            .where(CollectionCase.customer_id == case.customer_id, CollectionCase.id > case.id)
            .limit(1)
        )
        is not None
    )


settlement.listen(close_or_reopen)
